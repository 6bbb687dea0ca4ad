"""Options both XML components take."""

from __future__ import annotations

from pydantic import Field, field_validator

from etl_core.components.base import ComponentOptions
from etl_core.components.files.format_options import check_xml_name


class XmlTagOptions(ComponentOptions):
    """The element names of an XML file of records."""

    root_tag: str = Field("rows", description="the document's root element (written; any root is read)")
    record_tag: str = Field("row", description="the element that holds one record")

    @field_validator("root_tag", "record_tag")
    @classmethod
    def _xml_name(cls, value: str) -> str:
        return check_xml_name(value)
