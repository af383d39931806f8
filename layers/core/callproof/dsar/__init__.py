"""Data-subject requests: access, erasure, correction, restriction and portability (issue 6, ADR 0009)."""
