"""File paths and atomic output shared by every file component."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio

from etl_core.components.base import ComponentContext


def _default_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _default_mode()


class PathNotAllowed(ValueError):
    """A path that resolves outside every allowed root."""


def resolve_data_path(value: str, data_dir: Path, allowed_roots: Sequence[Path] = ()) -> Path:
    """`value` made absolute against `data_dir`, symlinks resolved, and checked against the allowed roots."""
    if not value or not value.strip():
        raise PathNotAllowed("empty path")
    p = Path(os.path.expanduser(value))
    if not p.is_absolute():
        p = data_dir / p
    real = Path(os.path.realpath(p))
    roots = [Path(os.path.realpath(r)) for r in (data_dir, *allowed_roots)]
    if not any(real == root or real.is_relative_to(root) for root in roots):
        allowed = ", ".join(str(r) for r in roots)
        raise PathNotAllowed(f"path {value!r} resolves to {str(real)!r}, outside the allowed roots ({allowed})")
    return real


class StagedFile:
    """Output written beside its target and renamed over it only when the attempt commits.

    `async with StagedFile(ctx, target) as staged:` write to `staged.path`; on a clean exit it waits for the
    attempt's commit point and then atomically replaces the target. On an error or cancellation the
    temporary file is removed, so the target is never half-written. With `append=True` the writer appends
    to the target itself and a failure truncates it back to its original length.
    """

    def __init__(self, ctx: ComponentContext[Any], target: Path, *, append: bool = False) -> None:
        self._ctx = ctx
        self.target = target
        self.append = append
        self.path = target
        self._original_size: int | None = None
        self._tmp: Path | None = None

    async def __aenter__(self) -> StagedFile:
        await anyio.to_thread.run_sync(self._prepare)
        return self

    def _prepare(self) -> None:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        if self.append:
            self._original_size = self.target.stat().st_size if self.target.exists() else None
            self.path = self.target
            return
        fd, name = tempfile.mkstemp(dir=self.target.parent, prefix=f".{self.target.name}.", suffix=".tmp")
        os.close(fd)
        # mkstemp creates 0600; give the output the mode an ordinary new file (or the replaced one) would have
        mode = self.target.stat().st_mode & 0o777 if self.target.exists() else _FILE_MODE
        os.chmod(name, mode)
        self._tmp = Path(name)
        self.path = self._tmp

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if et is not None:
            self._discard()
            return
        try:
            await self._ctx.commit_point()
            self._publish()
        except BaseException:
            self._discard()
            raise

    def _publish(self) -> None:
        if self._tmp is not None:
            os.replace(self._tmp, self.target)
            self._tmp = None

    def _discard(self) -> None:
        # synchronous on purpose: it must run even while the task is being cancelled
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None
        elif self.append:
            if self._original_size is None:
                self.target.unlink(missing_ok=True)
            else:
                with open(self.target, "r+b") as fh:
                    fh.truncate(self._original_size)
