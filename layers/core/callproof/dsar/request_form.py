"""The public privacy request page (``GET /privacy``): an accessible HTML form that needs no script and
no internal org id. The person names the company by its slug or published name; what they send is
read into the same ``PublicRequestIn`` the JSON route takes, so both doors file through one path."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING

from callproof.dsar.api import PublicRequestIn
from callproof.dsar.deadlines import Jurisdiction
from callproof.dsar.model import RequestType
from callproof.html_pages import document

if TYPE_CHECKING:
    from pydantic import ValidationError

TITLE = "Make a privacy request"
# By value, so a type this module does not list yet is simply not offered.
TYPE_LABELS = {
    "access": "Send me a copy of the data you hold about me",
    "portability": "Send a copy of my data to another company",
    "erasure": "Delete the data you hold about me",
    "correction": "Correct the data you hold about me",
    "restriction": "Restrict (or lift a restriction on) the use of my data",
    "complaint": "Make a complaint about how my data was handled",
}
JURISDICTIONS = {
    Jurisdiction.GDPR: "The European Union, the EEA or the United Kingdom (GDPR)",
    Jurisdiction.CCPA: "California (CCPA)",
}
FIELDS = ("org", "type", "email", "phone", "jurisdiction", "recipient_email", "lift", "details")
MAX_FIELD = 4000  # characters kept of any field (details is limited to 2,000 by its model)


def types() -> list[RequestType]:
    return [kind for kind in RequestType if kind.value in TYPE_LABELS]


@dataclass(frozen=True, slots=True)
class FormState:
    """What the person typed (shown again, escaped, with the reason when the form was refused)."""

    values: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None
    error_field: str | None = None


def read(form: Mapping[str, str]) -> dict[str, str]:
    """The form's own fields, trimmed (anything else is ignored)."""
    return {name: form[name].strip()[:MAX_FIELD] for name in FIELDS if name in form}


def request_in(org_id: str, values: Mapping[str, str]) -> PublicRequestIn:
    """The form as the JSON route's model; ``ValidationError`` for what the person must fix."""
    data: dict[str, object] = {
        "org_id": org_id,
        "type": values.get("type", ""),
        "email": values.get("email", ""),
        "jurisdiction": values.get("jurisdiction", ""),
        "lift": values.get("lift") == "1",
    }
    data |= {name: values[name] for name in ("phone", "recipient_email", "details") if values.get(name)}
    return PublicRequestIn.model_validate(data)


def refusal(error: ValidationError) -> tuple[str, str | None]:
    """A sentence for the first problem, and the field it is about."""
    first = error.errors()[0]
    location = [str(part) for part in first.get("loc", ())]
    name = location[0] if location else None
    messages = {
        "type": "Choose what you would like us to do.",
        "email": "Enter your email address, like name@example.com: we send the confirmation link there.",
        "phone": "Enter a valid phone number, like +44 20 7946 0018, or leave it empty.",
        "jurisdiction": "Choose where you live.",
        "recipient_email": "Enter the email address of the company that should receive your data.",
        "details": "Your message is too long (2,000 characters at most).",
    }
    if name in messages:
        return messages[name], name
    message = str(first.get("msg", "")).removeprefix("Value error, ")
    if "recipient_email" in message:
        return "Give the other company's email address only when you ask us to send your data there.", (
            "recipient_email"
        )
    if "lift" in message:
        return "Lifting a restriction applies to restriction requests only.", "lift"
    return "Please check the form and try again.", None


