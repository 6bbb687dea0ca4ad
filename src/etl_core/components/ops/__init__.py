"""Data-operation components. Each import registers one type."""
