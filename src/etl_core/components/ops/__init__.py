"""Data-operation components. Each import registers one type."""

from etl_core.components.ops import aggregation, filter, merge, schema_mapping, split, type_conversion

__all__ = ["aggregation", "filter", "merge", "schema_mapping", "split", "type_conversion"]
