"""SMS: carrier keywords, the consent ledger, gated outbound sends, consent pages (pure logic)."""
