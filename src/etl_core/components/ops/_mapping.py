"""The run of one `schema_mapping` instance: a small dataflow of sources, mappers and join steps.

Every input port is read by its own task, so all inputs are drained concurrently; the tasks hand their batches
to one loop that owns all state (join steps, output ports), which keeps output order deterministic and never
waits for a particular input. Joins buffer and spill instead of blocking, so the loop only ever waits on the
output ports (downstream backpressure), never on one input while another is full: no deadlock on diamonds.

A source (input port or join output) feeds, in this order: the join steps holding it as their right side,
the mapped output ports whose rules name it, the join steps streaming it as their left side. A record on a
source builds one record per mapped output port naming that source: every dest field of the port, the fields
of rules naming other sources null. A join output port without rules emits the joined records; with rules, the
rules pick fields from the step's left side, right side or joined record (`src_port` names which).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from etl_core.components.base import Batch, ComponentContext, Inbox, Record
from etl_core.components.ops._join import JoinRunner, Pair
from etl_core.components.ops._mapping_options import (
    JoinStep,
    SchemaMappingOptions,
    SourceRef,
    check_mapping_ports,
    derive_mapping_schemas,
    source_schemas,
)
from etl_core.components.ops._paths import KeyedGetter, is_plain, keyed_getter, setter
from etl_core.components.ops._spill import DEFAULT_BUDGET, MemoryBudget, SpillDir
from etl_core.components.ops._typing import OutputTyper
from etl_core.components.registry import ERROR_PORT
from etl_core.config.schema import Schema
from etl_core.errors import PermanentComponentError

Event = tuple[str, Batch | None]
Field = tuple[str, KeyedGetter, str]  # (dest path, get, key): the value is get(record, key)


class _Mapper:
    """Builds the records of one output port from the records of one source.

    Every dest field of the port is set, in rule order; the fields of rules naming another source are None.
    A record is filled field by field: one assignment per field, cheaper than a dict comprehension or
    `dict(zip(...))` per record.
    """

    def __init__(self, rules: dict[str, SourceRef], source: str) -> None:
        self._fields: tuple[Field, ...] = tuple(
            (dest, *keyed_getter(ref.src_path)) if ref.src_port == source else (dest, _none, "")
            for dest, ref in rules.items()
        )
        self._nest = None if all(is_plain(d) for d in rules) else _nester(self._fields)

    def __call__(self, batch: Batch) -> Batch:
        if self._nest is not None:
            return list(map(self._nest, batch))
        fields = self._fields
        out: Batch = []
        add = out.append
        for source in batch:
            record: Record = {}
            for dest, get, key in fields:
                record[dest] = get(source, key)
            add(record)
        return out


class _PairMapper:
    """Builds the records of a join output port with rules: each rule reads the left, right or joined record."""

    def __init__(self, rules: dict[str, SourceRef], step: JoinStep) -> None:
        side_of = {step.left_port: 0, step.right_port: 1, step.output_port: 2}  # a self-join reads the right
        self._fields = tuple((dest, side_of[ref.src_port], *keyed_getter(ref.src_path)) for dest, ref in rules.items())
        self.needs_joined = any(side == 2 for _, side, _, _ in self._fields)
        self._puts = None if all(is_plain(d) for d in rules) else tuple(setter(dest) for dest in rules)

    def __call__(self, pairs: list[Pair], joined: Batch | None) -> Batch:
        fields, puts = self._fields, self._puts
        out: Batch = []
        add = out.append
        for (left, right), whole in zip(pairs, [None] * len(pairs) if joined is None else joined, strict=True):
            # an absent side (the unmatched row of an outer join) reads as an empty record: None for its fields
            sides = (
                _NO_RECORD if left is None else left,
                _NO_RECORD if right is None else right,
                _NO_RECORD if whole is None else whole,
            )
            record: Record = {}
            for dest, side, get, key in fields:
                record[dest] = get(sides[side], key)
            # nested dest paths: the flat record holds the values in rule order, each is put at its path
            add(record if puts is None else _nest_values(zip(puts, record.values(), strict=True)))
        return out


_NO_RECORD: Record = {}  # read-only: getters never write to the record they read


def _none(record: Record, key: str) -> None:
    return None


def _nester(fields: tuple[Field, ...]) -> Callable[[Record], Record]:
    """A record builder putting each field's value at its dotted dest path (creating nested objects)."""
    puts = tuple((setter(dest), get, key) for dest, get, key in fields)

    def nest(record: Record) -> Record:
        built: Record = {}
        for put, get, key in puts:
            put(built, get(record, key))
        return built

    return nest


def _nest_values(puts: Iterable[tuple[Callable[[Record, Any], None], Any]]) -> Record:
    built: Record = {}
    for put, value in puts:
        put(built, value)
    return built


