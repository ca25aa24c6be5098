"""The shim's JSON (runtime/containers/shim_json.py) agrees with the standard library's."""

from __future__ import annotations

import json
import random

import pytest

from cove.runtime.containers import shim_json

SAMPLES = [
    None, True, False, 0, -7, 2**70, 1.5, -0.0, 1e-300, float("inf"), float("-inf"), "",
    "plain", 'quote " backslash \\ slash /', "\x00\x01\x1f\x7f\b\f\n\r\t",
    "caf\u00e9 \u20ac \U0001f600 \u2028", "\udc80 lone surrogate", [], {}, [1, [2, [3]]],
    {"log": "hi\n", "stream": "stdout", "time": "2024-01-01T00:00:00.1Z"},
    {"nested": {"list": [None, True, 1.25, "x"], "empty": {}}}, ("tuple", 1),
]


@pytest.mark.parametrize("value", SAMPLES, ids=repr)
def test_dumps_writes_what_json_dumps_writes(value):
    assert shim_json.dumps(value) == json.dumps(value)


@pytest.mark.parametrize("value", SAMPLES, ids=repr)
def test_loads_reads_what_json_writes(value):
    text = json.dumps(value)
    assert shim_json.loads(text) == json.loads(text)
    assert shim_json.loads(text.encode()) == json.loads(text)


def test_nan_round_trips_as_json_writes_it():
    assert shim_json.dumps(float("nan")) == "NaN"
    value = shim_json.loads("NaN")
    assert value != value


@pytest.mark.parametrize("text", [
    ' { "a" : [ 1 , 2 ] , "b" : "\\u00e9\\ud83d\\ude00\\/" } \n',
    json.dumps({"a": "x" * 5000, "b": list(range(100))}, indent=2),
    '"\\ud800 then text"', "-1.5e+3", "[]", "{}",
])
def test_loads_reads_whitespace_escapes_and_numbers_like_json(text):
    assert shim_json.loads(text) == json.loads(text)


@pytest.mark.parametrize("text", [
    "", "   ", "{", "[1, 2", '{"a" 1}', '{"a": 1,}', "[1 2]", '"unterminated', '"\\x"',
    '"\\u12"', '"\\u12g4"', "tru", "nul", "-", "1 2", "{1: 2}", "[1,]", "{}}",
])
def test_malformed_text_raises_value_error(text):
    with pytest.raises(ValueError):
        shim_json.loads(text)


def _random_value(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randrange(8 if depth < 4 else 5)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.randint(-2**40, 2**40)
    if kind == 2:
        return rng.uniform(-1e6, 1e6)
    if kind in (3, 4):
        return "".join(chr(rng.choice([rng.randrange(0x80), rng.randrange(0x80, 0x110000)]))
                       for _ in range(rng.randrange(12)))
    if kind == 5:
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(5))]
    return {str(_random_value(rng, 4)): _random_value(rng, depth + 1)
            for _ in range(rng.randrange(5))}


def test_random_documents_round_trip_exactly_as_with_json():
    rng = random.Random(10)
    for _ in range(500):
        value = _random_value(rng)
        text = json.dumps(value)
        assert shim_json.dumps(value) == text
        assert shim_json.loads(text) == json.loads(text)


def test_truncated_documents_raise_only_value_error():
    text = json.dumps({"a": [1, 2.5, "x\\y\u00e9"], "b": {"c": None, "d": True}})
    for end in range(len(text)):
        try:
            shim_json.loads(text[:end])
        except ValueError:
            pass


def test_objects_json_cannot_write_are_refused():
    with pytest.raises(TypeError, match="not JSON serializable"):
        shim_json.dumps({"a": object()})
