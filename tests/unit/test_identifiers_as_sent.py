"""Identifiers in models that strip their text are matched as sent (a fuzzer's class of finding: the
document's pattern allows no space, so " u1 " must be refused, not stripped and accepted)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ConfigDict, TypeAdapter, ValidationError

from callproof.contacts.model import UserId
from callproof.dsar.api import ContactIdText, OrgIdText
from callproof.incidents.api import OrgId


@pytest.mark.parametrize("identifier", [UserId, ContactIdText, OrgIdText, OrgId])
def test_an_identifier_is_matched_as_sent_where_its_model_strips_text(identifier: Any) -> None:
    adapter = TypeAdapter(identifier, config=ConfigDict(str_strip_whitespace=True))
    assert adapter.validate_python("u1") == "u1"
    for padded in (" u1", "u1 ", "\tu1\n"):
        with pytest.raises(ValidationError, match="pattern"):
            adapter.validate_python(padded)
