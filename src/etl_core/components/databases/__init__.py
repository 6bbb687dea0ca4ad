"""Database components. Each import registers one type."""
