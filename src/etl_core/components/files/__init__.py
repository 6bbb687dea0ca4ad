"""File components, one module per type (registered on first use: `registry.BUILTIN_MODULES`)."""
