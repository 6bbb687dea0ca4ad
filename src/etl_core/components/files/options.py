"""Options shared by file components."""

from __future__ import annotations

import codecs
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from etl_core.components.base import ComponentOptions


class FileOptions(ComponentOptions):
    """A component that reads or writes one file."""

    path_fields: ClassVar[tuple[str, ...]] = ("filepath",)
    filepath: str = Field(
        min_length=1, description="file path, absolute or relative to the data directory (ETL_DATA_DIR)"
    )


class WriterOptions(FileOptions):
    """A file writer: atomic by default, or appending."""

    mode: Literal["overwrite", "append"] = Field(
        "overwrite", description="overwrite: the file is replaced atomically on success; append: rows are added"
    )


class CsvDialectOptions(ComponentOptions):
    """The CSV dialect options both CSV components take."""

    separator: str = Field(",", description="field separator, any single character")
    quotechar: str = Field('"', description="quote character (RFC 4180 doubling inside quotes)")
    encoding: str = Field("utf-8", description="text encoding of the file")
    header: bool = Field(True, description="the first row holds the field names")
    null_value: str = Field("", description="the text that means null (an empty field is null by default)")

    @field_validator("separator", "quotechar")
    @classmethod
    def _single_char(cls, value: str) -> str:
        if len(value) != 1:
            raise ValueError(f"must be exactly one character, got {value!r}")
        if value in ("\n", "\r"):
            raise ValueError("a line break cannot be a separator or quote character")
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}") from None
        return value
