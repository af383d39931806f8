"""Synced HTML bodies as the web mail client may show them, sanitised by nh3 (the Ammonia sanitiser):
a safelist of tags and attributes, so no script, no event handler, no style (CSS can fetch), no form
and no frame survive; links open with ``rel="noopener noreferrer"`` in a new tab; images load only
from the message itself (``cid:`` / ``data:``) unless remote images are asked for, so opening a
message does not tell its sender (tracking pixels)."""

from __future__ import annotations

import nh3

URL_SCHEMES = frozenset({"http", "https", "mailto", "tel", "cid", "data"})
_REMOTE = ("http:", "https:", "//")


def sanitise(html: str, remote_images: bool = False) -> str:
    def keep(tag: str, attribute: str, value: str) -> str | None:
        lowered = value.strip().lower()
        if tag == "img" and attribute == "src":
            if lowered.startswith(_REMOTE):
                return value if remote_images else None
            return value if lowered.startswith(("cid:", "data:image/")) else None
        if lowered.startswith("data:"):  # data: URLs only as inline images
            return None
        return value

    return nh3.clean(
        html,
        url_schemes=set(URL_SCHEMES),
        attribute_filter=keep,
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        strip_comments=True,
    )
