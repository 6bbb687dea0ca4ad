"""File components. Each import registers one type."""

from etl_core.components.files import read_csv, write_csv

__all__ = ["read_csv", "write_csv"]
