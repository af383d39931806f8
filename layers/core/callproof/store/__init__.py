"""Ports (small Protocols) and their AWS adapters."""
