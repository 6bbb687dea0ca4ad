"""Resolving `${...}` references and database credentials in component options, per execution environment.

    resolver = ParameterResolver(context_source, environ=os.environ)
    await resolver.prepare(plan, "PROD")            # every issue at once, as a ConfigError
    RunOptions(resolve_options=resolver, ...)       # the executor calls resolver(node, "PROD") per attempt

`prepare` does the asynchronous work (contexts, credentials and secrets are fetched once per execution); the
call itself is synchronous, as the executor's hook is. For each component:

- every string option (nested ones too: `params.since`) has its `${name}` references replaced from the
  component's context, then the job's context, and `${env:NAME}` from the process environment;
- a component whose options model declares `dsn_scheme` (PostgreSQL, MariaDB) and has no `dsn` gets one built
  from the credentials its `context_id` mapping names for the environment;
- the options are validated again, and the secure values that went into them are handed to the model's
  `_secret_values` private attribute when it declares one, so the component can mask them in its messages.

An unresolved reference is a ConfigError whose ConfigIssue names the component and the option path; no issue
message ever contains a resolved value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from etl_core.errors import ConfigError, ConfigIssue
from etl_core.observability import logging as etl_logging
from etl_core.params.context import ContextLookupError, ContextParameter, ContextSource, Credentials
from etl_core.params.references import Reference, ReferenceSyntaxError, split_references, substitute, walk_strings

if TYPE_CHECKING:
    from etl_core.graph.plan import Plan, PlanNode

SECRET_VALUES_ATTR = "_secret_values"

# the server's own secrets must not be readable by whoever may write a job
DENIED_ENV_PREFIXES: tuple[str, ...] = ("ETL_AUTH_", "ETL_DB_URL")
# environment values under such names are treated as secrets (masked in messages)
_SECRETISH_ENV = re.compile(r"PASS|PWD|SECRET|TOKEN|KEY|CREDENTIAL|AUTH", re.I)


class ParameterResolver:
    """Resolves options for one or more executions; usable as `RunOptions.resolve_options` after `prepare`."""

    def __init__(self, source: ContextSource | None = None, *, environ: Mapping[str, str] | None = None) -> None:
        self.source = source
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self._resolved: dict[str, dict[str, Any]] = {}

    async def prepare(self, plan: Plan, environment: str) -> None:
        """Resolve every component of `plan` for `environment`; raise ConfigError listing every issue."""
        run = _Resolution(self, plan, environment)
        resolved = await run.resolve()
        self._resolved[environment] = resolved

    def __call__(self, node: PlanNode, environment: str) -> Any:
        """The resolved options of `node` (the executor hook); `prepare` must have run for `environment`."""
        table = self._resolved.get(environment)
        if table is None or node.name not in table:
            raise ConfigError(
                [
                    ConfigIssue(
                        f"components[{node.index}]",
                        f"options were not resolved for environment {environment} (ParameterResolver.prepare "
                        "was not called for this plan)",
                        node.name,
                    )
                ]
            )
        return table[node.name]


async def resolve_plan(
    plan: Plan, environment: str, source: ContextSource | None = None, *, environ: Mapping[str, str] | None = None
) -> ParameterResolver:
    """A resolver prepared for `plan` in `environment` (shorthand for the two calls)."""
    resolver = ParameterResolver(source, environ=environ)
    await resolver.prepare(plan, environment)
    return resolver


class _Resolution:
    """One plan in one environment: contexts fetched once, issues collected for every component."""

    def __init__(self, owner: ParameterResolver, plan: Plan, environment: str) -> None:
        self.source = owner.source
        self.environ = owner.environ
        self.plan = plan
        self.environment = environment
        self.issues: list[ConfigIssue] = []
        self._params: dict[str, Mapping[str, ContextParameter] | ContextLookupError | None] = {}
        self._creds: dict[str, Credentials | ContextLookupError | None] = {}

    async def resolve(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for node in self.plan.nodes.values():
            resolved = await self._node(node)
            if resolved is not None:
                out[node.name] = resolved
        if self.issues:
            raise ConfigError(self.issues)
        return out

    def _issue(self, node: PlanNode, path: str, message: str) -> None:
        where = f"components[{node.index}]" + (f".{path}" if path else "")
        self.issues.append(ConfigIssue(where, message, node.name))

    # -- contexts ---------------------------------------------------------------------------------
    async def _parameters(self, context_id: str) -> Mapping[str, ContextParameter] | ContextLookupError | None:
        if context_id not in self._params:
            assert self.source is not None
            try:
                self._params[context_id] = await self.source.parameters(context_id, self.environment)
            except ContextLookupError as exc:
                self._params[context_id] = exc
        return self._params[context_id]

    async def _credentials(self, context_id: str) -> Credentials | ContextLookupError | None:
        if context_id not in self._creds:
            assert self.source is not None
            try:
                self._creds[context_id] = await self.source.credentials(context_id, self.environment)
            except ContextLookupError as exc:
                self._creds[context_id] = exc
        return self._creds[context_id]

    def _no_source(self, node: PlanNode, context_id: str, path: str) -> bool:
        if self.source is None:
            self._issue(node, path, f"context {context_id!r} cannot be resolved: no context store is configured")
            return True
        return False

    async def _lookup(self, node: PlanNode, ref: Reference, path: str) -> tuple[str, bool] | None:
        """(value, is_secret) of one reference, or None after recording why it is unresolved."""
        if ref.kind == "env":
            if any(ref.name.startswith(p) for p in DENIED_ENV_PREFIXES):
                self._issue(node, path, f"{ref} may not be referenced: it is one of the server's own secrets")
                return None
            value = self.environ.get(ref.name)
            if value is None:
                self._issue(node, path, f"unresolved reference {ref}: environment variable {ref.name} is not set")
                return None
            return value, bool(_SECRETISH_ENV.search(ref.name))
        tried: list[str] = []
        for label, context_id in (("component", node.config.context_id), ("job", self.plan.job.context_id)):
            if not context_id or context_id in tried:
                continue
            tried.append(context_id)
            if self._no_source(node, context_id, path):
                return None
            params = await self._parameters(context_id)
            if isinstance(params, ContextLookupError):
                self._issue(node, path, f"unresolved reference {ref}: {params}")
                return None
            if params is None:
                if await self._credentials(context_id) is None:
                    self._issue(
                        node, path, f"unresolved reference {ref}: the {label}'s context {context_id!r} does not exist"
                    )
                    return None
                continue  # a credentials mapping holds no parameters
            if ref.name in params:
                param = params[ref.name]
                return param.text(), param.is_secure
        if not tried:
            self._issue(node, path, f"unresolved reference {ref}: neither the component nor the job names a context_id")
        else:
            names = " or ".join(repr(c) for c in tried)
            env = self.environment
            self._issue(
                node, path, f"unresolved reference {ref}: no parameter {ref.name!r} in context {names} for {env}"
            )
        return None

    # -- one component ----------------------------------------------------------------------------
    async def _node(self, node: PlanNode) -> Any:
        options = node.options
        before = len(self.issues)
        secrets: set[str] = set()
        data: dict[str, Any] = options.model_dump(round_trip=True) if hasattr(options, "model_dump") else {}
        found: list[tuple[str, list[str | Reference]]] = []

        def collect(path: str, text: str) -> str:
            if "${" in text:
                try:
                    found.append((path, split_references(text)))
                except ReferenceSyntaxError as exc:
                    self._issue(node, path, str(exc))
            return text

        walk_strings(data, collect)
        values: dict[str, str] = {}
        for path, parts in found:
            refs: dict[Reference, str] = {}
            for part in parts:
                if isinstance(part, Reference) and part not in refs:
                    got = await self._lookup(node, part, path)
                    if got is not None:
                        refs[part] = got[0]
                        if got[1]:
                            secrets.add(got[0])
            if all(p in refs for p in parts if isinstance(p, Reference)):
                values[path] = substitute(parts, refs)
        changed = bool(values)
        if changed:
            data = walk_strings(data, lambda path, text: values.get(path, text))
        if await self._connection(node, data, secrets):
            changed = True
        if len(self.issues) > before:
            return None
        if not changed:
            return options
        try:
            resolved = type(options).model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"])
                msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
                self._issue(node, loc, f"after resolving references: {msg}")
            return None
        etl_logging.remember_secrets(secrets)  # masked in every log event and error text from now on
        if secrets and SECRET_VALUES_ATTR in (getattr(type(resolved), "__private_attributes__", None) or {}):
            setattr(resolved, SECRET_VALUES_ATTR, frozenset(secrets))
        return resolved

    async def _connection(self, node: PlanNode, data: dict[str, Any], secrets: set[str]) -> bool:
        """Fill `dsn` from the component's credentials mapping when the type needs a connection; True if set."""
        scheme = getattr(type(node.options), "dsn_scheme", None)
        if not scheme or "dsn" not in data or data.get("dsn"):
            return False
        context_id = node.config.context_id
        if not context_id:
            self._issue(node, "", f"{node.comp_type} needs a dsn option or a context_id naming a credentials mapping")
            return False
        if self._no_source(node, context_id, "context_id"):
            return False
        creds = await self._credentials(context_id)
        if isinstance(creds, ContextLookupError):
            self._issue(node, "context_id", str(creds))
            return False
        if creds is None:
            params = await self._parameters(context_id)
            if params is None:
                self._issue(node, "context_id", f"context {context_id!r} does not exist")
            else:
                self._issue(
                    node,
                    "context_id",
                    f"context {context_id!r} is not a credentials mapping: name one, or give a dsn option",
                )
            return False
        data["dsn"] = creds.dsn(scheme)
        if creds.password:
            secrets.add(creds.password)
        return True
