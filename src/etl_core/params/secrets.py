"""Where secure values live: the secret store (`SECRET_BACKEND`: `memory`, the default, or `keyring`).

Secure context parameters and credential passwords are kept here, never in the database in clear. Names are
free-form strings; the conventions `context/<context id>/<key>` and `credentials/<credentials id>/password`
(see `parameter_secret_name`, `password_secret_name`) keep the store and the context source in agreement.

The store never logs and its errors never contain a value.
"""

from __future__ import annotations

import contextlib
from typing import Any, Protocol, runtime_checkable

import anyio

from etl_core.errors import EtlError


class SecretStoreError(EtlError):
    """The secret store cannot be used (no OS keyring, a backend failure). Never carries a secret value."""

    code = "SECRET_STORE_ERROR"


@runtime_checkable
class SecretStore(Protocol):
    """Secret values by name.

    `get` returns None for an unknown name; `set` creates or replaces; `delete` of an unknown name is not an
    error. Implementations are safe to call from the event loop (blocking backends run in a worker thread).
    """

    async def get(self, name: str) -> str | None: ...
    async def set(self, name: str, value: str) -> None: ...
    async def delete(self, name: str) -> None: ...


def parameter_secret_name(context_id: str, key: str) -> str:
    """The secret name of a secure parameter `key` of context `context_id`."""
    return f"context/{context_id}/{key}"


def password_secret_name(credentials_id: str) -> str:
    """The secret name of the password of credentials `credentials_id`."""
    return f"credentials/{credentials_id}/password"


class MemorySecretStore:
    """Secrets in this process's memory (lost on restart): the default, and what tests use."""

    def __init__(self, initial: dict[str, str] | None = None) -> None:
        self._values: dict[str, str] = dict(initial or {})

    def __repr__(self) -> str:
        return f"MemorySecretStore({len(self._values)} secret(s))"

    async def get(self, name: str) -> str | None:
        return self._values.get(name)

    async def set(self, name: str, value: str) -> None:
        self._values[name] = value

    async def delete(self, name: str) -> None:
        self._values.pop(name, None)


class KeyringSecretStore:
    """Secrets in the OS keyring (Secret Service, macOS Keychain, Windows Credential Locker) under `service`.

    `backend` is a `keyring.backend.KeyringBackend`; by default the one `keyring` selects for this machine.
    Keyring calls may block (D-Bus, a locked keychain), so each runs in a worker thread.
    """

    def __init__(self, service: str = "etl-core", backend: Any = None) -> None:
        if not service:
            raise SecretStoreError("the keyring service name (SECRET_SERVICE) must not be empty")
        self.service = service
        self._backend = backend

    def __repr__(self) -> str:
        return f"KeyringSecretStore(service={self.service!r})"

    def _keyring(self) -> Any:
        if self._backend is not None:
            return self._backend
        import keyring

        return keyring.get_keyring()

    async def _call(self, action: str, name: str, fn: Any, *args: Any) -> Any:
        import keyring.errors

        def work() -> Any:
            return fn(self._keyring(), *args)

        try:
            return await anyio.to_thread.run_sync(work)
        except keyring.errors.NoKeyringError:
            raise SecretStoreError(
                "no OS keyring is available on this machine (SECRET_BACKEND=keyring); "
                "install a keyring backend or use SECRET_BACKEND=memory"
            ) from None
        except keyring.errors.KeyringError as exc:
            raise SecretStoreError(
                f"keyring {action} of secret {name!r} in service {self.service!r} failed: {type(exc).__name__}"
            ) from None

    async def get(self, name: str) -> str | None:
        value = await self._call("read", name, lambda kr: kr.get_password(self.service, name))
        return value if isinstance(value, str) else None

    async def set(self, name: str, value: str) -> None:
        await self._call("write", name, lambda kr: kr.set_password(self.service, name, value))

    async def delete(self, name: str) -> None:
        import keyring.errors

        def remove(kr: Any) -> None:
            # deleting what is not there is not an error
            with contextlib.suppress(keyring.errors.PasswordDeleteError):
                kr.delete_password(self.service, name)

        await self._call("delete", name, remove)


def create_secret_store(
    backend: str = "memory", service: str = "etl-core", *, keyring_backend: Any = None
) -> SecretStore:
    """The secret store for `SECRET_BACKEND` (`memory` or `keyring`) and `SECRET_SERVICE`."""
    kind = backend.strip().lower()
    if kind == "memory":
        return MemorySecretStore()
    if kind == "keyring":
        return KeyringSecretStore(service, keyring_backend)
    raise SecretStoreError(f"SECRET_BACKEND must be 'memory' or 'keyring', got {backend!r}")


def secret_store_from_settings(settings: Any) -> SecretStore:
    """The store named by `settings.secret_backend` / `settings.secret_service` (etl_core.settings.Settings)."""
    return create_secret_store(settings.secret_backend, settings.secret_service)
