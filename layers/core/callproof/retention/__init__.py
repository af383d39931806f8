"""Retention: how long each store of personal data keeps it, declared once (``model.RULES``)."""
