"""Source partitions: the files a file source names, and byte ranges of one large CSV or JSON-lines file.

A source `filepath` may be a file, a directory (its non-hidden files of the format, by name) or a glob
(`in/*.csv`, `in/**/*.jsonl`). A CSV or JSON-lines file larger than the partition size is cut into byte
ranges at record boundaries:

- JSON lines: at a line break (a JSON value holds no raw line break);
- CSV: at a line break with an even number of quote characters before it, so a quoted field spanning lines
  is never cut (exact for RFC 4180 files; a stray quote inside an unquoted field only makes the ranges
  after it larger). Every range after the first re-reads the header line.

Each range knows the file line it starts on, so record errors name the same line as a local run. Finding
the cuts reads the file once with `bytes.count` (a few hundred MB/s): blocking, run it in a worker thread.
"""

from __future__ import annotations

import glob
import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from etl_core.components.support.files import PathNotAllowed, resolve_data_path

_BLOCK = 4 << 20
GZIP_MAGIC = b"\x1f\x8b"
CSV_SUFFIXES = (".csv", ".tsv", ".txt")
XML_SUFFIXES = (".xml", ".xml.gz")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")


@dataclass(frozen=True, slots=True)
class FilePart:
    """One partition of a file source: a whole file (`end` None) or bytes [start, end) of it.

    `head` is read before the range (the CSV header line of the file); `first_line` is the file line that
    the range starts on.
    """

    path: str
    start: int = 0
    end: int | None = None
    first_line: int = 1
    head: bytes = b""

    @property
    def whole(self) -> bool:
        return self.end is None

    @property
    def line_offset(self) -> int:
        """What to add to a line number a reader counts from the start of `head` + range."""
        return self.first_line - 1 - self.head.count(b"\n")


class SourceMissing(Exception):
    """A source path that names nothing readable (the message says what)."""


def has_glob(value: str) -> bool:
    return any(c in value for c in "*?[")


def source_files(
    filepath: str, resolved: Path, suffixes: Sequence[str], data_dir: Path, allowed: Sequence[Path]
) -> list[Path]:
    """The files a source reads, in name order: the file itself, a directory's files, or a glob's matches.

    Hidden files (a writer's staging files) are skipped; every match must lie inside the allowed roots.
    """
    if has_glob(filepath) and not resolved.exists():
        files = []
        for match in sorted(glob.glob(str(resolved), recursive=True)):
            path = Path(match)
            if path.is_file() and not path.name.startswith("."):
                try:
                    files.append(resolve_data_path(match, data_dir, allowed))
                except PathNotAllowed as exc:
                    raise SourceMissing(str(exc)) from None
        if not files:
            raise SourceMissing(f"no file matches {filepath!r} ({str(resolved)!r})")
        return files
    if resolved.is_dir():
        ends = tuple(s.lower() for s in suffixes)
        return sorted(
            p
            for p in resolved.iterdir()
            if p.is_file() and not p.name.startswith(".") and p.name.lower().endswith(ends)
        )
    if not resolved.exists():
        raise SourceMissing(f"file {str(resolved)!r} does not exist")
    return [resolved]


def is_gzipped(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def split_file(
    path: Path, part_bytes: int, *, quotechar: str | None, header: bool, encoding: str = "utf-8"
) -> list[FilePart]:
    """Byte ranges of about `part_bytes` each, cut at record boundaries (see the module docstring).

    `quotechar` is the CSV quote character (None for JSON lines); with `header` the first record is the
    header, given to every range after the first as its `head`. A file that is small, gzipped, or has no
    boundary after the header is one whole-file partition.
    """
    size = path.stat().st_size
    whole = [FilePart(str(path))]
    if size <= part_bytes or is_gzipped(path):
        return whole
    if "\n".encode(encoding) != b"\n":
        return whole  # UTF-16 and the like: a line break is not the byte b"\n"
    quote = quotechar.encode(encoding) if quotechar is not None else None
    if quote is not None and len(quote) != 1:
        return whole  # a multi-byte quote character: parity per byte would be wrong
    cuts = _cuts(path, part_bytes, quote, header)
    if not cuts or (header and len(cuts) < 2):
        return whole
    head = b""
    if header:
        header_end = cuts.pop(0)[0]
        with open(path, "rb") as fh:
            head = fh.read(header_end)
    if not cuts:
        return whole
    parts = [FilePart(str(path), 0, cuts[0][0], 1)]
    bounds = [*cuts, (size, -1)]
    for (start, lines), (end, _) in itertools.pairwise(bounds):
        if end > start:
            parts.append(FilePart(str(path), start, end, lines + 1, head))
    return parts if len(parts) > 1 else whole


def _cuts(path: Path, step: int, quote: bytes | None, header: bool) -> list[tuple[int, int]]:
    """(offset, lines before it) of each record boundary chosen: the first boundary at or after every
    `step` bytes; with `header`, the end of the first record comes first."""
    found: list[tuple[int, int]] = []
    target = 1 if header else step
    quotes = 0  # quote characters before `pos`
    lines = 0  # line breaks before `pos`
    pos = 0
    with open(path, "rb") as fh:
        while True:
            block = fh.read(_BLOCK)
            if not block:
                return found
            end = pos + len(block)
            i = 0  # position in the block up to which quotes and lines are counted
            while target <= end:
                nl = block.find(b"\n", max(i, target - pos - 1))
                if nl < 0:
                    break
                if quote is not None:
                    quotes += block.count(quote, i, nl)
                lines += block.count(b"\n", i, nl)
                i = nl
                if quote is None or quotes % 2 == 0:
                    cut = pos + nl + 1
                    found.append((cut, lines + 1))
                    target = cut + step
                # look at the next line break: count this one first
                lines += 1
                if quote is not None:
                    quotes += block.count(quote, nl, nl + 1)
                i = nl + 1
            if quote is not None:
                quotes += block.count(quote, i)
            lines += block.count(b"\n", i)
            pos = end


def is_json_lines(path: Path) -> bool:
    return path.name.lower().endswith(JSON_LINES_SUFFIXES)


def default_part_bytes(total_bytes: int, cpus: int) -> int:
    """About two partitions per CPU, each between 4 and 64 MiB."""
    return max(4 << 20, min(64 << 20, total_bytes // max(1, 2 * cpus)))


def file_size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0
