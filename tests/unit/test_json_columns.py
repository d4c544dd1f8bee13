"""JSON columns read back exactly what the standard library would read, however they are
stored: orjson is only the fast path."""

from __future__ import annotations

import json
import math

import pytest

from orchestrator.db import load_json


@pytest.mark.parametrize("text", ['{"a": [1, 2, {"b": null}]}', '"\\u00e9"', "[]", "-0.5"])
def test_ordinary_json_reads_as_the_standard_library_reads_it(text: str) -> None:
    assert load_json(text) == json.loads(text)
    assert load_json(text.encode()) == json.loads(text)


def test_integers_past_64_bits_stay_integers() -> None:
    assert load_json(f'{{"n": {2**70}}}') == {"n": 2**70}
    assert load_json(str(-(2**64)).encode()) == -(2**64)


def test_what_orjson_refuses_still_reads() -> None:
    assert math.isnan(load_json("NaN"))
    assert load_json('{"x": Infinity}') == {"x": math.inf}
    assert load_json('"\\ud800"') == "\ud800"


def test_broken_json_is_still_an_error() -> None:
    with pytest.raises(ValueError):
        load_json("{")
