"""The X-Twilio-Signature check over the URL Twilio called, query string included (issue 13, point 5)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from callproof.integrations.twilio_webhook import FormParams, called_urls, sign, signature_is_valid

TOKEN = "12345"
BASE = "https://api.example.test/dev/"
PATH = "/webhooks/twilio/sms"
PARAMS = FormParams([("MessageSid", "SM" + "1" * 32), ("Body", "STOP"), ("MediaUrl0", "")])


def decoded(url: str) -> dict[str, list[str]]:
    """The query of ``url`` as API Gateway hands it to the function: decoded, grouped by name."""
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def accepted(url_twilio_called: str, signed_url: str | None = None) -> bool:
    """Whether a request Twilio signed over ``signed_url`` (default: the URL it called) passes."""
    signature = sign(TOKEN, signed_url or url_twilio_called, PARAMS)
    parts = urlsplit(url_twilio_called)
    urls = called_urls(BASE, parts.path.removeprefix("/dev"), decoded(url_twilio_called) or None)
    return signature_is_valid(TOKEN, urls, PARAMS, signature)


def test_twilio_published_vector_through_the_events_query() -> None:
    """https://www.twilio.com/docs/usage/webhooks/webhooks-security: the query is part of the URL."""
    params = FormParams(
        [("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675310"), ("Digits", "1234"),
         ("From", "+14158675310"), ("To", "+18005551212")]
    )  # fmt: skip
    urls = called_urls("https://mycompany.com", "/myapp.php", {"foo": ["1"], "bar": ["2"]})
    assert urls[0] == "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert signature_is_valid(TOKEN, urls, params, "GvWf1cFY/Q7PnoempGyD5oXAezc=")
    assert not signature_is_valid(TOKEN, called_urls("https://mycompany.com", "/myapp.php", None), params,
                                  "GvWf1cFY/Q7PnoempGyD5oXAezc=")  # fmt: skip


def test_no_query_is_the_base_and_path_only() -> None:
    assert called_urls(BASE, PATH, None) == ["https://api.example.test/dev/webhooks/twilio/sms"]
    assert called_urls(BASE, PATH, {}) == ["https://api.example.test/dev/webhooks/twilio/sms"]


@pytest.mark.parametrize(
    "base", ["https://api.example.test/TX", "https://api.example.test/TX/", "https://api.example.test/TX//"]
)
def test_the_base_url_is_kept_as_configured_but_for_trailing_slashes(base: str) -> None:
    """A stage named e.g. ``TX`` stays in the signed URL: only the slashes at the end are dropped."""
    assert called_urls(base, PATH, None) == ["https://api.example.test/TX/webhooks/twilio/sms"]
    assert called_urls(base, PATH, {"x": ["1"]})[0] == "https://api.example.test/TX/webhooks/twilio/sms?x=1"


@pytest.mark.parametrize(
    "query",
    [
        "x=1",
        "org=acme&x=1",
        "x=1&org=acme",  # any order of distinct names
        "tag=a&tag=b&tag=a",  # repeated values keep their order
        "note=hello+world&to=%2B14155550100",  # form encoding
        "note=hello%20world&next=%2Fa%2Fb",  # percent encoding
        "next=/a/b&at=10:00&to=+14155550100",  # written by hand: / and : as they are, + a space
        "next=/a/b&note=hello%20world",
        "empty=&x=1",
        "name=caf%C3%A9",
    ],
)
def test_a_signature_over_the_url_with_its_query_is_accepted(query: str) -> None:
    url = f"https://api.example.test/dev{PATH}?{query}"
    assert accepted(url)


@pytest.mark.parametrize("query", ["x=1", "a=1&b=2", "note=hello+world"])
def test_a_signature_over_the_url_without_its_query_is_refused(query: str) -> None:
    url = f"https://api.example.test/dev{PATH}?{query}"
    assert not accepted(url, signed_url=f"https://api.example.test/dev{PATH}")


@pytest.mark.parametrize(
    ("called", "signed"),
    [
        ("x=2", "x=1"),  # another value
        ("x=1&y=2", "x=1"),  # a parameter added
        ("x=1", "x=1&y=2"),  # a parameter dropped
        ("x=1&x=1", "x=1"),  # a value repeated
        ("x=a+b", "x=a%2Bb"),  # a space is not a plus
    ],
)
def test_a_signature_over_another_query_is_refused(called: str, signed: str) -> None:
    base = f"https://api.example.test/dev{PATH}"
    assert not accepted(f"{base}?{called}", signed_url=f"{base}?{signed}")


def test_every_candidate_carries_exactly_the_parameters_the_handler_reads() -> None:
    query = {"b": ["2", "1"], "a": ["x y/z+"], "c": [""]}
    urls = called_urls(BASE, PATH, query)
    assert 1 < len(urls) <= 8
    assert len(set(urls)) == len(urls)
    for url in urls:
        assert url.startswith("https://api.example.test/dev/webhooks/twilio/sms?")
        assert decoded(url) == query


def test_a_url_without_a_query_is_not_signed_for_one_with_a_query() -> None:
    bare = sign(TOKEN, f"https://api.example.test/dev{PATH}", PARAMS)
    assert not signature_is_valid(TOKEN, called_urls(BASE, PATH, {"x": ["1"]}), PARAMS, bare)
    assert signature_is_valid(TOKEN, called_urls(BASE, PATH, None), PARAMS, bare)


def test_missing_token_or_signature_is_refused() -> None:
    urls = called_urls(BASE, PATH, None)
    assert not signature_is_valid("", urls, PARAMS, sign(TOKEN, urls[0], PARAMS))
    assert not signature_is_valid(TOKEN, urls, PARAMS, None)
    assert not signature_is_valid(TOKEN, urls, PARAMS, "")
