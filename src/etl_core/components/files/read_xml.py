"""`read_xml`: the record elements of an XML file (or a directory of them) as records, streamed."""

from __future__ import annotations

from pathlib import Path

from etl_core.components.base import ComponentContext
from etl_core.components.files.csv_format import BULK_CHUNK, ROW_CHUNK
from etl_core.components.files.options import FileOptions
from etl_core.components.files.streaming import BatchReader, directory_reader, run_reader
from etl_core.components.files.xml_format import XmlBatchReader
from etl_core.components.files.xml_options import XmlTagOptions
from etl_core.components.registry import register


class ReadXmlOptions(FileOptions, XmlTagOptions):
    """Options of `read_xml`. Every `record_tag` element that is not inside another record is a record, at
    any depth and whatever the root is called; gzip content is decompressed; a directory is read file by file
    (`.xml`, `.xml.gz`) in name order."""


@register(
    "read_xml",
    options=ReadXmlOptions,
    inputs=(),
    outputs=("out",),
    category="file",
    infers_output=True,
    icon="file-xml",
    summary="Reads the record elements of an XML file into records (children as fields, @attrs, #text), "
    "streamed; values are strings unless the schema types them.",
    example={
        "name": "read_books",
        "comp_type": "read_xml",
        "filepath": "books.xml",
        "root_tag": "catalog",
        "record_tag": "book",
        "routes": {"out": ["sink"]},
        "out_port_schemas": {
            "out": {"fields": [{"name": "title", "data_type": "string"}, {"name": "year", "data_type": "integer"}]}
        },
    },
)
async def read_xml(ctx: ComponentContext[ReadXmlOptions]) -> None:
    opts = ctx.options
    path = ctx.path(opts.filepath)
    schema = ctx.out_schema("out")
    chunk = ROW_CHUNK if ctx.row_mode else BULK_CHUNK

    def open_one(file: Path) -> BatchReader:
        return XmlBatchReader(
            file,
            schema,
            opts.record_tag,
            batch_size=ctx.batch_size,
            chunk_size=chunk,
            eager=ctx.row_mode,
            batch_bytes=ctx.batch_bytes,
        )

    await run_reader(ctx, path, directory_reader(path, (".xml", ".xml.gz"), open_one))
