"""Settings of the retention purge."""

from pydantic import Field

from callproof.config import Settings


class RetentionSettings(Settings):
    """The daily retention purge (``RetentionService``): the tables of the stores it purges, the org
    settings item (contacts table) that holds each org's periods, and the audit chain (DSAR table)."""

    call_logs_table: str = Field(alias="CALL_LOGS_TABLE", min_length=3)
    contacts_table: str = Field(alias="CONTACTS_TABLE", min_length=3)
    dsar_table: str = Field(alias="DSAR_TABLE", min_length=3)
    mail_table: str = Field(alias="MAIL_TABLE", min_length=3)
    sms_table: str = Field(alias="SMS_TABLE", min_length=3)
    data_bucket: str = Field(alias="DATA_BUCKET", min_length=3)
    exports_bucket: str = Field(alias="EXPORTS_BUCKET", min_length=3)
    default_phone_region: str = Field(alias="DEFAULT_PHONE_REGION", pattern=r"^[A-Z]{2}$")
