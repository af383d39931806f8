"""Benchmarks for `make bench`: they print figures and never fail on a time."""
