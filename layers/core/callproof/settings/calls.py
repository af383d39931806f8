"""Settings of the call-log functions."""

from pydantic import Field

from callproof.config import Settings


class CallLogsSettings(Settings):
    call_logs_table: str = Field(alias="CALL_LOGS_TABLE", min_length=3)
    contacts_table: str = Field(alias="CONTACTS_TABLE", min_length=3)
    default_phone_region: str = Field(alias="DEFAULT_PHONE_REGION", pattern=r"^[A-Z]{2}$")
