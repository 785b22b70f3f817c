"""How deep JSON nests, measured before json.loads sees it.

json's C scanner recurses once per array/object level and, on pathological input (say
100,000 '['), overflows the C stack: the process dies with a segfault instead of raising
RecursionError (threads have small stacks; a Celery worker or a web worker would just
vanish). Whatever parses untrusted JSON (API bodies, node answers) measures its depth
with `json_too_deep` first and refuses deeper input unparsed.

The measure works on bytes with a handful of C-speed passes (no Python loop per byte), in
linear time, which matters for node answers of several MB (a mainnet block):

1. escapes go: every `\\\\` pair, then every `\\"` (an escaped quote is never a string's
   end; backslash runs pair up from the left, as JSON reads them);
2. everything but `"[]{}` goes, and adjacent quote pairs `""` (dropping two neighbouring
   quotes leaves every bracket's inside-a-string parity as it was);
3. what is still inside quotes goes (brackets in strings do not count);
4. the running sum (+1 opening, -1 closing) peaks at the depth.

Up to the first byte where json would fail, the result is exactly json's nesting depth;
past it the count may be off, but json never gets there.
"""

from __future__ import annotations

import itertools
import json
import re

# Node answers (chain/adapters): the deepest real ones nest 8-9 levels. Bitcoin Core
# getblock at verbosity 3 is 8 (reply / result / tx[] / tx / vin[] / vin / prevout /
# scriptPubKey; 7 at verbosity 2), one more inside a batch; an eth_getBlockByNumber with
# full transactions in a batch is 8 (batch[] / reply / result / transactions[] / tx /
# accessList[] / entry / storageKeys[]; authorizationList is one less). 64 leaves ample
# room for fields nodes may add, and is far below what json's C scanner survives.
NODE_ANSWER_MAX_DEPTH = 64

_ALL_BUT_QUOTES_AND_BRACKETS = bytes(b for b in range(256) if b not in b'"[]{}')
_STRING_BODY = re.compile(rb'"[^"]*(?:"|\Z)')  # always matches from a quote: no backtracking
_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # as signed bytes: +1 / -1


def _utf8(data: bytes | bytearray | str) -> bytes | None:
    """`data` as UTF-8 bytes, the way json.loads would read it; None when it could not."""
    if isinstance(data, str):
        return data.encode("utf-8", "surrogatepass")
    data = bytes(data)
    encoding = json.detect_encoding(data)
    if encoding in ("utf-8", "utf-8-sig"):
        return data  # multi-byte UTF-8 sequences hold no ASCII bytes: safe to scan as is
    try:  # UTF-16/32, which json.loads accepts too: their bytes would fool a byte scan
        return data.decode(encoding, "surrogatepass").encode("utf-8", "surrogatepass")
    except UnicodeError:
        return None  # json.loads refuses it as well, without parsing anything


def json_depth(data: bytes | bytearray | str) -> int:
    """How deep arrays and objects nest in `data` (0 for a scalar, 1 for `[]`), counting
    no bracket inside a string."""
    raw = _utf8(data)
    if raw is None:
        return 0
    if b"\\" in raw:  # rare in node answers (hex): skip two passes over megabytes
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    reduced = raw.translate(None, _ALL_BUT_QUOTES_AND_BRACKETS).replace(b'""', b"")
    brackets = _STRING_BODY.sub(b"", reduced)
    if not brackets:
        return 0
    return max(0, max(itertools.accumulate(memoryview(brackets.translate(_STEP)).cast("b"))))


def json_too_deep(data: bytes | bytearray | str, limit: int) -> bool:
    """True when `data` nests arrays/objects deeper than `limit`: refuse it unparsed."""
    return json_depth(data) > limit
