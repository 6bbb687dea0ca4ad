"""Helpers shared by components: values and types, nesting, files."""
