"""The secret stores: in memory (default) and the OS keyring, chosen by SECRET_BACKEND."""

from __future__ import annotations

from typing import Any

import keyring.backend
import keyring.errors
import pytest

from etl_core.params.secrets import (
    KeyringSecretStore,
    MemorySecretStore,
    SecretStoreError,
    create_secret_store,
    parameter_secret_name,
    password_secret_name,
    secret_store_from_settings,
)
from etl_core.settings import load_settings


class DictKeyring(keyring.backend.KeyringBackend):
    """A complete keyring backend keeping its passwords in a dict (what an OS keyring does, in memory)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.values: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.values:
            raise keyring.errors.PasswordDeleteError("not found")
        del self.values[(service, username)]


class BrokenKeyring(DictKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("locked with the-value-never-shown")


async def test_the_memory_store_keeps_replaces_and_forgets() -> None:
    store = MemorySecretStore()
    assert await store.get("x") is None
    await store.set("x", "one")
    await store.set("x", "two")
    assert await store.get("x") == "two"
    await store.delete("x")
    await store.delete("x")
    assert await store.get("x") is None
    assert "two" not in repr(store)


async def test_the_keyring_store_uses_its_service_name() -> None:
    backend = DictKeyring()
    store = KeyringSecretStore("etl-test", backend)
    await store.set(password_secret_name("c1"), "pw-1")
    assert backend.values == {("etl-test", "credentials/c1/password"): "pw-1"}
    assert await store.get("credentials/c1/password") == "pw-1"
    assert await KeyringSecretStore("other", backend).get("credentials/c1/password") is None
    await store.delete("credentials/c1/password")
    await store.delete("credentials/c1/password")  # deleting what is not there is fine
    assert backend.values == {}


async def test_a_machine_without_a_keyring_gets_a_clear_error() -> None:
    import keyring.backends.fail

    store = KeyringSecretStore("etl-test", keyring.backends.fail.Keyring())  # type: ignore[no-untyped-call]
    with pytest.raises(SecretStoreError, match="no OS keyring is available"):
        await store.get("anything")


async def test_keyring_failures_never_carry_the_backends_message() -> None:
    store = KeyringSecretStore("etl-test", BrokenKeyring())
    with pytest.raises(SecretStoreError) as caught:
        await store.get("context/c/key")
    assert "the-value-never-shown" not in str(caught.value)
    assert "KeyringLocked" in str(caught.value)


def test_secret_backend_selects_the_store() -> None:
    assert isinstance(create_secret_store(), MemorySecretStore)
    assert isinstance(create_secret_store("KEYRING", "svc", keyring_backend=DictKeyring()), KeyringSecretStore)
    with pytest.raises(SecretStoreError, match="must be 'memory' or 'keyring'"):
        create_secret_store("vault")


def test_settings_choose_memory_by_default_and_keyring_by_name(monkeypatch: Any) -> None:
    monkeypatch.delenv("SECRET_BACKEND", raising=False)
    assert isinstance(secret_store_from_settings(load_settings()), MemorySecretStore)
    monkeypatch.setenv("SECRET_BACKEND", "keyring")
    monkeypatch.setenv("SECRET_SERVICE", "etl-prod")
    store = secret_store_from_settings(load_settings())
    assert isinstance(store, KeyringSecretStore)
    assert store.service == "etl-prod"


def test_secret_names_follow_one_convention() -> None:
    assert parameter_secret_name("ctx-1", "api_key") == "context/ctx-1/api_key"
    assert password_secret_name("cred-9") == "credentials/cred-9/password"
