"""Pools are shared per DSN within a process and closed when idle."""

from __future__ import annotations

import anyio

from etl_core.connectors.pools import SharedPools


class Pool:
    def __init__(self, key: str) -> None:
        self.key = key
        self.closed = False


async def test_leases_of_one_key_share_one_pool_and_other_keys_get_their_own() -> None:
    pools = SharedPools(idle_s=60)
    created: list[Pool] = []

    async def create(key: str) -> Pool:
        created.append(Pool(key))
        return created[-1]

    async def close(pool: Pool) -> None:
        pool.closed = True

    async with pools.lease("a", lambda: create("a"), close) as p1, pools.lease("a", lambda: create("a"), close) as p2:
        assert p1 is p2
        async with pools.lease("b", lambda: create("b"), close) as p3:
            assert p3 is not p1
    assert [p.key for p in created] == ["a", "b"]
    assert pools.open_count() == 2
    await pools.close_all()
    assert all(p.closed for p in created)
    assert pools.open_count() == 0


async def test_a_pool_closes_after_being_idle_unless_leased_again() -> None:
    pools = SharedPools(idle_s=0.05)
    made: list[Pool] = []

    async def create() -> Pool:
        made.append(Pool("k"))
        return made[-1]

    async def close(pool: Pool) -> None:
        pool.closed = True

    async with pools.lease("k", create, close):
        pass
    async with pools.lease("k", create, close):  # leased again before the idle timer fired
        await anyio.sleep(0.1)
    assert len(made) == 1
    assert not made[0].closed
    await anyio.sleep(0.2)
    assert made[0].closed
    assert pools.open_count() == 0


async def test_concurrent_first_leases_create_one_pool() -> None:
    pools = SharedPools(idle_s=60)
    made: list[Pool] = []

    async def create() -> Pool:
        await anyio.sleep(0.01)
        made.append(Pool("k"))
        return made[-1]

    async def close(pool: Pool) -> None:
        pool.closed = True

    async def use() -> None:
        async with pools.lease("k", create, close):
            await anyio.sleep(0.01)

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(use)
    assert len(made) == 1
    await pools.close_all()


async def test_two_postgresql_runs_share_the_pool_for_their_dsn(postgres_dsn: str) -> None:
    from etl_core.connectors.postgres import PostgresBackend

    pools = SharedPools(idle_s=60)
    seen = []
    for _ in range(2):
        backend = PostgresBackend(postgres_dsn, pools=pools)
        async with backend.reader() as session:
            cursor = await session.open_cursor("SELECT pg_backend_pid()", [], [])
            seen.append((await cursor.fetch(1))[0][0])
    assert pools.open_count() == 1
    assert seen[0] == seen[1]  # the same pooled connection served both runs
    await pools.close_all()
