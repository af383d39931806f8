"""Write docs/retention.md from the retention rules (``make retention-docs``)."""

from __future__ import annotations

from pathlib import Path

from callproof.retention.docs import render

TARGET = Path(__file__).resolve().parent.parent / "docs" / "retention.md"

if __name__ == "__main__":
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET}")
