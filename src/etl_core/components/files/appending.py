"""`mode: "append"` for formats that cannot grow in place: a `.json` array and an XML document.

Their last bytes close the document (`]`, the root's end tag), so new records cannot simply be added at the end
of the file. Instead the writer writes a staged file that starts with the existing document without its
closing part, copied here in chunks as it is read (never held whole), then gets the new records and closes the
document once; the staged file replaces the old one at the commit point like any other output, so a failed run
leaves the old file as it was. The copy is checked as it goes (ijson / expat, C parsers with no per-record
Python work): appending to a file that is not a complete document of the format fails instead of writing a
broken one.

- JSON: an array's bytes are copied verbatim up to its closing `]` (numbers keep their exact digits, integers
  beyond 64 bits included); a file of top-level objects (one record, or several one after another) becomes an
  array of them, re-written. An empty or blank file counts as no records.
- XML: the document is copied verbatim up to its root's end tag (declaration, root attributes, namespaces,
  comments and records under wrapper elements all kept) and the new records go under that root. The document
  must be UTF-8 (what the writer writes); one that declares another encoding is refused rather than mixed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.parsers import expat

import ijson

from etl_core.components.files.json_depth import NestingGuard, TooDeep
from etl_core.components.files.streaming import InputFile
from etl_core.errors import ComponentError

COPY_CHUNK = 1 << 20
_WS = b" \t\r\n"
_BOM = b"\xef\xbb\xbf"
_DECLARED = re.compile(rb"^\s*<\?xml[^>]*?\bencoding\s*=\s*[\"']([A-Za-z0-9._\-]+)[\"']")
_END_TAG = re.compile(rb"</[^\s<>/]+\s*>$")
_EMPTY_ROOT = re.compile(rb"<([^\s<>/!?]+)([^<>]*?)/>$")
_UTF8 = {b"utf-8", b"utf8"}

Write = Callable[[bytes], Any]


def _refuse(path: Path, why: str) -> ComponentError:
    return ComponentError(f"cannot append to {str(path)!r}: {why}", stage="write")


def _first_content(source: InputFile, chunk_size: int) -> bytes:
    """The file's start from its first non-blank byte (BOM dropped), or b"" for an empty or blank file."""
    head = source.read(max(chunk_size, 3))
    if head.startswith(_BOM):
        head = head[3:]
    while head and not head.lstrip(_WS):
        head = source.read(chunk_size)
    return head.lstrip(_WS)


def copy_json_array(path: Path, elements: Write, value: Callable[[Any], None], *, chunk_size: int = COPY_CHUNK) -> None:
    """Copy the records of the `.json` file at `path`: an array's elements go to `elements` as the raw text
    between its brackets (in pieces, blanks at either end left out; nothing for an empty array), a file of
    top-level objects goes to `value` one object at a time. The caller writes the brackets and separators."""
    source = InputFile(path)
    try:
        head = _first_content(source, chunk_size)
        if not head:
            return
        if head[:1] == b"{":
            _copy_objects(path, source, head, value, chunk_size)
            return
        if head[:1] != b"[":
            shown = head[:20].decode("utf-8", errors="replace")
            raise _refuse(path, f"it is not a JSON array or object: it starts with {shown!r}")
        _copy_array(path, source, head, elements, chunk_size)
    finally:
        source.close()


def _copy_array(path: Path, source: InputFile, head: bytes, elements: Write, chunk_size: int) -> None:
    events = ijson.sendable_list()
    check = ijson.basic_parse_coro(events)  # no use_float: integers beyond 64 bits are valid JSON too
    pending = b""
    started = False
    chunk = head
    body = chunk[1:]  # the array's `[`
    try:
        while chunk:
            check.send(chunk)
            del events[:]
            pending += body
            if not started:
                pending = pending.lstrip(_WS)
            # hold back what may be the array's end: its last `]` and the blanks around it
            text = pending.rstrip(_WS)
            if text.endswith(b"]"):
                text = text[:-1].rstrip(_WS)
            if text:
                elements(text)
                started = True
            pending = pending[len(text) :]
            chunk = body = source.read(chunk_size)
        check.close()
    except ijson.JSONError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _refuse(path, f"it is not a complete JSON array ({reason})") from None


def _copy_objects(path: Path, source: InputFile, head: bytes, value: Callable[[Any], None], chunk_size: int) -> None:
    feed = _HeadThenRest(head, source, chunk_size)
    try:
        for item in ijson.items(feed, "", multiple_values=True):  # floats as Decimal: written back exactly
            value(item)
    except ijson.JSONError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _refuse(path, f"it is not valid JSON ({reason})") from None
    except TooDeep as exc:
        raise _refuse(path, f"its {exc}") from None


class _HeadThenRest:
    """What ijson reads: the bytes already read, then the rest of the file."""

    def __init__(self, head: bytes, source: InputFile, chunk_size: int) -> None:
        self._head = head
        self._source = source
        self._chunk_size = chunk_size
        self._guard = NestingGuard()  # ijson's memory grows with the square of the nesting depth

    def read(self, size: int) -> bytes:
        if size == 0:
            return b""  # ijson probes with read(0) for bytes or text
        if self._head:
            data, self._head = self._head, b""
        else:
            data = self._source.read(self._chunk_size)
        self._guard.feed(data)
        return data


def copy_xml_document(path: Path, write: Write, *, chunk_size: int = COPY_CHUNK) -> bytes | None:
    """Copy the XML document at `path` up to its root's end tag; returns that end tag, to close the document
    with once the new records are written, or None (nothing written) when the file is empty or blank."""
    source = InputFile(path)
    try:
        head = source.read(max(chunk_size, 256))  # the XML declaration, to check its encoding
        while head and not head.strip(_WS + _BOM):
            head = source.read(chunk_size)
        if not head:
            return None
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise _refuse(path, "it is UTF-16; append writes UTF-8")
        declared = _DECLARED.match(head.removeprefix(_BOM))
        if declared is not None and declared.group(1).lower() not in _UTF8:
            encoding = declared.group(1).decode("ascii")
            raise _refuse(path, f"it declares the encoding {encoding}; append writes UTF-8")
        return _copy_document(path, source, head, write, chunk_size)
    finally:
        source.close()


def _copy_document(path: Path, source: InputFile, head: bytes, write: Write, chunk_size: int) -> bytes:
    check = expat.ParserCreate()  # no handlers: a well-formedness check at C speed, no tree
    pending = b""
    chunk = head
    try:
        while chunk:
            check.Parse(chunk, False)
            pending += chunk
            # hold back the last tag when only blanks follow it: it may be the root's end tag
            cut = pending.rfind(b"<")
            if cut >= 0:
                close = pending.find(b">", cut)
                if close >= 0 and pending[close + 1 :].strip(_WS):
                    cut = len(pending)
                write(pending[:cut])
                pending = pending[cut:]
            else:
                write(pending)
                pending = b""
            chunk = source.read(chunk_size)
        check.Parse(b"", True)
    except expat.ExpatError as exc:
        raise _refuse(path, f"it is not well-formed XML ({exc})") from None
    tail = pending.rstrip(_WS)
    end = _END_TAG.search(tail)
    if end is not None:
        write(tail[: end.start()])
        return end.group()
    empty = _EMPTY_ROOT.search(tail)
    if empty is not None:
        # `<rows/>`: opened here, closed after the new records
        write(tail[: empty.start()] + b"<" + empty.group(1) + empty.group(2).rstrip(_WS) + b">\n")
        return b"</" + empty.group(1) + b">"
    raise _refuse(path, "its root element is followed by something other than blanks (a comment, say)")
