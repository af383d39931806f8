"""The stores of personal data every workflow reaches: one entry per store.

A store joins by adding one ``PersonalDataStore`` here; a store whose table (or bucket) is not
configured for the tasks function is not deployed and is simply left out. The order is the export's
and the erasure's order (erasure runs stores in parallel; the order only matters for reports), but
the stores in ``ERASED_LAST`` are erased only after all the others.
"""

from __future__ import annotations

from collections.abc import Callable

from callproof.config import DsarTaskSettings
from callproof.dsar.ports import PersonalDataStore
from callproof.dsar.stores import accounts, integrations, mail
from callproof.dsar.stores.calls import CallLogsData, DevicesData
from callproof.dsar.stores.common import on_table
from callproof.dsar.stores.contacts import ContactsData
from callproof.dsar.stores.sms import SmsData

StoreFactory = Callable[[DsarTaskSettings], PersonalDataStore | None]

# Each factory builds its store from the settings, or answers None when the store is not deployed.
# Imports of the store modules go above; one line per store below.
FACTORIES: list[StoreFactory] = [
    on_table(lambda settings: settings.contacts_table, ContactsData),
    on_table(lambda settings: settings.call_logs_table, CallLogsData),
    on_table(lambda settings: settings.call_logs_table, DevicesData),
    on_table(lambda settings: settings.sms_table, SmsData),
    mail.build,
    integrations.build,
    accounts.build,
]

# Contacts are what the other stores are matched against: deleting one re-matches the calls with its
# numbers (the contacts table's stream), which would rewrite each of the subject's calls just before
# the call-log store deletes it. Erased after the others, they find nothing left to re-match.
ERASED_LAST = frozenset({"contacts"})


def personal_data_stores(settings: DsarTaskSettings) -> dict[str, PersonalDataStore]:
    """The deployed stores by name, in registration order."""
    stores: dict[str, PersonalDataStore] = {}
    for factory in FACTORIES:
        store = factory(settings)
        if store is not None:
            stores[store.name] = store
    return stores
