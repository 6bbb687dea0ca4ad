"""How deep a JSON text nests, tracked over the bytes as they stream past, before a parser sees them.

ijson's parsers keep the path to every open value (`item.a.item.item...`) as text, so their memory grows with
the square of the nesting depth: 100,000 nested brackets, a 200 KB file, take tens of gigabytes. `NestingGuard`
sees each chunk first and raises `TooDeep` once the depth passes its limit (orjson, which parses JSON lines,
stops at 1024 levels too). It is exact: brackets inside strings, escaped quotes and chunks that end in the
middle of a string or of an escape are all accounted for, with a few C-level passes per chunk (`replace`,
`translate`, `count`) and Python work only for the few quotes and brackets they leave.
"""

from __future__ import annotations

from itertools import accumulate

MAX_DEPTH = 1024
_KEEP_QUOTES_AND_BRACKETS = bytes(c for c in range(256) if c not in b'"[]{}')
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
_SEGMENT = 256


class TooDeep(ValueError):
    """The JSON text nests deeper than the limit; `offset` is the byte (from 0) that opens one level too many."""

    def __init__(self, limit: int, offset: int) -> None:
        super().__init__(f"values are nested more than {limit} levels deep at byte {offset}")
        self.limit = limit
        self.offset = offset


class NestingGuard:
    """Feed it the bytes of one JSON text in order; `feed` raises `TooDeep` past `limit` levels.

    Per chunk: escapes that matter (`\\\\`, `\\"`) are removed, then everything but quotes and brackets; two
    adjacent quotes are dropped (that changes no bracket's side of the quote parity, and empties the strings
    without brackets in them, the usual ones), and what is left is split at its few quotes, if any."""

    def __init__(self, limit: int = MAX_DEPTH) -> None:
        self.limit = limit
        self.depth = 0
        self.offset = 0  # bytes fed so far
        self._in_string = False
        self._escape = False  # the previous chunk ended with an unpaired backslash: this one's first byte is escaped

    def feed(self, data: bytes) -> None:
        size = len(data)
        start = (self.depth, self._in_string, self._escape)
        try:
            self._feed(data)
        except TooDeep:
            raise TooDeep(self.limit, self.offset + self._locate(data, *start)) from None
        self.offset += size

    def _feed(self, data: bytes) -> None:
        if self._escape and data:
            data = data[1:]
            self._escape = False
        if b"\\" in data:
            # pairs first (a run of backslashes pairs up from its start), then escaped quotes; a backslash left at
            # the very end escapes the next chunk's first byte
            data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
            self._escape = data.endswith(b"\\")
        marks = data.translate(None, _KEEP_QUOTES_AND_BRACKETS).replace(b'""', b"")
        if b'"' in marks:
            pieces = marks.split(b'"')
            brackets = b"".join(pieces[1::2] if self._in_string else pieces[0::2])
            if len(pieces) % 2 == 0:
                self._in_string = not self._in_string
        else:
            brackets = b"" if self._in_string else marks
        if brackets:
            self._climb(brackets)

    def _locate(self, data: bytes, depth: int, in_string: bool, escape: bool) -> int:
        """The index in `data` of the bracket that goes past the limit, walking it byte by byte from the state
        the chunk started in (only once, on the way to failing)."""
        for i, c in enumerate(data):
            if escape:
                escape = False
            elif in_string:
                if c == 0x5C:  # backslash
                    escape = True
                elif c == 0x22:  # quote
                    in_string = False
            elif c == 0x22:
                in_string = True
            elif c in _STEP:
                depth += _STEP[c]
                if depth > self.limit:
                    return i
        return 0

    def _climb(self, brackets: bytes) -> None:
        """Add the brackets to the depth, checking the deepest point: a segment whose opening brackets alone
        cannot reach the limit is skipped by counting; only one that might is walked step by step."""
        depth = self.depth
        for at in range(0, len(brackets), _SEGMENT):
            segment = brackets[at : at + _SEGMENT]
            opens = segment.count(b"[") + segment.count(b"{")
            if depth + opens > self.limit:
                deepest = max(accumulate(map(_STEP.__getitem__, segment), initial=depth))
                if deepest > self.limit:
                    raise TooDeep(self.limit, self.offset)  # feed() finds the exact byte
            depth += 2 * opens - len(segment)
        self.depth = depth
