"""Mailers on Amazon SES from the deployment's verified identity: plain-text transactional mail, and
marketing mail with its one-click unsubscribe headers."""

from __future__ import annotations

from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from callproof.accounts.model import MarketingRecipient


class SesMailer:
    def __init__(self, client: Any, sender: str) -> None:
        self._client = client
        self._sender = sender

    def send(self, to: str, subject: str, text: str) -> None:
        self._client.send_email(
            Source=self._sender,
            Destination={"ToAddresses": [to]},
            Message={
                "Subject": {"Data": subject, "Charset": "UTF-8"},
                "Body": {"Text": {"Data": text, "Charset": "UTF-8"}},
            },
        )


class SesMarketingMailer:
    """Marketing mail on SES ``SendRawEmail``: the RFC 8058 one-click unsubscribe headers need a raw
    message (``SendEmail`` v1 sets no custom headers). ``List-Unsubscribe`` holds the signed HTTPS link
    (a POST to it with ``List-Unsubscribe=One-Click`` unsubscribes), so mail clients offer the button."""

    def __init__(self, client: Any, sender: str) -> None:
        self._client = client
        self._sender = sender

    def send_marketing(self, recipient: MarketingRecipient, subject: str, text: str) -> None:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = recipient.email
        message["Subject"] = subject
        message["List-Unsubscribe"] = f"<{recipient.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message.set_content(text)
        self._client.send_raw_email(
            Source=self._sender,
            Destinations=[recipient.email],
            RawMessage={"Data": message.as_bytes()},
        )
