"""Parameters and secrets (job-config.md §6): `${...}` references, the secret store, contexts and credentials.

references.py  parsing `${name}` / `${env:NAME}` inside strings
secrets.py     SecretStore protocol; memory and OS keyring providers (SECRET_BACKEND)
context.py     ContextSource protocol (parameters and credentials per environment); an in-memory source
resolver.py    ParameterResolver: the executor's `resolve_options` hook
redaction.py   masking DSN passwords and secret values in messages
"""

from etl_core.params.context import (
    ContextLookupError,
    ContextParameter,
    ContextSource,
    Credentials,
    MemoryContextSource,
)
from etl_core.params.redaction import Redactor, mask_dsn, redact
from etl_core.params.references import Reference, ReferenceSyntaxError, split_references
from etl_core.params.resolver import ParameterResolver, resolve_plan
from etl_core.params.secrets import (
    KeyringSecretStore,
    MemorySecretStore,
    SecretStore,
    SecretStoreError,
    create_secret_store,
    parameter_secret_name,
    password_secret_name,
    secret_store_from_settings,
)

__all__ = [
    "ContextLookupError",
    "ContextParameter",
    "ContextSource",
    "Credentials",
    "KeyringSecretStore",
    "MemoryContextSource",
    "MemorySecretStore",
    "ParameterResolver",
    "Redactor",
    "Reference",
    "ReferenceSyntaxError",
    "SecretStore",
    "SecretStoreError",
    "create_secret_store",
    "mask_dsn",
    "parameter_secret_name",
    "password_secret_name",
    "redact",
    "resolve_plan",
    "secret_store_from_settings",
    "split_references",
]
