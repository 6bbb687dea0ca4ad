"""File components. Each import registers one type."""

from etl_core.components.files import (
    read_csv,
    read_excel,
    read_json,
    read_xml,
    write_csv,
    write_excel,
    write_json,
    write_xml,
)

__all__ = ["read_csv", "read_excel", "read_json", "read_xml", "write_csv", "write_excel", "write_json", "write_xml"]
