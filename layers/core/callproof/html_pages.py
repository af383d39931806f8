"""The shell of every public HTML page (SMS consent, unsubscribe, guardian consent): small, accessible,
no script and no external resources, served with strict security headers."""

from __future__ import annotations

from html import escape

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    # The link token is in the URL: never sent to another site. (no-referrer would make browsers send
    # "Origin: null" on our own form posts, which the same-origin check refuses.)
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
CONTENT_TYPE = "text/html; charset=utf-8"

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;line-height:1.5;"
    "color:#111;background:#fff}label{display:block;font-weight:600;margin:.75rem 0 .25rem}"
    "input{font-size:1rem;padding:.5rem;width:100%;box-sizing:border-box;border:1px solid #555}"
    "button{margin-top:1rem;font-size:1rem;padding:.6rem 1.2rem;background:#0b57d0;color:#fff;border:0}"
    "button:focus,input:focus{outline:3px solid #f9a825;outline-offset:2px}"
    ".error{color:#a50e0e;font-weight:600}.done{color:#136c2e;font-weight:600}"
    "table{border-collapse:collapse;font-size:.9rem;margin:1rem 0}caption{font-weight:600;text-align:left}"
    "th,td{border:1px solid #999;padding:.3rem;text-align:left;vertical-align:top}"
)


def document(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )
