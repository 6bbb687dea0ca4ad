"""The store-backed ContextSource serves contexts and credentials mappings like the in-memory reference."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from etl_core.params.context import ContextLookupError, ContextParameter, Credentials
from etl_core.params.secrets import MemorySecretStore
from etl_core.services.contexts import StoreContextSource
from etl_core.store import ContextRecord, CredentialsRecord, Store, open_store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'etl.db'}")
    await s.open()
    yield s
    await s.close()


async def test_parameters_come_with_secure_values_from_the_secret_store(store: Store) -> None:
    secrets = MemorySecretStore({"context/c1/token": "s3cret"})
    await store.create_context(
        ContextRecord(
            "c1",
            "api",
            "DEV",
            parameters={
                "host": ContextParameter("host", "api.local"),
                "token": ContextParameter("token", None, "string", True),
            },
        )
    )
    source = StoreContextSource(store, secrets)
    params = await source.parameters("c1", "DEV")
    assert params is not None
    assert params["host"].value == "api.local"
    assert params["token"] == ContextParameter("token", "s3cret", "string", True)
    assert await source.parameters("other", "DEV") is None
    with pytest.raises(ContextLookupError, match="belongs to environment DEV, not to PROD"):
        await source.parameters("c1", "PROD")
    await secrets.delete("context/c1/token")
    with pytest.raises(ContextLookupError, match="has no value in the secret store"):
        await source.parameters("c1", "DEV")


async def test_credentials_follow_the_mapping_for_the_environment(store: Store) -> None:
    secrets = MemorySecretStore({"credentials/k1/password": "pw"})
    await store.create_credentials(CredentialsRecord("k1", "dev", "etl", "db.local", 5432, "dwh"))
    await store.create_context(ContextRecord("m1", "db", "DEV", "credentials_mapping", credentials_ids={"DEV": "k1"}))
    source = StoreContextSource(store, secrets)
    assert await source.credentials("m1", "DEV") == Credentials("etl", "db.local", 5432, "dwh", "pw")
    assert await source.credentials("c-unknown", "DEV") is None
    assert await source.parameters("m1", "DEV") is None
    with pytest.raises(ContextLookupError, match="has no credentials for PROD"):
        await source.credentials("m1", "PROD")
