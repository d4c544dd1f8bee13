"""A delivery's body is either refused as malformed (a 4xx) or stored as a JSON document
PostgreSQL's JSON column accepts, on both ways it is stored: the batch's own text and the
one-by-one fallback, which hands the ORM the document parsed again. A number beyond a float
(1e400) read as infinity and written back as `Infinity` is neither: PostgreSQL refuses the
INSERT, and every delivery of the batch is answered 500."""

from __future__ import annotations

import json
from typing import Any

import pytest

from orchestrator.webhooks import intake
from orchestrator.webhooks.events import MalformedPayload


def _strict(text: str) -> Any:
    def refuse(name: str) -> None:
        raise ValueError(f"{name} is no JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1E+999"])
@pytest.mark.parametrize(
    "encode",
    [
        lambda text: text.encode(),
        lambda text: b"\xef\xbb\xbf" + text.encode(),
        lambda text: text.encode("utf-16"),
    ],
    ids=["utf-8", "utf-8 with a byte order mark", "utf-16"],
)
def test_a_number_beyond_a_float_is_refused_or_stored_as_json(number: str, encode: Any) -> None:
    body = encode(f'{{"ref": "refs/heads/main", "size": {number}}}')
    try:
        payload = intake.parse_json(body)
    except MalformedPayload:
        return  # a 422
    stored = intake.as_stored(body, payload).text
    _strict(stored)  # the batch's INSERT
    _strict(json.dumps(json.loads(stored)))  # intake.store's, the one-by-one fallback


@pytest.mark.parametrize("escape", ["\\u0000", "\\ud800"])
@pytest.mark.parametrize(
    "encode",
    [lambda text: text.encode("utf-16"), lambda text: b"\xef\xbb\xbf" + text.encode()],
    ids=["utf-16", "utf-8 with a byte order mark"],
)
def test_an_unstorable_escape_is_refused_whatever_the_bodys_encoding(
    escape: str, encode: Any
) -> None:
    """A NUL or a lone surrogate in a string no PostgreSQL text column holds (the event's ref
    here): the escape is looked for in the body's bytes, where UTF-16 hides it."""
    body = encode(f'{{"ref": "refs/heads/ma{escape}in", "size": 1}}')
    with pytest.raises(MalformedPayload, match="no database can store"):
        intake.parse_json(body)
