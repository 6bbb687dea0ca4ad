"""One join step of schema_mapping: the right side is built (spilling past the budget), the left side streams.

Until its right side has ended, a step keeps the left batches that arrive in a spool (memory, then disk), so
the component can always go on reading every input: a graph that splits and joins again cannot deadlock on it.
Once the right side is complete, the spooled left batches are joined in order, then the rest streams through.

Output order: left input order, each left row followed by its matches in right input order; for right and
outer joins, the unmatched right rows follow in right input order. Null keys never match.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

from etl_core.components.base import Batch, Record
from etl_core.components.ops._paths import column, is_plain
from etl_core.components.ops._spill import BatchSpool, MemoryBudget, RightStore, join_key

How = Literal["inner", "left", "right", "outer"]
Pair = tuple[Record | None, Record | None]
KEY, LEFT, RIGHT = 0, 1, 2


def join_layout(left_cols: list[str], right_cols: list[str], left_on: str, right_on: str) -> list[tuple[str, int, str]]:
    """Output columns as (name, side, source column): the key once when both sides name it alike, then the
    left's other columns, then the right's; a name on both sides gets `_x` (left) and `_y` (right)."""
    shared = left_on == right_on and is_plain(left_on)
    left_rest = [c for c in left_cols if not (shared and c == left_on)]
    right_rest = [c for c in right_cols if not (shared and c == right_on)]
    clash = set(left_rest) & set(right_rest)
    layout: list[tuple[str, int, str]] = [(left_on, KEY, left_on)] if shared else []
    layout += [(f"{c}_x" if c in clash else c, LEFT, c) for c in left_rest]
    layout += [(f"{c}_y" if c in clash else c, RIGHT, c) for c in right_rest]
    return layout


class JoinRunner:
    """The state of one join step during a run."""

    def __init__(
        self,
        *,
        number: int,
        left_on: str,
        right_on: str,
        how: How,
        left_cols: list[str] | None,
        right_cols: list[str] | None,
        budget: MemoryBudget,
        emit: Callable[[JoinRunner, list[Pair] | None, Batch | None], Awaitable[None]],
        finished: Callable[[JoinRunner], Awaitable[None]],
        batch_size: int,
    ) -> None:
        self.number = number
        self.left_on = left_on
        self.right_on = right_on
        self.left_keys = column(left_on)
        self.keep_left = how in ("left", "outer")
        self.keep_right = how in ("right", "outer")
        self._left_cols = left_cols
        self._right_cols = right_cols
        self.store = RightStore(column(right_on), budget, f"step{number}-right")
        self.spool = BatchSpool(budget, f"step{number}-left")
        self._emit = emit
        self._finished = finished
        self._batch_size = max(1, batch_size)
        self.right_done = False
        self.left_done = False
        self.done = False
        self._names: list[str] | None = None
        self._builders: _Builders | None = None
        # whether the owner wants (left, right) pairs (to map them) rather than joined records
        self.pairs_wanted = True

    # -- the two inputs ---------------------------------------------------------------------------------------
    async def add_right(self, batch: Batch) -> None:
        await self.store.add(batch)

    async def end_right(self) -> None:
        self.right_done = True
        async for batch in self.spool.drain():
            await self._join(batch)
        if self.left_done:
            await self._finish()

    async def add_left(self, batch: Batch) -> None:
        if self.right_done:
            await self._join(batch)
        else:
            await self.spool.append(batch)

    async def end_left(self) -> None:
        self.left_done = True
        if self.right_done:
            await self._finish()

    def close(self) -> None:
        self.store.close()
        self.spool.close()

    # -- matching ---------------------------------------------------------------------------------------------
    async def _join(self, batch: Batch) -> None:
        if self.store.spilled:
            await self._join_spilled(batch)
            return
        flags = self.store.matched_flags() if self.keep_right else None
        keys = self.left_keys(batch)
        index, rows = self.store.index, self.store.rows
        if self.pairs_wanted:
            await self._send(self._matcher()(batch, keys, index, rows, flags, self.keep_left), None)
        else:
            # the common case: the joined records are built in the same loop, without pairs in between
            self._ensure_layout(batch[0] if batch else None)
            assert self._builders is not None
            await self._send(None, self._builders.join_rows(batch, keys, index, rows, flags, self.keep_left))

    async def _join_spilled(self, batch: Batch) -> None:
        keys = list(map(join_key, self.left_keys(batch)))
        found = await self.store.probe(keys)
        pairs: list[Pair] = []
        matched: list[int] = []
        for left, key in zip(batch, keys, strict=True):
            hits = found.get(key) if key is not None else None
            if not hits:
                if self.keep_left:
                    pairs.append((left, None))
                continue
            for seq, right in hits:
                pairs.append((left, right))
                matched.append(seq)
        if self.keep_right:
            await self.store.mark_matched(matched)
        await self._send_pairs(pairs)

    async def _finish(self) -> None:
        if self.done:
            return
        self.done = True
        if self.keep_right:
            async for rows in self.store.unmatched(self._batch_size):
                await self._send_pairs([(None, right) for right in rows])
        self.close()
        await self._finished(self)

    async def _send_pairs(self, pairs: list[Pair]) -> None:
        if self.pairs_wanted:
            await self._send(pairs, None)
        else:
            await self._send(None, self.combine(pairs))

    async def _send(self, pairs: list[Pair] | None, records: Batch | None) -> None:
        size = self._batch_size
        items: list[Any] = pairs if pairs is not None else records or []
        for start in range(0, len(items), size):
            chunk = items[start : start + size]
            await self._emit(self, chunk if pairs is not None else None, chunk if pairs is None else None)

    def _matcher(self) -> Callable[..., list[Pair]]:
        return _match_pairs

    # -- output records ---------------------------------------------------------------------------------------
    def _ensure_layout(self, first_left: Record | None) -> None:
        if self._builders is not None:
            return
        left_cols = self._left_cols
        if left_cols is None:
            left_cols = list(first_left) if first_left is not None else []
        right_cols = self._right_cols
        if right_cols is None:
            right_cols = list(self.store.first) if self.store.first is not None else []
        layout = join_layout(left_cols, right_cols, self.left_on, self.right_on)
        self._names = [name for name, _, _ in layout]
        self._builders = _Builders(layout, self.right_on)

    @property
    def columns(self) -> list[str] | None:
        """The output column names, once the first output has fixed them."""
        return self._names

    def combine(self, pairs: list[Pair]) -> Batch:
        """The joined records of matched and unmatched pairs."""
        if self._builders is None:
            self._ensure_layout(next((left for left, _ in pairs if left is not None), None))
        assert self._builders is not None
        out: Batch = self._builders.combine(pairs)
        return out


def _match_pairs(
    batch: Batch, keys: list[Any], index: dict[Any, Any], rows: list[Record], flags: bytearray | None, keep_left: bool
) -> list[Pair]:
    pairs: list[Pair] = []
    add = pairs.append
    for left, key in zip(batch, keys, strict=True):
        if type(key) is not str and type(key) is not int:
            key = join_key(key)
        hit = None if key is None else index.get(key)
        if hit is None:
            if keep_left:
                add((left, None))
        elif isinstance(hit, int):
            add((left, rows[hit]))
            if flags is not None:
                flags[hit] = 1
        else:
            for seq in hit:
                add((left, rows[seq]))
                if flags is not None:
                    flags[seq] = 1
    return pairs


class _Builders:
    """The joined records of one layout.

    `combine(pairs)` builds them from (left, right) pairs; `join_rows(...)` looks the keys up and builds them in
    one loop, which saves a tuple per output row on the hot path. A record is filled column by column in layout
    order (an absent side's columns get None): one assignment per column, cheaper than `dict(zip(...))` or a
    dict comprehension per record, and like a dict display the later of two columns with one name wins.
    """

    def __init__(self, layout: list[tuple[str, int, str]], right_on: str) -> None:
        # join_layout lists the key and left columns first, so filling left then right keeps the layout order
        sides = [side for _, side, _ in layout]
        assert sides == sorted(sides)  # KEY < LEFT < RIGHT
        self._left = tuple((name, source) for name, side, source in layout if side != RIGHT)
        self._right = tuple((name, source) for name, side, source in layout if side == RIGHT)
        self._right_names = tuple(name for name, _ in self._right)
        # a right-only row takes the shared key's value from the right side; its other left columns are None
        self._left_of_right_only = tuple(
            (name, right_on if side == KEY else None) for name, side, _ in layout if side != RIGHT
        )

    def combine(self, pairs: list[Pair]) -> Batch:
        get = dict.get
        left_columns, right_columns = self._left, self._right
        out: Batch = []
        add = out.append
        for left, right in pairs:
            record: Record = {}
            if left is not None:
                for name, source in left_columns:
                    record[name] = get(left, source)
            else:
                assert right is not None
                for name, from_right in self._left_of_right_only:
                    record[name] = None if from_right is None else get(right, from_right)
            if right is not None:
                for name, source in right_columns:
                    record[name] = get(right, source)
            else:
                for name in self._right_names:
                    record[name] = None
            add(record)
        return out

    def join_rows(
        self,
        batch: Batch,
        keys: Sequence[Any],
        index: dict[Any, Any],
        rows: list[Record],
        flags: bytearray | None,
        keep_left: bool,
    ) -> Batch:
        get = dict.get
        left_columns, right_columns, right_names = self._left, self._right, self._right_names
        out: Batch = []
        add = out.append
        for left, key in zip(batch, keys, strict=True):
            if key.__class__ is not str and key.__class__ is not int:
                key = join_key(key)
            hit = None if key is None else index.get(key)
            if hit is None and not keep_left:
                continue
            record: Record = {}
            for name, source in left_columns:
                record[name] = get(left, source)
            if hit is None:
                for name in right_names:
                    record[name] = None
                add(record)
            elif hit.__class__ is int:
                if flags is not None:
                    flags[hit] = 1
                right = rows[hit]
                for name, source in right_columns:
                    record[name] = get(right, source)
                add(record)
            else:
                for seq in hit:
                    if flags is not None:
                        flags[seq] = 1
                    right = rows[seq]
                    each = record.copy()  # the left columns, filled once per left row
                    for name, source in right_columns:
                        each[name] = get(right, source)
                    add(each)
        return out
