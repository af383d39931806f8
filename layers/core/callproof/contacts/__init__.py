"""Contacts: the entity that call logs, SMS and Gmail sync match against."""
