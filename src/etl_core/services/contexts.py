"""The server's `ContextSource`: contexts and credentials mappings from the store, secrets from the secret store.

It behaves as `etl_core.params.MemoryContextSource`, the protocol's reference: None for an id that is not a
context of the asked kind, ContextLookupError (a config issue for the user, naming ids, never values) for one
that cannot serve the environment.
"""

from __future__ import annotations

from collections.abc import Mapping

from etl_core.params.context import (
    ContextParameter,
    Credentials,
    context_parameters,
    credentials_with_password,
    mapped_credentials_id,
)
from etl_core.params.secrets import SecretStore
from etl_core.store.base import Store


class StoreContextSource:
    def __init__(self, store: Store, secrets: SecretStore) -> None:
        self.store = store
        self.secrets = secrets

    async def parameters(self, context_id: str, environment: str) -> Mapping[str, ContextParameter] | None:
        ctx = await self.store.get_context(context_id)
        if ctx is None or ctx.kind != "context":
            return None
        return await context_parameters(
            self.secrets, context_id, ctx.name, ctx.environment, ctx.parameters, environment
        )

    async def credentials(self, context_id: str, environment: str) -> Credentials | None:
        ctx = await self.store.get_context(context_id)
        if ctx is None or ctx.kind != "credentials_mapping":
            return None
        credentials_id = mapped_credentials_id(context_id, ctx.name, ctx.credentials_ids, environment)
        stored = await self.store.get_credentials(credentials_id)
        return await credentials_with_password(self.secrets, context_id, credentials_id, stored, environment)
