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

from collections.abc import Callable
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from etl_core.components.base import Batch, ComponentContext, Inbox, Record
from etl_core.components.ops._codegen import Namespace, define, dict_display
from etl_core.components.ops._join import JoinRunner, Pair
from etl_core.components.ops._mapping_options import (
    JoinStep,
    SchemaMappingOptions,
    SourceRef,
    check_mapping_ports,
    derive_mapping_schemas,
    source_schemas,
)
from etl_core.components.ops._paths import getter, is_plain, setter
from etl_core.components.ops._spill import DEFAULT_BUDGET, MemoryBudget, SpillDir
from etl_core.components.ops._typing import OutputTyper
from etl_core.components.registry import ERROR_PORT
from etl_core.config.schema import Schema
from etl_core.errors import PermanentComponentError

Event = tuple[str, Batch | None]


def _fetch(ns: Namespace, path: str, var: str) -> str:
    """Source text reading `path` from the record in `var` (None when the record is None)."""
    if is_plain(path):
        return f"{var}.get({ns.bind(path, 'c')})"
    return f"{ns.bind(getter(path), 'g')}({var})"


class _Mapper:
    """Builds the records of one output port from the records of one source."""

    def __init__(self, rules: dict[str, SourceRef], source: str) -> None:
        ns = Namespace()
        items = [(d, _fetch(ns, r.src_path, "rec") if r.src_port == source else "None") for d, r in rules.items()]
        if all(is_plain(d) for d in rules):
            record = dict_display(ns, items)
        else:  # nested dest paths: each value is put at its path
            puts = ", ".join(f"({ns.bind(setter(d), 's')}, {expr})" for d, expr in items)
            record = f"{ns.bind(_nest_values, 'f')}(({puts},))"
        self.build = define(f"def build(batch):\n    return [{record} for rec in batch]\n", ns, "build")

    def __call__(self, batch: Batch) -> Batch:
        out: Batch = self.build(batch)
        return out


class _PairMapper:
    """Builds the records of a join output port with rules: each rule reads the left, right or joined record."""

    def __init__(self, rules: dict[str, SourceRef], step: JoinStep) -> None:
        sides = {step.left_port: "l", step.right_port: "r", step.output_port: "j"}
        ns = Namespace()
        items = []
        for dest, ref in rules.items():
            var = sides[ref.src_port]
            items.append((dest, f"({_fetch(ns, ref.src_path, var)} if {var} is not None else None)"))
        self.needs_joined = any(sides[r.src_port] == "j" for r in rules.values())
        if all(is_plain(d) for d in rules):
            record = dict_display(ns, items)
        else:
            puts = ", ".join(f"({ns.bind(setter(d), 's')}, {expr})" for d, expr in items)
            record = f"{ns.bind(_nest_values, 'f')}(({puts},))"
        source = f"""
def build(pairs, joined):
    out = []
    add = out.append
    for i, (l, r) in enumerate(pairs):
        j = None if joined is None else joined[i]
        add({record})
    return out
"""
        self.build = define(source, ns, "build")

    def __call__(self, pairs: list[Pair], joined: Batch | None) -> Batch:
        out: Batch = self.build(pairs, joined)
        return out


def _nest_values(puts: tuple[tuple[Callable[[Record, Any], None], Any], ...]) -> Record:
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
