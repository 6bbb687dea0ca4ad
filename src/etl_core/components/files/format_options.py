"""Checks the JSON, Excel and XML components apply to their options when a job is validated.

They run again after `${...}` references are resolved (the options model is validated anew), so a path that
is only known at execution time is checked then.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import PurePath

XML_NAME = re.compile(r"^[^\W\d][\w.\-]*$")
"""An XML element or attribute name without a namespace prefix (letters, digits, `_`, `-`, `.`)."""


def is_directory_path(value: str) -> bool:
    """A filepath that names a directory of part files: a trailing `/`, or no suffix at all."""
    return value.endswith(("/", os.sep)) or not PurePath(value).suffix


def unresolved(value: str) -> bool:
    return "${" in value


def check_output_path(value: str, known: Callable[[str], bool], expected: str) -> str:
    """A writer's filepath: a file with one of the format's suffixes, or a directory of part files."""
    if unresolved(value) or is_directory_path(value) or known(value):
        return value
    raise ValueError(
        f"{value!r} must end with {expected}, or name a directory of part files (no suffix, or a trailing /)"
    )


def check_input_path(value: str, known: Callable[[str], bool], expected: str) -> str:
    """A reader's filepath: a file with one of the format's suffixes, or a directory holding such files."""
    return check_output_path(value, known, expected)


def refuse_append(mode: str, filepath: str | None, why: str) -> str:
    """`mode: append` where the format cannot grow in place is a config error on `mode`."""
    if mode == "append" and filepath is not None and not unresolved(filepath) and not is_directory_path(filepath):
        raise ValueError(
            f"'append' is not possible here: {why}; use mode 'overwrite', or a directory of part files "
            "(append adds a new part)"
        )
    return mode


def check_xml_name(value: str) -> str:
    if not XML_NAME.match(value):
        raise ValueError(f"{value!r} is not a valid XML element name")
    return value
