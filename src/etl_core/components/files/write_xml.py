"""`write_xml`: records to an XML document, atomically."""

from __future__ import annotations

from pathlib import Path

from pydantic import field_validator

from etl_core.components.base import ComponentContext
from etl_core.components.files.format_options import check_output_path
from etl_core.components.files.options import WriterOptions
from etl_core.components.files.parts import FormatWriter
from etl_core.components.files.streaming import run_writer
from etl_core.components.files.xml_format import XmlWriter, xml_part_format
from etl_core.components.files.xml_options import XmlTagOptions
from etl_core.components.registry import passthrough_schemas, register


def _xml_suffix(value: str) -> bool:
    return value.lower().endswith((".xml", ".xml.gz"))


class WriteXmlOptions(WriterOptions, XmlTagOptions):
    """Options of `write_xml`: `.xml` (or `.xml.gz`), or a directory of part files. An XML document has one
    root element, so `mode: append` writes a new document that starts with the old one's content and adds
    the new records under its root (replacing the file at the end of a successful run, like an overwrite); a
    directory gets a new part instead."""

    @field_validator("filepath")
    @classmethod
    def _suffix(cls, value: str) -> str:
        return check_output_path(value, _xml_suffix, ".xml (or .xml.gz)")


@register(
    "write_xml",
    options=WriteXmlOptions,
    inputs=("in",),
    outputs=("out",),
    category="file",
    derive_schemas=passthrough_schemas,
    icon="file-xml",
    summary="Writes records as record elements under one root element; the file appears only when the whole "
    "run succeeds.",
    example={
        "name": "write_books",
        "comp_type": "write_xml",
        "filepath": "out/books.xml",
        "root_tag": "catalog",
        "record_tag": "book",
        "in_port_schemas": {
            "in": {"fields": [{"name": "title", "data_type": "string"}, {"name": "year", "data_type": "integer"}]}
        },
    },
)
async def write_xml(ctx: ComponentContext[WriteXmlOptions]) -> None:
    opts = ctx.options
    gz = opts.filepath.lower().endswith(".gz")
    schema = ctx.in_schema("in")
    target = ctx.path(opts.filepath)

    def open_writer(path: Path, append: bool) -> FormatWriter:
        # appending: `path` is a staged new document that starts with the target's (see run_writer)
        existing = target if append else None
        return XmlWriter(path, opts.root_tag, opts.record_tag, gz=gz, schema=schema, existing=existing)

    parts = xml_part_format(opts.root_tag, opts.record_tag, schema)
    append = opts.mode == "append"
    await run_writer(ctx, opts.filepath, open_writer, parts=parts, append=append, append_in_place=False)