class MappingRun:
    """One attempt's state of a schema_mapping component."""

    def __init__(self, ctx: ComponentContext[SchemaMappingOptions]) -> None:
        self.ctx = ctx
        opts = ctx.options
        outputs = [p for p in ctx.outputs if p != ERROR_PORT]
        problems = check_mapping_ports(opts, list(ctx.inputs), outputs)
        if problems:
            text = "; ".join(f"{path}: {message}" for path, message in problems)
            raise PermanentComponentError(text, component=ctx.name, stage="open")
        in_schemas = {p: ctx.in_schema(p) for p in ctx.inputs}
        self.known = source_schemas(opts, in_schemas)
        derived = derive_mapping_schemas(opts, in_schemas, outputs)
        self.typers = {p: OutputTyper(ctx.out_schema(p), known=derived.get(p)) for p in outputs}
        self.projections = {p: self._projection(p, derived.get(p)) for p in outputs}
        limit = opts.join_memory_bytes
        if limit is None:
            limit = int(ctx.resources.get("join_memory_bytes", DEFAULT_BUDGET))
        self.spill_dir = SpillDir(ctx.resources.get("spill_dir"))
        self.budget = MemoryBudget(limit, self.spill_dir)

        self.right_of: dict[str, list[JoinRunner]] = {}
        self.left_of: dict[str, list[JoinRunner]] = {}
        self.mappers: dict[str, list[tuple[str, _Mapper]]] = {}
        self.steps: dict[JoinRunner, tuple[JoinStep, _PairMapper | None]] = {}
        joined_ports = {s.output_port for s in opts.join_plan.steps}
        for number, step in enumerate(opts.join_plan.steps):
            runner = JoinRunner(
                number=number,
                left_on=step.left_on,
                right_on=step.right_on,
                how=step.how,
                left_cols=_names(self.known.get(step.left_port)),
                right_cols=_names(self.known.get(step.right_port)),
                budget=self.budget,
                emit=self._emit_joined,
                finished=self._step_finished,
                batch_size=ctx.batch_size,
            )
            rules = opts.rules_by_dest.get(step.output_port)
            self.steps[runner] = (step, _PairMapper(rules, step) if rules else None)
            runner.pairs_wanted = bool(rules)
            self.right_of.setdefault(step.right_port, []).append(runner)
            self.left_of.setdefault(step.left_port, []).append(runner)
        for port, rules in opts.rules_by_dest.items():
            if port in joined_ports:
                continue
            for source in dict.fromkeys(r.src_port for r in rules.values()):
                self.mappers.setdefault(source, []).append((port, _Mapper(rules, source)))

    def _projection(self, port: str, derived: Schema | None) -> list[str] | None:
        """The declared field names when they differ from what the port's records carry (joins only)."""
        declared = self.ctx.out_schema(port)
        if declared is None or port in self.ctx.options.rules_by_dest:
            return None
        if derived is not None and derived.names() == declared.names():
            return None
        return declared.names()

    async def run(self) -> None:
        ctx = self.ctx
        send, receive = anyio.create_memory_object_stream[Event](max(1, len(ctx.inputs)))
        try:
            async with anyio.create_task_group() as tg:
                for port, inbox in ctx.inputs.items():
                    tg.start_soon(_read, port, inbox, send.clone())
                send.close()
                async with receive:
                    async for source, batch in receive:
                        if batch is None:
                            await self.on_end(source)
                        else:
                            await self.on_batch(source, batch)
            for outbox in ctx.outputs.values():
                await outbox.aclose()
        finally:
            for runner in self.steps:
                runner.close()
            with anyio.CancelScope(shield=True):  # spill files go, also when the run is cancelled
                await anyio.to_thread.run_sync(self.spill_dir.remove)

    # -- the dataflow -----------------------------------------------------------------------------------------
    async def on_batch(self, source: str, batch: Batch) -> None:
        for runner in self.right_of.get(source, ()):
            await runner.add_right(batch)
        for port, mapper in self.mappers.get(source, ()):
            await self._send(port, mapper(batch))
        for runner in self.left_of.get(source, ()):
            await runner.add_left(batch)

    async def on_end(self, source: str) -> None:
        for runner in self.right_of.get(source, ()):
            await runner.end_right()
        for runner in self.left_of.get(source, ()):
            await runner.end_left()

    async def _emit_joined(self, runner: JoinRunner, pairs: list[Pair] | None, joined: Batch | None) -> None:
        step, pair_mapper = self.steps[runner]
        port = step.output_port
        downstream = port in self.right_of or port in self.left_of or port in self.mappers
        has_port = port in self.ctx.outputs
        if joined is None and pairs is not None:
            needs_joined = downstream or (has_port and (pair_mapper is None or pair_mapper.needs_joined))
            joined = runner.combine(pairs) if needs_joined else None
        if has_port:
            if pair_mapper is not None:
                assert pairs is not None
                await self._send(port, pair_mapper(pairs, joined))
            else:
                assert joined is not None
                names = self.projections.get(port)
                records = joined if names is None else [{n: r.get(n) for n in names} for r in joined]
                await self._send(port, records)
        if downstream and joined is not None:
            await self.on_batch(port, joined)

    async def _step_finished(self, runner: JoinRunner) -> None:
        step, _ = self.steps[runner]
        await self.on_end(step.output_port)

    async def _send(self, port: str, records: Batch) -> None:
        if not records:
            return
        typer = self.typers[port]
        if typer.active:
            records, errors = typer.apply(records)
            if errors:
                await self.ctx.record_errors(errors)
        await self.ctx.outputs[port].send(records)


async def _read(port: str, inbox: Inbox, send: MemoryObjectSendStream[Event]) -> None:
    async with inbox, send:
        async for batch in inbox:
            await send.send((port, batch))
        await send.send((port, None))


def _names(schema: Schema | None) -> list[str] | None:
    return None if schema is None else schema.names()