def page(csrf_field: str, state: FormState | None = None) -> str:
    state = state or FormState()
    values = state.values
    parts: list[str] = []
    if state.error:
        parts.append(f'<p class="error" role="alert" id="form-error">{escape(state.error)}</p>')
    parts.append(
        "<p>Ask a company that uses CallProof what it holds about you, or to delete, correct, restrict "
        "or send your data, or tell it what went wrong. We email you a link to confirm the request: "
        "nothing happens before you open it.</p>"
        '<form method="post" action="privacy">'
        f'<input type="hidden" name="csrf" value="{escape(csrf_field)}">'
    )
    parts.append(
        _input(state, "org", "Company", "its name or short name, as its privacy policy gives it",
               autocomplete="organization", required=True)
    )  # fmt: skip
    parts.append(_radios(state, "type", "What would you like us to do?",
                         [(kind.value, TYPE_LABELS[kind.value]) for kind in types()]))  # fmt: skip
    parts.append(
        _input(state, "email", "Your email address", "we send the confirmation link here",
               kind="email", autocomplete="email", required=True)
    )  # fmt: skip
    parts.append(
        _input(state, "phone", "Your phone number (optional)",
               "to include the data tied to it: we text it a code to enter when you confirm",
               kind="tel", autocomplete="tel")
    )  # fmt: skip
    parts.append(_select(state, "jurisdiction", "Where do you live?", list(JURISDICTIONS.items())))
    parts.append(
        _input(state, "recipient_email", "The other company's email address",
               "only when you ask us to send your data to another company", kind="email")
    )  # fmt: skip
    checked = " checked" if values.get("lift") == "1" else ""
    parts.append(
        f'<p><input type="checkbox" id="lift" name="lift" value="1"{checked}{_invalid(state, "lift")}> '
        '<label for="lift" style="display:inline">Lift a restriction I asked for earlier '
        "(restriction requests only)</label></p>"
    )
    parts.append(
        f'<label for="details">Details (optional)</label><p class="hint" id="details-hint">What to '
        "correct, or what your complaint is about. Do not include passwords or card numbers.</p>"
        f'<textarea id="details" name="details" rows="5" maxlength="2000"{_described(state, "details")}>'
        f"{escape(values.get('details', ''))}</textarea>"
    )
    parts.append('<button type="submit">Send my request</button></form>')
    return document(TITLE, "".join(parts))


def filed(with_phone: bool) -> str:
    text = (
        "Thank you. If the details are right, we have emailed you a link to confirm your request: open "
        "it within 7 days. Nothing happens before you confirm."
    )
    if with_phone:
        text += " We also texted your phone a code: the confirmation page asks for it."
    return document(TITLE, f'<p class="done" role="status">{escape(text)}</p>')


def problem(message: str) -> str:
    return document(TITLE, f'<p class="error" role="alert">{escape(message)}</p>')


def _invalid(state: FormState, name: str) -> str:
    return ' aria-invalid="true" aria-describedby="form-error"' if state.error_field == name else ""


def _described(state: FormState, name: str) -> str:
    """A field's hint, and the error when the field is the one refused."""
    if state.error_field == name:
        return f' aria-describedby="{name}-hint form-error" aria-invalid="true"'
    return f' aria-describedby="{name}-hint"'


def _input(
    state: FormState,
    name: str,
    label: str,
    hint: str,
    *,
    kind: str = "text",
    autocomplete: str | None = None,
    required: bool = False,
) -> str:
    attributes = _described(state, name)
    attributes += f' autocomplete="{autocomplete}"' if autocomplete else ""
    attributes += " required" if required else ""
    value = escape(state.values.get(name, ""))
    return (
        f'<label for="{name}">{escape(label)}</label><p class="hint" id="{name}-hint">{escape(hint)}</p>'
        f'<input id="{name}" name="{name}" type="{kind}" maxlength="254" value="{value}" '
        f"{attributes}>"
    )


def _radios(state: FormState, name: str, legend: str, options: list[tuple[str, str]]) -> str:
    chosen = state.values.get(name, "")
    refused = state.error_field == name
    invalid = ' aria-invalid="true"' if refused else ""
    items = "".join(
        f'<p><input type="radio" id="{name}-{value}" name="{name}" value="{value}" required{invalid}'
        f"{' checked' if value == chosen else ''}> "
        f'<label for="{name}-{value}" style="display:inline">{escape(text)}</label></p>'
        for value, text in options
    )
    described = ' aria-describedby="form-error"' if refused else ""
    return f'<fieldset id="{name}"{described}><legend>{escape(legend)}</legend>{items}</fieldset>'


def _select(state: FormState, name: str, label: str, options: list[tuple[str, str]]) -> str:
    chosen = state.values.get(name, options[0][0])
    items = "".join(
        f'<option value="{value}"{" selected" if value == chosen else ""}>{escape(text)}</option>'
        for value, text in options
    )
    return f'<label for="{name}">{escape(label)}</label><select id="{name}" name="{name}"{_invalid(state, name)}>{items}</select>'
