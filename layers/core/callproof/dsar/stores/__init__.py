"""One ``PersonalDataStore`` per store that holds personal data (see ``callproof.dsar.ports``)."""
