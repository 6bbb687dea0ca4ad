"""Edges on their own: broadcast out ports, merging in ports, per-batch counting."""

from __future__ import annotations

import anyio

from etl_core.components.base import Batch
from etl_core.components.columns import Columns
from etl_core.observability.metrics import ComponentMetrics
from etl_core.runtime.edges import InPort, OutPort, new_stream


def metrics(name: str = "c") -> ComponentMetrics:
    return ComponentMetrics(name, "test")


async def drain(port: InPort) -> list[Batch]:
    return [batch async for batch in port]


async def test_an_out_port_hands_every_batch_to_each_edge() -> None:
    (s1, r1), (s2, r2) = new_stream(4), new_stream(4)
    m = metrics()
    out = OutPort("out", [s1, s2], m)
    batch = [{"n": 1}, {"n": 2}]

    async with out:
        await out.send(batch)
        await out.send([{"n": 3}])

    left, right = await drain(InPort("in", r1, metrics())), await drain(InPort("in", r2, metrics()))
    assert left == right == [batch, [{"n": 3}]]
    assert left[0] is batch  # shared, never copied: receivers must not mutate it
    assert (m.sent, m.batches_out) == ({"out": 3}, 2)


async def test_an_empty_batch_is_not_sent_or_counted() -> None:
    send, recv = new_stream(4)
    m = metrics()
    async with OutPort("out", [send], m) as out:
        await out.send([])

    assert await drain(InPort("in", recv, metrics())) == []
    assert (m.sent, m.batches_out) == ({"out": 0}, 0)


async def test_an_unconnected_out_port_counts_what_it_dismisses() -> None:
    m = metrics()
    out = OutPort("fail", [], m)

    await out.send([{"n": 1}, {"n": 2}])

    assert out.connected is False
    assert (m.dismissed, m.sent, m.batches_out) == (2, {"fail": 0}, 0)


async def test_an_edge_whose_receiver_stopped_is_dropped_and_the_others_still_get_data() -> None:
    (s1, r1), (s2, r2) = new_stream(1), new_stream(1)
    r1.close()
    out = OutPort("out", [s1, s2], metrics())
    got: list[Batch] = []

    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: _collect(InPort("in", r2, metrics()), got))
        async with out:
            for i in range(5):
                await out.send([{"n": i}])

    assert got == [[{"n": i}] for i in range(5)]


async def _collect(port: InPort, into: list[Batch], ended: list[bool] | None = None) -> None:
    async for batch in port:
        into.append(batch)
    if ended is not None:
        ended.append(True)


async def test_an_in_port_fed_by_several_edges_ends_when_the_last_one_closes() -> None:
    send, recv = new_stream(8)
    a, b = send.clone(), send.clone()
    send.close()
    m = metrics()
    port = InPort("in", recv, m)

    await OutPort("out", [a], metrics()).send([{"n": 1}])
    a.close()
    await OutPort("out", [b], metrics()).send([{"n": 2}, {"n": 3}])
    got: list[Batch] = []
    ended: list[bool] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(_collect, port, got, ended)
        await anyio.wait_all_tasks_blocked()
        assert got == [[{"n": 1}], [{"n": 2}, {"n": 3}]]
        assert ended == []  # one edge is still open
        b.close()

    assert ended == [True]
    assert (m.received, m.batches_in) == ({"in": 3}, 2)


async def test_a_full_edge_makes_the_sender_wait_for_the_receiver() -> None:
    send, recv = new_stream(1)
    out = OutPort("out", [send], metrics())
    port = InPort("in", recv, metrics())
    sent: list[int] = []

    async def produce() -> None:
        async with out:
            for i in range(3):
                await out.send([{"n": i}])
                sent.append(i)

    async with anyio.create_task_group() as tg:
        tg.start_soon(produce)
        await anyio.wait_all_tasks_blocked()
        # capacity 1: the first batch is buffered, the second waits for room
        assert sent == [0]
        got = await drain(port)

    assert sent == [0, 1, 2]
    assert got == [[{"n": 0}], [{"n": 1}], [{"n": 2}]]


async def test_a_columnar_batch_reaching_a_records_port_arrives_as_records() -> None:
    send, recv = new_stream(4)
    m = metrics()
    async with OutPort("out", [send], m, columnar=True) as out:
        assert out.columnar
        await out.send(Columns(["id", "city"], [[1, 2], ["Paris", None]]))

    received = await drain(InPort("in", recv, metrics()))

    assert received == [[{"id": 1, "city": "Paris"}, {"id": 2, "city": None}]]
    assert (m.sent, m.batches_out) == ({"out": 2}, 1)


async def test_a_columns_port_hands_columnar_batches_on_as_they_are() -> None:
    send, recv = new_stream(4)
    batch = Columns(["id"], [[1, 2, 3]])
    async with OutPort("out", [send], metrics(), columnar=True) as out:
        await out.send(batch)
        await out.send([{"id": 4}])
    port = InPort("in", recv, metrics())

    received = [b async for b in port.batches()]

    assert received[0] is batch
    assert received[1] == [{"id": 4}]


async def test_an_out_port_without_edges_is_never_columnar() -> None:
    assert not OutPort("out", [], metrics(), columnar=True).columnar
