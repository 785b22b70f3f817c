"""payram.lib.jsonguard: JSON's nesting depth, measured before json.loads sees it (whose C
scanner segfaults on pathological nesting), exactly as json reads the text: brackets in
strings, escaped quotes and backslashes, UTF-16/32 bodies."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest

from payram.lib.jsonguard import NODE_ANSWER_MAX_DEPTH, json_depth, json_too_deep

CORE_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "bitcoin-core"  # Core 31 recordings


def depth_of(value) -> int:
    """The nesting depth of a parsed value: what json_depth must find in its text."""
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    return 0


def char_by_char(text: str) -> tuple[int, bool]:
    """The obvious scanner (the API's former one): the deepest level, and whether it had to
    stop at a backslash outside a string (where json fails and nothing after counts)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == "\\":
            return deepest, True
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest, False


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("", 0),
        ("12", 0),
        ('"[[[{{{"', 0),
        ("[]", 1),
        ('{"a": [1, {"b": []}]}', 4),
        ('["]]]]", [["[["]]]', 3),  # brackets in strings count for nothing, either way
        (r'["a \" [[[ \" b", [1]]', 2),  # escaped quotes do not end the string
        (r'["ends in a backslash \\", [[1]]]', 3),  # \\ then the closing quote: the string ends
        (r'["\\\"[[[", []]', 2),  # \\ then \": still inside the string
        (r'["\u0022[[[", []]', 2),  # \u0022 is a quote in the value, not in the text
        ('["unterminated [[[[[[', 1),  # json fails at the string; what follows never nests
        ("]]]] [[", 0),  # json fails at the first ]
        ("[" * 100_000, 100_000),
        ("[" * 100_000 + "]" * 100_000, 100_000),
        ('["' + "[" * 100_000 + '"]', 1),
    ],
)
def test_depth_counts_what_json_would_nest(text, depth):
    assert json_depth(text) == depth
    assert json_depth(text.encode()) == depth
    assert json_depth(bytearray(text.encode())) == depth


def test_strings_full_of_brackets_and_escaped_quotes_are_not_miscounted():
    value = {"a": ['[[[{{ "x" \\', "]]]}}}", {'b"[': ['\\"[', r"\[\]"]}], "c": "\\" * 7 + '"[[['}
    text = json.dumps(value)
    assert json_depth(text) == depth_of(value) == 4
    assert not json_too_deep(text, 4) and json_too_deep(text, 3)


def test_utf16_and_utf32_bodies_are_measured_as_json_reads_them():
    """json.loads accepts UTF-16/32 bytes; a byte scan of those would miscount (U+2222 is
    the bytes 22 22, two quotes to a byte scanner), so they are decoded first."""
    text = '["\u2222\u225b", ' + "[" * 200 + "]" * 200 + "]"
    for encoding in ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be", "utf-8-sig"):
        raw = text.encode(encoding)
        assert json_depth(raw) == 201, encoding
        assert json_too_deep(raw, NODE_ANSWER_MAX_DEPTH), encoding


def test_the_limit_is_exclusive():
    assert not json_too_deep("[" * 32 + "]" * 32, 32)
    assert json_too_deep("[" * 33 + "]" * 33, 32)
    assert not json_too_deep(b"{}", 1) and json_too_deep(b"[{}]", 1)
    assert not json_too_deep(b"\xff\xfe\x00", 0)  # not decodable: json.loads refuses it unparsed


def test_random_valid_json_measures_exactly_its_parsed_depth():
    rnd = random.Random(7)
    alphabet = '[]{}"\\/ab \n\u00e9\u2028'

    def text() -> str:
        return "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 6)))

    def value(level: int):
        roll = rnd.random()
        if level > 10 or roll < 0.3:
            return text()
        if roll < 0.65:
            return [value(level + 1) for _ in range(rnd.randint(0, 3))]
        return {text(): value(level + 1) for _ in range(rnd.randint(0, 3))}

    for _ in range(3000):
        v = value(0)
        for dumped in (json.dumps(v), json.dumps(v, ensure_ascii=False, indent=1)):
            assert json_depth(dumped) == depth_of(v), dumped
            assert json_depth(dumped.encode("utf-16")) == depth_of(v), dumped


def test_random_text_agrees_with_a_char_by_char_scan_wherever_json_could_get():
    rnd = random.Random(11)
    for _ in range(20_000):
        text = "".join(rnd.choice('[]{}"\\a,') for _ in range(rnd.randint(0, 24)))
        expected, stopped = char_by_char(text)
        got = json_depth(text)
        # Past a backslash outside a string json has already failed: counting more there is harmless.
        assert got >= expected if stopped else got == expected, text


@pytest.mark.parametrize(
    "make",
    [
        lambda n: b"[" * n,
        lambda n: b"[]" * (n // 2),
        lambda n: b'"[' * (n // 2),  # a bracket inside and outside strings, alternately
        lambda n: b'["' + b'\\"' * (n // 2),  # one unterminated string of escaped quotes
        lambda n: b"\\" * n,
    ],
    ids=["open", "pairs", "alternating", "escaped-quotes", "backslashes"],
)
def test_the_scan_is_linear(make):
    """Four times the input takes about four times as long, never sixteen (a backtracking
    string pattern would go quadratic on unterminated strings of escaped quotes)."""
    small, large = make(250_000), make(1_000_000)
    took = []
    for data in (small, large):
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            json_depth(data)
            best = min(best, time.perf_counter() - started)
        took.append(best)
    assert took[1] < max(took[0], 0.002) * 10, took


def test_real_node_answers_stay_far_below_the_node_limit():
    depths = {}
    for fixture in sorted(CORE_FIXTURES.glob("*.json")):
        text = json.loads(fixture.read_text())["response_text"]
        try:
            expected = depth_of(json.loads(text))
        except ValueError:
            continue  # e.g. an empty 401 body
        depths[fixture.stem] = json_depth(text)
        assert depths[fixture.stem] == expected, fixture.stem
    assert depths["17-getblock-verbosity2"] == 7 and depths["18-getblock-verbosity3"] == 8
    assert max(depths.values()) + 1 < NODE_ANSWER_MAX_DEPTH // 4  # +1: inside a batch
