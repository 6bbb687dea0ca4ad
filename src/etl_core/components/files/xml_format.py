"""XML reading and writing as synchronous objects, run by the components in a worker thread.

Reading feeds the file (read in big chunks, fed in 64 KiB slices) to the C `XMLParser`/`TreeBuilder` pair with
no per-element events (they would halve the speed): the parser reports only the first start tag, which gives the
root; after each slice, every element that is no longer the last child of its parent is complete, so complete
`record_tag` elements are converted and removed from the tree. Memory holds one chunk and the record being
parsed, never the file. Row mode reads what one read returns and has end tags reported too, so that a record is
sent once its end tag has arrived rather than when the next record starts (a pipe, a file still being written).

A record is a `record_tag` element that is not inside another record, at any depth (namespaces ignored).
Its child elements are fields: a plain element gives its text (an empty one null), an element with children
or attributes gives an object, a repeated tag gives a list; attributes go under `@attrs`, and text mixed with
child elements under `#text` (each piece stripped, joined by a space).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import deque
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError, TreeBuilder, XMLParser

from etl_core.components.base import DEFAULT_BATCH_BYTES
from etl_core.components.files.appending import copy_xml_document
from etl_core.components.files.csv_format import BULK_CHUNK, ParsedBatch
from etl_core.components.files.format_options import XML_NAME
from etl_core.components.files.parts import PartFormat, WriteOutcome
from etl_core.components.files.shaping import Nester, RecordShaper, projector_for, text_of
from etl_core.components.files.streaming import InputFile, OutputFile
from etl_core.config.schema import Schema
from etl_core.errors import ComponentError

Record = dict[str, Any]
FEED_SLICE = 1 << 16
ATTRS = "@attrs"
TEXT = "#text"


def _local(tag: str) -> str:
    return tag.rpartition("}")[2] if tag[:1] == "{" else tag


# `el.keys()` rather than `el.attrib`: reading `attrib` makes the C element allocate and keep a dict, which
# costs a tracked object per element (and garbage-collector time) just to learn there are no attributes.


def element_object(el: Element) -> Record:
    """An element as an object: `@attrs`, its child elements as fields, `#text`."""
    out: Record = {}
    if el.keys():
        out[ATTRS] = {_local(k): v for k, v in el.items()}
    pieces: list[str] | None = None
    text = el.text
    if text and not text.isspace():
        pieces = [text.strip()]
    for child in el:
        tag = child.tag
        if type(tag) is not str:
            continue  # a comment or processing instruction
        if tag[0] == "{":
            tag = tag.rpartition("}")[2]
        value = child.text if not len(child) and not child.keys() else element_object(child)
        if tag in out:
            prev = out[tag]
            if type(prev) is list:
                prev.append(value)
            else:
                out[tag] = [prev, value]
        else:
            out[tag] = value
        tail = child.tail
        if tail and not tail.isspace():
            if pieces is None:
                pieces = []
            pieces.append(tail.strip())
    if pieces:
        # a leaf keeps its text exactly; text between child elements is layout plus words
        out[TEXT] = text if not len(el) else " ".join(pieces)
    return out


class XmlBatchReader:
    """Reads the records of an XML file into batches. Not thread-safe; one call at a time."""

    def __init__(
        self,
        path: Path,
        schema: Schema | None,
        record_tag: str,
        *,
        batch_size: int,
        chunk_size: int = BULK_CHUNK,
        eager: bool = False,
        batch_bytes: int = DEFAULT_BATCH_BYTES,
    ) -> None:
        self.path = path
        self.record_tag = record_tag
        self.batch_size = batch_size
        self.batch_bytes = batch_bytes
        self.chunk_size = chunk_size
        self.eager = eager
        self._in = InputFile(path, eager=eager)
        # row mode takes what one read gives (a pipe, a growing file) instead of waiting for a whole chunk
        self._read = self._in.read1 if eager else self._in.read
        self._shaper = RecordShaper(schema, xml=True) if schema is not None else None
        self._events: deque[tuple[str, Any]] = deque()
        self._parser = XMLParser(target=TreeBuilder())
        # private but stable since 3.4 (XMLPullParser is built on it): report start tags until the root is known;
        # row mode also has end tags reported, so that a record whose end tag has arrived is sent without
        # waiting for the next one to start (a cost per element that only the latency mode pays)
        self._ends: tuple[str, ...] = ("end",) if eager else ()
        self._parser._setevents(self._events, ("start", *self._ends))  # type: ignore[attr-defined]
        self._ended: set[int] = set()
        self._root: Element | None = None
        self._content = False
        self._pending: list[tuple[int, Record]] = []
        self._bad: list[tuple[Any, str, int | None]] = []  # records that could not be converted
        self._count = 0
        self._eof = False
        self._offset = 0

    def close(self) -> None:
        self._in.close()

    def next_batch(self) -> ParsedBatch | None:
        while len(self._pending) < self.batch_size and not self._eof:
            if self._pending and self._in.offset - self._offset >= self.batch_bytes:
                break  # very wide records: the batch ends on its byte budget
            self._read_chunk()
            if self.eager and (self._pending or self._bad):
                break
        if not self._pending and not self._bad:
            return None
        items = self._pending[: self.batch_size]
        del self._pending[: self.batch_size]
        batch = ParsedBatch()
        if self._shaper is None:
            batch.records = [r for _, r in items]
        else:
            batch.records, batch.errors = self._shaper.shape_all(items, by_line=False)
        if self._bad:
            batch.errors = self._bad + batch.errors
            self._bad = []
        offset = self._in.offset
        batch.bytes_read, self._offset = offset - self._offset, offset
        return batch

    def _read_chunk(self) -> None:
        raw = self._read(self.chunk_size)
        if not raw:
            self._feed(b"")
            return
        # feed in small slices and harvest after each: the tree of parsed-but-unharvested elements stays small,
        # which keeps the garbage collector's passes over it cheap (measured: ~1.5x faster than 1 MiB feeds)
        for start in range(0, len(raw), FEED_SLICE):
            self._feed(raw[start : start + FEED_SLICE])

    def _feed(self, raw: bytes) -> None:
        final = not raw
        if raw and not self._content:
            self._content = not raw.isspace()
        try:
            if raw:
                self._parser.feed(raw)
            elif self._content:
                self._parser.close()
        except ParseError as exc:
            raise ComponentError(
                f"file {str(self.path)!r} is not well-formed XML ({exc}), after record {self._count}", stage="read"
            ) from None
        if final:
            self._eof = True  # an empty file holds no records
        if self._root is None and self._events:
            self._root = self._events[0][1]
            self._parser._setevents(self._events, self._ends)  # type: ignore[attr-defined]
        if self._root is not None:
            # the elements whose end tag this slice held (row mode); the events keep them alive meanwhile
            self._ended = {id(el) for kind, el in self._events if kind == "end"}
            if self._is_record(self._root):
                if final:
                    self._emit(self._root)
            else:
                self._harvest(self._root, final)
            self._ended.clear()
        self._events.clear()

    def _is_record(self, el: Element) -> bool:
        tag = el.tag
        return isinstance(tag, str) and (tag == self.record_tag or _local(tag) == self.record_tag)

    def _harvest(self, node: Element, final: bool) -> None:
        """Emit the complete records under `node` and drop them; descend along the still-open last child."""
        while True:
            n = len(node)
            done = n if final else n - 1
            if done > 0:
                for child in node[:done]:
                    if self._is_record(child):
                        self._emit(child)
                    else:
                        self._harvest_complete(child)
                del node[:done]
            if final or n == 0:
                return
            last = node[-1]
            if self._is_record(last):
                if id(last) in self._ended:  # row mode: complete, though nothing follows it yet
                    self._emit(last)
                    del node[-1]
                return
            node = last

    def _harvest_complete(self, node: Element) -> None:
        """Emit the records under a complete element, in document order; a loop, not recursion, so that
        wrapper elements nested thousands deep cannot exhaust the stack."""
        stack = [iter(node)]
        while stack:
            for child in stack[-1]:
                if self._is_record(child):
                    self._emit(child)
                elif len(child):
                    stack.append(iter(child))
                    break
            else:
                stack.pop()

    def _emit(self, el: Element) -> None:
        self._count += 1
        try:
            self._pending.append((self._count, element_object(el)))
        except RecursionError:
            # a record nested deeper than Python can convert: isolated as a record error, the file reads on
            self._bad.append((None, f"record {self._count}: <{_local(el.tag)}> is nested too deeply to convert", None))


# -- writing ----------------------------------------------------------------------------------------------

_SPECIAL = re.compile(r"[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ATTR_SPECIAL = re.compile(r"[&<>\"\r\n\t\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TEXT_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}
_ATTR_ESCAPES = {**_TEXT_ESCAPES, '"': "&quot;", "\n": "&#10;", "\t": "&#9;"}


class _Unwritable(ValueError):
    """A record holds something XML 1.0 cannot represent."""


def _escape(value: str, special: re.Pattern[str], table: dict[str, str]) -> str:
    if special.search(value) is None:
        return value
    bad = _ILLEGAL.search(value)
    if bad is not None:
        raise _Unwritable(f"the text {value[:40]!r} holds U+{ord(bad.group()):04X}, which XML 1.0 cannot represent")
    return special.sub(lambda m: table[m.group()], value)


def _scalar_text(value: Any) -> str:
    if type(value) is str:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return text_of(value)


class XmlWriter:
    """Writes records as `<root_tag><record_tag>...</record_tag>...</root_tag>` (UTF-8). See parts.FormatWriter.

    A field becomes a child element; an object nested elements (`@attrs` its attributes, `#text` its text); a
    list repeats the element once per item (a list inside a list uses `<item>` elements); null is an empty
    element. Text and attribute values are escaped; a name that is not an XML name, or a character XML 1.0
    cannot hold, makes the record a record error. With a `schema` (the in port's), a record is written with
    exactly the declared fields, in schema order (shaping.Projector; `@attrs`/`#text` too only when declared).
    """

    def __init__(
        self,
        path: Path,
        root_tag: str,
        record_tag: str,
        *,
        gz: bool = False,
        schema: Schema | None = None,
        existing: Path | None = None,
    ) -> None:
        """`existing` (mode append) is the document to continue: `path`, the staged output, starts with it up to
        its root's end tag (appending.py), the new records go under that root, whatever it is called."""
        self._projector = projector_for(schema)
        self.root_tag = root_tag
        self.record_tag = record_tag
        self._out = OutputFile(path, gz=gz)
        self._names: dict[str, bool] = {}
        self._nester = Nester()
        self._count = 0
        self._end = f"</{root_tag}>".encode()
        end: bytes | None = None
        if existing is not None and existing.exists():
            try:
                end = copy_xml_document(existing, self._out.write)
            except BaseException:
                self.abort()
                raise
        if end is None:
            self._out.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<{root_tag}>\n'.encode())
        else:
            self._end = end

    def write(self, batch: list[Record]) -> WriteOutcome:
        start = self._count
        self._count += len(batch)
        if self._projector is not None:
            batch = self._projector.project_all(batch)
        records = self._nester.nest(batch)
        chunks: list[str] = []
        written: list[Record] = batch
        errors: list[tuple[Any, str, int | None]] = []
        for i, record in enumerate(records):
            parts: list[str] = []
            try:
                self._element(parts, self.record_tag, record)
            except (_Unwritable, RecursionError) as exc:
                if written is batch:
                    written = list(batch[:i])
                why = "it is nested too deeply" if isinstance(exc, RecursionError) else str(exc)
                errors.append((batch[i], f"record {start + i + 1}: cannot be written as XML: {why}", None))
                continue
            if written is not batch:
                written.append(batch[i])
            parts.append("\n")
            chunks.append("".join(parts))
        data = "".join(chunks).encode("utf-8", errors="surrogatepass")
        self._out.write(data)
        return WriteOutcome(written, len(data), errors)

    def _tag(self, name: Any) -> str:
        ok = self._names.get(name) if isinstance(name, str) else False
        if ok is None:
            ok = XML_NAME.match(name) is not None
            self._names[name] = ok
        if not ok:
            raise _Unwritable(f"field {name!r} is not a valid XML element name")
        return str(name)

    def _element(self, parts: list[str], tag: str, record: Record) -> None:
        attrs = record.get(ATTRS)
        head = tag
        if attrs is not None:
            if type(attrs) is not dict:
                raise _Unwritable(f"{ATTRS!r} of <{tag}> must be an object of attribute values")
            for name, value in attrs.items():
                if value is not None:
                    escaped = _escape(_scalar_text(value), _ATTR_SPECIAL, _ATTR_ESCAPES)
                    head += f' {self._tag(name)}="{escaped}"'
        body: list[str] = []
        text = record.get(TEXT)
        if text is not None:
            body.append(_escape(_scalar_text(text), _SPECIAL, _TEXT_ESCAPES))
        for key, value in record.items():
            if key != ATTRS and key != TEXT:
                self._value(body, self._tag(key), value)
        if body:
            parts.append(f"<{head}>")
            parts.extend(body)
            parts.append(f"</{tag}>")
        else:
            parts.append(f"<{head}/>")

    def _value(self, parts: list[str], tag: str, value: Any) -> None:
        kind = type(value)
        if kind is str:
            parts.append(f"<{tag}>{_escape(value, _SPECIAL, _TEXT_ESCAPES)}</{tag}>" if value else f"<{tag}/>")
        elif value is None:
            parts.append(f"<{tag}/>")
        elif kind is dict:
            self._element(parts, tag, value)
        elif kind is list or kind is tuple:
            for item in value:
                if type(item) is list or type(item) is tuple:
                    self._element(parts, tag, {"item": item})
                else:
                    self._value(parts, tag, item)
        else:
            parts.append(f"<{tag}>{_escape(_scalar_text(value), _SPECIAL, _TEXT_ESCAPES)}</{tag}>")

    def close(self) -> None:
        self._out.write(self._end + b"\n")
        self._out.close()

    def abort(self) -> None:
        self._out.abort()


def xml_part_format(root_tag: str, record_tag: str, schema: Schema | None = None) -> PartFormat:
    """Part files of an XML directory output: one document per part (projected to `schema` when there is one)."""

    def open_part(path: Path, *, append: bool = False) -> XmlWriter:
        return XmlWriter(path, root_tag, record_tag, schema=schema)

    return PartFormat("xml", open_part)
