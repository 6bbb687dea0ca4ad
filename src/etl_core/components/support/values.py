"""Converting values to the schema dialect's types, one column of a batch at a time.

Sources that read text (CSV, XML) convert only the columns whose declared type is not a string, once, where
the value is produced. Columns are converted with `map` over the whole batch and fall back to value-by-value
work only when the fast path meets a value it cannot take, so the common case costs one C-level loop per column.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any

from etl_core.config.schema import FieldDef

NULL_STRINGS = frozenset({"", "na", "nan", "null", "none"})
_TRUE = frozenset({"true", "t", "1", "yes", "y"})
_FALSE = frozenset({"false", "f", "0", "no", "n"})

Converter = Callable[[Any], Any]


class ConversionError(ValueError):
    """A value that cannot take its declared type; the message names the value and the type."""


def to_integer(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise ConversionError(f"{value!r} is not an integer")
    if isinstance(value, str):
        text = value.strip()
        if "_" in text:  # Python's digit separators are not numbers in data
            raise ConversionError(f"{value!r} is not an integer")
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            raise ConversionError(f"{value!r} is not an integer") from None
        if math.isfinite(number) and number.is_integer():
            return int(number)
    raise ConversionError(f"{value!r} is not an integer")


def to_float(value: Any) -> float:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and "_" not in value:
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise ConversionError(f"{value!r} is not a float")


def to_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ConversionError(f"{value!r} is not a boolean")


def to_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _to_object(value: Any) -> Any:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except ValueError:
            raise ConversionError(f"{value!r} is not an object") from None
        if isinstance(decoded, dict):
            return decoded
    raise ConversionError(f"{value!r} is not an object")


def _to_array(value: Any) -> Any:
    if isinstance(value, list):
        return value
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except ValueError:
            raise ConversionError(f"{value!r} is not an array") from None
        if isinstance(decoded, list):
            return decoded
    raise ConversionError(f"{value!r} is not an array")


def converter_for(f: FieldDef) -> Converter:
    """A function turning one non-null value into `f`'s type (raises ConversionError)."""
    kind = f.data_type
    if kind == "integer":
        return to_integer
    if kind == "float":
        return to_float
    if kind == "boolean":
        return to_boolean
    if kind == "object":
        return _to_object
    if kind == "array":
        return _to_array
    if kind == "enum":
        allowed = frozenset(f.enum_values or ())

        def to_enum(value: Any) -> str:
            text = to_string(value)
            if text not in allowed:
                raise ConversionError(f"{value!r} is not one of {', '.join(sorted(allowed))}")
            return text

        return to_enum
    return to_string


def is_null_text(value: Any) -> bool:
    """Strings that mean null for a non-string target ("", na, nan, null, none in any case)."""
    return value is None or (isinstance(value, str) and value.strip().lower() in NULL_STRINGS)


_FAST: dict[str, Callable[[Any], Any]] = {"integer": int, "float": float}
# the spellings a boolean column usually holds, looked up in C; anything else takes the careful path
_BOOL_TEXT: dict[str, bool] = {
    spelling: value
    for word, value in (("true", True), ("false", False), ("t", True), ("f", False), ("yes", True), ("no", False))
    for spelling in (word, word.upper(), word.capitalize())
} | {"1": True, "0": False, "y": True, "n": False, "Y": True, "N": False}


def fast_text_column(values: Sequence[str], kind: str) -> list[Any] | None:
    """Text values (no nulls) converted to `kind` in one C-level pass, or None when some value is not a
    plain spelling of it (then the careful path decides, value by value)."""
    fast = _FAST.get(kind)
    if fast is not None:
        try:
            converted = list(map(fast, values))
        except (ValueError, TypeError):
            return None
        # int() and float() also take "1_000"; one C-level scan of the column rules that out
        return None if "_" in "".join(values) else converted
    if kind == "boolean":
        try:
            return list(map(_BOOL_TEXT.__getitem__, values))
        except KeyError:
            return None
    return None


def convert_text_column(values: Sequence[str | None], f: FieldDef) -> tuple[list[Any], dict[int, str]]:
    """Convert one column of text values (None = null) to `f`'s type.

    Returns the converted column and, by row index, the message of each value that could not be converted
    (those rows keep None in the column). The fast path is one `map` over the column.
    """
    kind = f.data_type
    if kind in ("string", "path"):
        return list(values), {}
    if None not in values:
        fast = fast_text_column(values, kind)  # type: ignore[arg-type]
        if fast is not None:
            return fast, {}
    conv = converter_for(f)
    out: list[Any] = []
    bad: dict[int, str] = {}
    for i, value in enumerate(values):
        if value is None:
            out.append(None)
            continue
        try:
            out.append(conv(value))
        except ConversionError as exc:
            out.append(None)
            bad[i] = f"field {f.name!r}: {exc} ({f.data_type})"
    return out, bad
