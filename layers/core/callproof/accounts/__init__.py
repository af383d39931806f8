"""Accounts and orgs: profiles, membership and roles, org settings, consent and policy versions."""
