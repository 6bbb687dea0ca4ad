"""File paths and atomic output shared by every file component."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio

from etl_core.components.base import ComponentContext
from etl_core.errors import ComponentError, PermanentComponentError


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


# failures that the same run meets again on every attempt: no retry can fix a read-only directory
_PERMANENT = {errno.EACCES, errno.EPERM, errno.EISDIR, errno.ENOTDIR, errno.EEXIST, errno.EROFS, errno.ENAMETOOLONG}


def output_error(target: Path, exc: OSError, *, stage: str = "write") -> ComponentError:
    """An OS error met while producing `target`, as a component error that names the target (not a hidden
    temporary file) and says what went wrong; permanent (not retried) when a retry cannot fix it."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        blocker = _file_in_the_way(target.parent)
        if blocker is not None:
            reason = f"{str(blocker)!r} is a file, not a directory"
    elif isinstance(exc, PermissionError) and exc.filename:
        denied = Path(exc.filename)
        where = denied if denied == target else denied.parent
        reason = f"permission denied on {str(where)!r}"
    cls = PermanentComponentError if exc.errno in _PERMANENT else ComponentError
    return cls(f"cannot write {str(target)!r}: {reason}", stage=stage)


def _file_in_the_way(directory: Path) -> Path | None:
    """The nearest ancestor of `directory` (itself included) that exists and is not a directory."""
    for p in (directory, *directory.parents):
        if p.exists():
            return None if p.is_dir() else p
    return None


class StagedFile:
    """Output written beside its target and renamed over it only when the attempt commits.

    `async with StagedFile(ctx, target) as staged:` write to `staged.path`; on a clean exit it waits for the
    attempt's commit point and then atomically replaces the target. On an error or cancellation the
    temporary file is removed, so the target is never half-written. With `append=True` the writer appends
    to the target itself and a failure truncates it back to its original length.

    A target that cannot be written (a directory of that name, a file where a directory must be, no
    permission) fails before anything is written, and an OS error while writing (a full disk) leaves as a
    `ComponentError` naming the target: the message never shows the temporary file or a bare errno.
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
        if self.target.is_dir():
            raise PermanentComponentError(
                f"cannot write {str(self.target)!r}: it is a directory (a writer needs a file name here)",
                stage="open",
            )
        try:
            self._stage()
        except OSError as exc:
            raise output_error(self.target, exc, stage="open") from None

    def _stage(self) -> None:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        if self.append:
            self._original_size = self.target.stat().st_size if self.target.exists() else None
            self.path = self.target
            return
        fd, name = tempfile.mkstemp(dir=self.target.parent, prefix=f".{self.target.name}.", suffix=".tmp")
        os.close(fd)
        self._tmp = Path(name)
        self.path = self._tmp

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if et is not None:
            self._discard()
            if isinstance(ev, OSError):
                # raised by the writer while producing the output: name the target, not the temporary file
                raise output_error(self.target, ev) from ev
            return
        try:
            await self._ctx.commit_point()
            self._publish()
        except OSError as exc:
            self._discard()
            raise output_error(self.target, exc, stage="commit") from exc
        except BaseException:
            self._discard()
            raise

    def _publish(self) -> None:
        if self._tmp is not None:
            # mkstemp creates 0600; give the output the mode an ordinary new file (or the replaced one) would
            # have, only now: a read-only mode taken from the replaced file must not stop the writer writing
            mode = self.target.stat().st_mode & 0o777 if self.target.exists() else _FILE_MODE
            os.chmod(self._tmp, mode)
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
            elif self._grown():
                with open(self.target, "r+b") as fh:
                    fh.truncate(self._original_size)

    def _grown(self) -> bool:
        """Whether the appended-to target is longer than it was (a target that could not even be opened for
        appending, a read-only file, is left alone instead of being opened again to truncate it)."""
        try:
            return self.target.stat().st_size != self._original_size
        except OSError:
            return False
