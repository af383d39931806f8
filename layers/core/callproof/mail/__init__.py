"""Gmail sync: contact mail only (issue 5)."""
