"""The server's `ContextSource`: contexts and credentials mappings from the store, secrets from the secret store.

It behaves as `etl_core.params.MemoryContextSource`, the protocol's reference: None for an id that is not a
context of the asked kind, ContextLookupError (a config issue for the user, naming ids, never values) for one
that cannot serve the environment.
"""

from __future__ import annotations

from collections.abc import Mapping

from etl_core.params.context import ContextLookupError, ContextParameter, Credentials
from etl_core.params.secrets import SecretStore, parameter_secret_name, password_secret_name
from etl_core.store.base import Store


class StoreContextSource:
    def __init__(self, store: Store, secrets: SecretStore) -> None:
        self.store = store
        self.secrets = secrets

    async def parameters(self, context_id: str, environment: str) -> Mapping[str, ContextParameter] | None:
        ctx = await self.store.get_context(context_id)
        if ctx is None or ctx.kind != "context":
            return None
        if ctx.environment != environment:
            raise ContextLookupError(
                f"context {context_id!r} ({ctx.name}) belongs to environment {ctx.environment}, not to {environment}"
            )
        out: dict[str, ContextParameter] = {}
        for name, param in ctx.parameters.items():
            if param.is_secure:
                secret = await self.secrets.get(parameter_secret_name(context_id, name))
                if secret is None:
                    raise ContextLookupError(
                        f"secure parameter {name!r} of context {context_id!r} has no value in the secret store"
                    )
                param = ContextParameter(param.key, secret, param.type, True)
            out[name] = param
        return out

    async def credentials(self, context_id: str, environment: str) -> Credentials | None:
        ctx = await self.store.get_context(context_id)
        if ctx is None or ctx.kind != "credentials_mapping":
            return None
        credentials_id = ctx.credentials_ids.get(environment)
        if credentials_id is None:
            known = ", ".join(sorted(ctx.credentials_ids)) or "none"
            raise ContextLookupError(
                f"credentials mapping {context_id!r} ({ctx.name}) has no credentials for {environment} "
                f"(it has: {known})"
            )
        stored = await self.store.get_credentials(credentials_id)
        if stored is None:
            raise ContextLookupError(
                f"credentials mapping {context_id!r} names credentials {credentials_id!r} for {environment}, "
                "which do not exist"
            )
        password = await self.secrets.get(password_secret_name(credentials_id))
        return Credentials(stored.user, stored.host, stored.port, stored.database, password)
