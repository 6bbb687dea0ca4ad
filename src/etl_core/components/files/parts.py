"""Format writers behind one interface, and directory outputs made of part files.

A writer whose `filepath` names a directory (no suffix, a trailing `/`, or an existing directory) writes part
files into it: `part-00000.jsonl`, `part-00001.jsonl`, ... one per partition. The local engine has one
partition; a distributed runtime calls `write_part` once per partition with the same format writer classes
the local components use, so both produce the same files:

    fmt = part_format_for("write_json", options, schema)
    result = write_part(directory, index, batches, fmt)      # blocking: run it in a worker
    publish_parts(directory, fmt.suffix, keep={result.path.name})   # overwrite mode, once every part succeeded

`write_part` is atomic per part (a hidden temporary file renamed into place). Overwriting a directory
replaces its part files of that format and leaves any other file alone.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from etl_core.config.schema import Schema

Record = dict[str, Any]
RecordErrors = list[tuple[Any, str, int | None]]

_PART = re.compile(r"^part-(\d{5,})\.(.+)$")


@dataclass(slots=True)
class WriteOutcome:
    """What one `FormatWriter.write` call did: the records it wrote (the batch itself when all were written),
    the bytes it added, and the records it refused as (record, message, None)."""

    written: list[Record]
    bytes_written: int = 0
    errors: RecordErrors = field(default_factory=list)


class FormatWriter(Protocol):
    """A synchronous writer of one output file, called from one worker thread at a time.

    `write` takes a batch (never mutated) and returns what it wrote; `close` completes the document (closing
    bracket, root end tag, workbook) and closes the file; `abort` releases everything without completing it.
    """

    def write(self, batch: list[Record]) -> WriteOutcome: ...
    def close(self) -> None: ...
    def abort(self) -> None: ...


class PartFactory(Protocol):
    def __call__(self, path: Path, *, append: bool = False) -> FormatWriter: ...


@dataclass(frozen=True, slots=True)
class PartFormat:
    """How one format writes files: the part file suffix (`jsonl`, `xml`, `xlsx`) and a writer factory."""

    suffix: str
    open: PartFactory


@dataclass(slots=True)
class PartResult:
    """One written part: its final path, the records written, bytes, and the refused records."""

    path: Path
    records: int = 0
    bytes_written: int = 0
    errors: RecordErrors = field(default_factory=list)


def names_directory(filepath: str, resolved: Path) -> bool:
    """Whether a writer's `filepath` means a directory of part files."""
    return filepath.endswith(("/", os.sep)) or resolved.is_dir() or not Path(filepath).suffix


def part_name(index: int, suffix: str) -> str:
    return f"part-{index:05d}.{suffix}"


def existing_parts(directory: Path, suffix: str) -> dict[int, Path]:
    """The part files of one format in `directory`, by index."""
    found: dict[int, Path] = {}
    if not directory.is_dir():
        return found
    for entry in directory.iterdir():
        m = _PART.match(entry.name)
        if m and m.group(2) == suffix and entry.is_file():
            found[int(m.group(1))] = entry
    return found


def next_part_index(directory: Path, suffix: str) -> int:
    """The index after the highest existing part (0 for an empty or missing directory): append mode."""
    parts = existing_parts(directory, suffix)
    return max(parts) + 1 if parts else 0


def publish_parts(directory: Path, suffix: str, keep: set[str]) -> list[Path]:
    """Overwrite mode, after every new part is in place: remove the older parts of this format; returns them."""
    removed: list[Path] = []
    for path in existing_parts(directory, suffix).values():
        if path.name not in keep:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def write_part(directory: Path, index: int, batches: Iterable[list[Record]], fmt: PartFormat) -> PartResult:
    """Write one partition's batches to `directory/part-<index>.<suffix>`, atomically (blocking).

    The records go through `fmt.open` (the format's writer class) into a hidden temporary file in the same
    directory, which is renamed onto the part's name only when every batch was written and the document
    closed; on any error the temporary file is removed and the error propagates. Refused records (a value the
    format cannot hold) are returned in `errors` for the caller to route, not raised. `directory` must exist:
    it is never created here, so a part cannot reappear in a staging directory its owner has already removed.
    """
    final = directory / part_name(index, fmt.suffix)
    fd, name = tempfile.mkstemp(dir=directory, prefix=f".{final.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    result = PartResult(final)
    try:
        writer = fmt.open(tmp)
        try:
            for batch in batches:
                outcome = writer.write(batch)
                result.records += len(outcome.written)
                result.bytes_written += outcome.bytes_written
                result.errors.extend(outcome.errors)
            writer.close()
        except BaseException:
            writer.abort()
            raise
        os.chmod(tmp, _file_mode())
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return result


def _file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def part_format_for(comp_type: str, options: Any, schema: Schema | None) -> PartFormat:
    """The part format of a writer component type with its (validated) options and input schema."""
    if comp_type == "write_json":
        from etl_core.components.files.json_format import json_part_format

        return json_part_format(schema)
    if comp_type == "write_xml":
        from etl_core.components.files.xml_format import xml_part_format

        return xml_part_format(options.root_tag, options.record_tag, schema)
    if comp_type == "write_excel":
        from etl_core.components.files.excel_format import excel_part_format

        return excel_part_format(options.sheet_name, schema)
    raise ValueError(f"{comp_type!r} writes no part files")
