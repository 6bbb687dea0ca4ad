"""What an attempt reads and writes, found before anything runs: directory targets and source partitions.

Both look at the file system (blocking: run them in a worker thread). A source that names nothing readable,
or a path outside the allowed roots, is `Refused` with the component to blame.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from etl_core.components.files.json_format import READ_SUFFIXES as JSON_SUFFIXES
from etl_core.components.files.parts import names_directory
from etl_core.components.support.files import PathNotAllowed, resolve_data_path
from etl_core.errors import ComponentError, PermanentComponentError
from etl_core.graph.plan import Plan
from etl_core.runtime.bigdata.layout import Layout
from etl_core.runtime.bigdata.partitions import (
    CSV_SUFFIXES,
    EXCEL_SUFFIXES,
    XML_SUFFIXES,
    FilePart,
    SourceMissing,
    default_part_bytes,
    file_size,
    is_json_lines,
    source_files,
    split_file,
)
from etl_core.runtime.bigdata.validation import FILE_WRITERS, WHOLE_SOURCES, Role

SUFFIXES = {
    "read_csv": CSV_SUFFIXES,
    "read_json": JSON_SUFFIXES,
    "read_xml": XML_SUFFIXES,
    "read_excel": EXCEL_SUFFIXES,
}


class Refused(Exception):
    """A component cannot start: `error` is its failure."""

    def __init__(self, component: str, error: BaseException) -> None:
        super().__init__(str(error))
        self.component = component
        self.error = error


def directory_targets(plan: Plan, options: Mapping[str, Any], data_dir: Path, roots: Sequence[Path]) -> dict[str, Path]:
    """The file writers whose target is a directory of part files, with the resolved directory."""
    targets: dict[str, Path] = {}
    for node in plan.nodes.values():
        if node.comp_type not in FILE_WRITERS:
            continue
        filepath = options[node.name].filepath
        try:
            resolved = resolve_data_path(filepath, data_dir, roots)
        except PathNotAllowed as exc:
            error = PermanentComponentError(str(exc), component=node.name, stage="open")
            raise Refused(node.name, error) from None
        if names_directory(filepath, resolved):
            targets[node.name] = resolved
    return targets


def source_partitions(
    plan: Plan,
    layout: Layout,
    options: Mapping[str, Any],
    data_dir: Path,
    roots: Sequence[Path],
    *,
    cpus: int,
    part_bytes: int | None = None,
) -> dict[int, list[FilePart | None]]:
    """The partitions of every source segment, by segment index (None: the source runs whole, once)."""
    found: dict[int, list[FilePart | None]] = {}
    for segment in layout.segments:
        if layout.roles[segment.head] is not Role.SOURCE:
            continue
        name = segment.head
        try:
            found[segment.index] = _parts(plan.nodes[name].comp_type, options[name], data_dir, roots, cpus, part_bytes)
        except (SourceMissing, OSError) as exc:
            text = str(exc) if isinstance(exc, SourceMissing) else f"cannot read: {exc}"
            raise Refused(name, ComponentError(text, component=name, stage="open")) from None
    return found


def _parts(
    comp_type: str, options: Any, data_dir: Path, roots: Sequence[Path], cpus: int, part_bytes: int | None
) -> list[FilePart | None]:
    if comp_type in WHOLE_SOURCES:
        return [None]
    filepath = options.filepath
    try:
        resolved = resolve_data_path(filepath, data_dir, roots)
    except PathNotAllowed as exc:
        raise SourceMissing(str(exc)) from None
    files = source_files(filepath, resolved, SUFFIXES[comp_type], data_dir, roots)
    size = part_bytes or default_part_bytes(sum(file_size(f) for f in files), cpus)
    parts: list[FilePart | None] = []
    for f in files:
        if comp_type == "read_csv":
            quote, header, encoding = options.quotechar, options.header, options.encoding
            parts.extend(split_file(f, size, quotechar=quote, header=header, encoding=encoding))
        elif comp_type == "read_json" and is_json_lines(f):
            parts.extend(split_file(f, size, quotechar=None, header=False))
        else:
            parts.append(FilePart(str(f)))
    return parts
