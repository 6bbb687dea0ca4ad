"""`etl serve` and the commands that talk to a running server: `etl jobs|executions|schedules|contexts ...`.

The client commands reach the server at `ETL_API_URL` (or `--url`) and get a token themselves with the configured
client credentials (`ETL_AUTH_CLIENT_ID`, `ETL_AUTH_CLIENT_SECRET`). They print readable tables, or the server's
JSON with `--json`. Exit codes: 0 success, 1 the server refused or failed the request (its error printed), 2 bad
input or settings, 3 the server cannot be reached.

Mounted on the main `etl` app with `register_client_commands(app)`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import signal
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from etl_core.errors import SettingsError
from etl_core.runtime.tuning import tune_for_serving
from etl_core.settings import Settings, load_settings

EXIT_REFUSED, EXIT_INPUT, EXIT_UNREACHABLE = 1, 2, 3

out = Console()
err = Console(stderr=True, soft_wrap=True)


# -- talking to the server --------------------------------------------------------------------------
class ApiError(Exception):
    """The server answered with an error; `detail` is its `{"code", "message", "context"}`."""

    def __init__(self, status: int, detail: dict[str, Any]) -> None:
        self.status = status
        self.detail = detail
        super().__init__(f"{status} {detail.get('code', '')}: {detail.get('message', '')}")


class Unreachable(Exception):
    pass


class ApiClient:
    """A small blocking client: gets a token with the client credentials once, then calls the API."""

    def __init__(self, base_url: str, client_id: str, client_secret: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.timeout = timeout
        self._token: str | None = None

    def _open(self, req: urllib.request.Request, timeout: float | None = None) -> Any:
        try:
            return urllib.request.urlopen(req, timeout=timeout or self.timeout)
        except urllib.error.HTTPError as exc:
            raw = exc.read().decode("utf-8", "replace")
            try:
                body = json.loads(raw)
            except json.JSONDecodeError:
                body = {}
            if isinstance(body, dict) and isinstance(body.get("detail"), dict):
                raise ApiError(exc.code, body["detail"]) from None
            if isinstance(body, dict) and "error" in body:
                detail = {"code": body["error"], "message": body.get("error_description", ""), "context": {}}
                raise ApiError(exc.code, detail) from None
            raise ApiError(exc.code, {"code": f"HTTP_{exc.code}", "message": raw[:500], "context": {}}) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise Unreachable(f"cannot reach the etl-core server at {self.base_url}: {reason}") from None

    def token(self) -> str:
        if self._token is None:
            basic = base64.b64encode(
                f"{urllib.parse.quote_plus(self.client_id)}:{urllib.parse.quote_plus(self.client_secret)}".encode()
            ).decode()
            req = urllib.request.Request(
                self.base_url + "/auth/token",
                data=urllib.parse.urlencode({"grant_type": "client_credentials"}).encode(),
                headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
                method="POST",
            )
            with self._open(req) as response:
                self._token = json.loads(response.read())["access_token"]
        return self._token

    def _request(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None) -> Any:
        url = self.base_url + path
        params = {k: v for k, v in (query or {}).items() if v is not None}
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        headers = {"Authorization": f"Bearer {self.token()}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        return urllib.request.Request(url, data=data, headers=headers, method=method)

    def call(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None) -> Any:
        """The decoded JSON answer (None for an empty one); ApiError for an error answer."""
        with self._open(self._request(method, path, body, query)) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def events(self, path: str) -> Iterator[tuple[str, Any]]:
        """Server-sent events as (event, data) until the server closes the stream."""
        req = self._request("GET", path)
        req.add_header("Accept", "text/event-stream")
        with self._open(req, timeout=3600.0) as response:
            event, data = "message", list[str]()
            for raw in response:
                line = raw.decode("utf-8").rstrip("\r\n")
                if not line:
                    if data:
                        yield event, json.loads("\n".join(data))
                    event, data = "message", []
                elif line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip())


# -- plumbing of the commands -----------------------------------------------------------------------
def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        err.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(EXIT_INPUT) from None


def _client(ctx: typer.Context) -> ApiClient:
    settings = _settings()
    url = (ctx.obj or {}).get("url") or settings.api_url
    return ApiClient(url, settings.auth_client_id, settings.auth_client_secret)


def _fail(exc: Exception) -> NoReturn:
    if isinstance(exc, ApiError):
        detail = exc.detail
        err.print(f"[red]{exc.status} {detail.get('code')}: {detail.get('message')}[/red]", highlight=False)
        for issue in (detail.get("context") or {}).get("issues", []):
            where = issue.get("path") or "<job>"
            if issue.get("component"):
                where += f" (component {issue['component']!r})"
            err.print(f"  - {where}: {issue.get('message')}", highlight=False, markup=False)
        raise typer.Exit(EXIT_INPUT if exc.status in (400, 422) else EXIT_REFUSED)
    err.print(f"[red]{exc}[/red]", highlight=False)
    raise typer.Exit(EXIT_UNREACHABLE)


def _run(ctx: typer.Context, action: Callable[[ApiClient], Any]) -> Any:
    try:
        return action(_client(ctx))
    except (ApiError, Unreachable) as exc:
        _fail(exc)


def _print_json(value: Any) -> None:
    out.print_json(json.dumps(value, default=str))


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    table = Table(title=title, title_justify="left")
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    out.print(table)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        err.print(f"[red]cannot read {path}: {exc.strerror}[/red]", highlight=False)
    except json.JSONDecodeError as exc:
        err.print(f"[red]{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}[/red]")
    raise typer.Exit(EXIT_INPUT)


def _show_created(created: dict[str, Any], as_json: bool) -> None:
    if as_json:
        _print_json(created)
    else:
        out.print(created["id"])


def _url_option(
    ctx: typer.Context, url: str | None = typer.Option(None, "--url", help="server URL (ETL_API_URL)")
) -> None:
    ctx.obj = {"url": url}


JSON_OPTION = typer.Option(False, "--json", help="print the server's JSON")

jobs_app = typer.Typer(help="Jobs stored on the server.", no_args_is_help=True, callback=_url_option)
executions_app = typer.Typer(help="Executions on the server.", no_args_is_help=True, callback=_url_option)
contexts_app = typer.Typer(help="Contexts and credentials on the server.", no_args_is_help=True, callback=_url_option)
schedules_app = typer.Typer(help="Schedules on the server.", no_args_is_help=True, callback=_url_option)


# -- jobs -------------------------------------------------------------------------------------------
@jobs_app.command("list")
def jobs_list(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """List the stored jobs."""
    jobs = _run(ctx, lambda c: c.call("GET", "/jobs/"))
    if as_json:
        _print_json(jobs)
        return
    _table(
        "jobs",
        ["id", "name", "strategy", "retries", "updated"],
        [[j["id"], j["name"], j["strategy_type"], j["num_of_retries"], j["updated_at"]] for j in jobs],
    )


@jobs_app.command("get")
def jobs_get(ctx: typer.Context, job_id: str) -> None:
    """Print a job's config as stored."""
    _print_json(_run(ctx, lambda c: c.call("GET", f"/jobs/{job_id}")))


@jobs_app.command("create")
def jobs_create(ctx: typer.Context, job_file: Path, as_json: bool = JSON_OPTION) -> None:
    """Store a job file on the server (validated there; every issue printed)."""
    doc = _read_json(job_file)
    created = _run(ctx, lambda c: c.call("POST", "/jobs/", doc))
    if as_json:
        _print_json(created)
    else:
        out.print(created["id"])


@jobs_app.command("update")
def jobs_update(ctx: typer.Context, job_id: str, job_file: Path) -> None:
    """Replace a stored job's config with a job file."""
    doc = _read_json(job_file)
    _run(ctx, lambda c: c.call("PUT", f"/jobs/{job_id}", doc))
    err.print(f"[green]job {job_id} replaced[/green]", highlight=False)


@jobs_app.command("delete")
def jobs_delete(ctx: typer.Context, job_id: str) -> None:
    """Delete a stored job (refused while it runs)."""
    _run(ctx, lambda c: c.call("DELETE", f"/jobs/{job_id}"))
    err.print(f"[green]job {job_id} deleted[/green]", highlight=False)


@jobs_app.command("validate")
def jobs_validate(ctx: typer.Context, job_file: Path) -> None:
    """Validate a job file on the server without storing it."""
    doc = _read_json(job_file)
    result = _run(ctx, lambda c: c.call("POST", "/jobs/validate", doc))
    err.print(f"[green]valid ({result['components']} components, {result['edges']} edges)[/green]")


# -- executions -------------------------------------------------------------------------------------
def _execution_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
    return [
        [
            e["id"],
            e["job_name"],
            e["environment"],
            e["status"],
            e["started_at"],
            e.get("duration_s"),
            (e.get("totals") or {}).get("rows_read"),
            e.get("error"),
        ]
        for e in rows
    ]


_EXECUTION_COLUMNS = ["id", "job", "env", "status", "started", "seconds", "rows read", "error"]


def _follow(ctx: typer.Context, execution_id: str) -> dict[str, Any]:
    last: dict[str, Any] = {}

    def watch(c: ApiClient) -> None:
        for event, data in c.events(f"/execution/executions/{execution_id}/events"):
            last.update(data)
            execution = data["execution"]
            if event in ("execution_started", "attempt_started", "attempt_finished", "execution_finished"):
                totals = execution.get("totals") or {}
                err.print(
                    f"{event}: {execution['status']}, {totals.get('rows_read', 0):,} rows read, "
                    f"{totals.get('rows_written', 0):,} written",
                    highlight=False,
                )

    _run(ctx, watch)
    return last


def _report_started(ctx: typer.Context, started: dict[str, Any], *, follow: bool, as_json: bool) -> None:
    """Print a started execution's id, or follow it to its end and exit 0 only on SUCCESS."""
    if not follow:
        if as_json:
            _print_json(started)
        else:
            out.print(started["execution_id"])
        return
    err.print(f"execution {started['execution_id']} started", highlight=False)
    final = _follow(ctx, started["execution_id"])
    if as_json:
        _print_json(final)
    status = (final.get("execution") or {}).get("status")
    raise typer.Exit(0 if status == "SUCCESS" else EXIT_REFUSED)


@executions_app.command("start")
def executions_start(
    ctx: typer.Context,
    job_id: str,
    environment: str = typer.Option(None, "--env", "-e", help="DEV, TEST or PROD (default: the server's)"),
    follow: bool = typer.Option(False, "--follow", "-f", help="follow progress until it ends"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Start an execution of a stored job."""
    body = {"environment": environment.upper()} if environment else {}
    started = _run(ctx, lambda c: c.call("POST", f"/execution/{job_id}", body))
    _report_started(ctx, started, follow=follow, as_json=as_json)


@executions_app.command("list")
def executions_list(
    ctx: typer.Context,
    job_id: str = typer.Option(None, "--job-id"),
    status: str = typer.Option(None, "--status"),
    environment: str = typer.Option(None, "--env"),
    sort_by: str = typer.Option("started_at", "--sort-by", help="started_at, finished_at or status"),
    order: str = typer.Option("desc", "--order", help="asc or desc"),
    limit: int = typer.Option(50, "--limit"),
    offset: int = typer.Option(0, "--offset"),
    as_json: bool = JSON_OPTION,
) -> None:
    """List executions, newest first."""
    query = {
        "job_id": job_id,
        "status": status,
        "environment": environment,
        "sort_by": sort_by,
        "order": order,
        "limit": limit,
        "offset": offset,
    }
    page = _run(ctx, lambda c: c.call("GET", "/execution/executions", query=query))
    if as_json:
        _print_json(page)
        return
    _table(f"executions ({page['total']} in all)", _EXECUTION_COLUMNS, _execution_rows(page["data"]))


@executions_app.command("get")
def executions_get(ctx: typer.Context, execution_id: str, as_json: bool = JSON_OPTION) -> None:
    """Show an execution, its attempts and each component's metrics."""
    detail = _run(ctx, lambda c: c.call("GET", f"/execution/executions/{execution_id}"))
    if as_json:
        _print_json(detail)
        return
    _table("execution", _EXECUTION_COLUMNS, _execution_rows([detail["execution"]]))
    for attempt in detail["attempts"]:
        rows = [
            [
                m["component"],
                m["comp_type"],
                m["status"],
                m["records_in"],
                m["records_out"],
                m["errors"],
                m["rows_per_second"],
            ]
            for m in attempt["components"].values()
        ]
        title = f"attempt {attempt['attempt_index']}: {attempt['status']}"
        if attempt.get("error"):
            title += f" ({attempt['error']})"
        _table(title, ["component", "type", "status", "in", "out", "errors", "rows/s"], rows)


@executions_app.command("cancel")
def executions_cancel(ctx: typer.Context, execution_id: str) -> None:
    """Cancel a running execution."""
    detail = _run(ctx, lambda c: c.call("POST", f"/execution/executions/{execution_id}/cancel"))
    err.print(f"execution {execution_id}: {detail['execution']['status']}", highlight=False)


@executions_app.command("watch")
def executions_watch(ctx: typer.Context, execution_id: str, as_json: bool = JSON_OPTION) -> None:
    """Follow an execution's progress until it ends."""
    final = _follow(ctx, execution_id)
    if as_json:
        _print_json(final)


@executions_app.command("logs")
def executions_logs(
    ctx: typer.Context,
    execution_id: str,
    offset: int = typer.Option(0, "--offset"),
    limit: int = typer.Option(1000, "--limit"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Print an execution's structured log lines (jobs with file_logging)."""
    logs = _run(
        ctx,
        lambda c: c.call("GET", f"/execution/executions/{execution_id}/logs", query={"offset": offset, "limit": limit}),
    )
    if as_json:
        _print_json(logs)
        return
    if not logs["file_logging"]:
        err.print("this execution wrote no log file (its job has file_logging: false)")
    for line in logs["lines"]:
        out.print(json.dumps(line, ensure_ascii=False), highlight=False, markup=False)


# -- contexts ---------------------------------------------------------------------------------------
@contexts_app.command("list")
def contexts_list(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """List contexts and credentials."""
    items = _run(ctx, lambda c: c.call("GET", "/contexts/"))
    if as_json:
        _print_json(items)
        return
    rows = [[i["id"], i["kind"], i["name"], i["environment"]] for i in items]
    _table("contexts", ["id", "kind", "name", "environment"], rows)


@contexts_app.command("get")
def contexts_get(ctx: typer.Context, provider_id: str) -> None:
    """Show a context or credentials entry (no secrets)."""
    _print_json(_run(ctx, lambda c: c.call("GET", f"/contexts/{provider_id}")))


@contexts_app.command("create")
def contexts_create(ctx: typer.Context, context_file: Path, as_json: bool = JSON_OPTION) -> None:
    """Store a context from a JSON file `{"name", "environment", "parameters": {...}}`."""
    doc = _read_json(context_file)
    body = doc if isinstance(doc, dict) and "context" in doc else {"context": doc}
    created = _run(ctx, lambda c: c.call("POST", "/contexts/context", body))
    _show_created(created, as_json)


@contexts_app.command("credentials")
def contexts_credentials(
    ctx: typer.Context,
    name: str = typer.Option(..., "--name"),
    user: str = typer.Option(..., "--user"),
    database: str = typer.Option(..., "--database"),
    host: str = typer.Option("localhost", "--host"),
    port: int = typer.Option(None, "--port"),
    password: str = typer.Option(..., "--password", prompt=True, hide_input=True, help="asked for when omitted"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Store database credentials (the password goes to the server's secret store)."""
    body = {
        "credentials": {
            "name": name,
            "user": user,
            "host": host,
            "port": port,
            "database": database,
            "password": password,
        }
    }
    created = _run(ctx, lambda c: c.call("POST", "/contexts/credentials", body))
    _show_created(created, as_json)


@contexts_app.command("map")
def contexts_map(
    ctx: typer.Context,
    mappings: Annotated[list[str], typer.Argument(help="ENV=CREDENTIALS_ID, e.g. DEV=abc PROD=def")],
    name: str = typer.Option(..., "--name"),
    environment: str = typer.Option(..., "--env", help="the context's own environment"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Store a context that maps environments to credentials."""
    ids: dict[str, str] = {}
    for item in mappings:
        env, sep, cred = item.partition("=")
        if not sep or not cred:
            err.print(f"[red]expected ENV=CREDENTIALS_ID, got {item!r}[/red]", highlight=False)
            raise typer.Exit(EXIT_INPUT)
        ids[env.upper()] = cred
    body = {"context": {"name": name, "environment": environment.upper(), "credentials_ids": ids}}
    created = _run(ctx, lambda c: c.call("POST", "/contexts/credentials-mapping-context", body))
    _show_created(created, as_json)


@contexts_app.command("delete")
def contexts_delete(ctx: typer.Context, provider_id: str) -> None:
    """Delete a context or credentials entry and its secrets."""
    _run(ctx, lambda c: c.call("DELETE", f"/contexts/{provider_id}"))
    err.print(f"[green]{provider_id} deleted[/green]", highlight=False)


# -- schedules --------------------------------------------------------------------------------------
ARG_OPTION = typer.Option(
    None, "--arg", "-a", help="a trigger argument KEY=VALUE, repeated (--arg minutes=15 --arg timezone=Europe/Berlin)"
)


def _trigger_args(items: list[str]) -> dict[str, Any]:
    """`["minutes=15", "day_of_week=mon-fri"]` -> `{"minutes": 15, "day_of_week": "mon-fri"}` (JSON, else text)."""
    args: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            err.print(f"[red]expected KEY=VALUE, got {item!r}[/red]", highlight=False)
            raise typer.Exit(EXIT_INPUT)
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        args[key.strip()] = value
    return args


def _schedule_body(
    schedule_file: Path | None,
    *,
    name: str | None,
    job_id: str | None,
    trigger_type: str | None,
    args: list[str] | None,
    environment: str | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if schedule_file is not None:
        doc = _read_json(schedule_file)
        if not isinstance(doc, dict):
            err.print(f"[red]{schedule_file}: a schedule is a JSON object[/red]", highlight=False)
            raise typer.Exit(EXIT_INPUT)
        body.update(doc)
    given = {"name": name, "job_id": job_id, "trigger_type": trigger_type, "environment": environment}
    body.update({k: v for k, v in given.items() if v is not None})
    if environment is not None:
        body["environment"] = environment.upper()
    if args:
        body["trigger_args"] = _trigger_args(args)
    return body


def _trigger_text(schedule: dict[str, Any]) -> str:
    args = ", ".join(f"{k}={v}" for k, v in (schedule.get("trigger_args") or {}).items())
    return f"{schedule['trigger_type']}({args})"


def _schedule_rows(schedules: list[dict[str, Any]]) -> list[list[Any]]:
    return [
        [s["id"], s["name"], s["job_id"], s["environment"], _trigger_text(s), s["state"], s.get("next_run_time")]
        for s in schedules
    ]


_SCHEDULE_COLUMNS = ["id", "name", "job", "env", "trigger", "state", "next run (UTC)"]


def _show_schedule(schedule: dict[str, Any], as_json: bool) -> None:
    if as_json:
        _print_json(schedule)
        return
    _table("schedule", _SCHEDULE_COLUMNS, _schedule_rows([schedule]))
    if schedule.get("error"):
        err.print(f"[red]{schedule['error']}[/red]", highlight=False)


@schedules_app.command("list")
def schedules_list(
    ctx: typer.Context, job_id: str = typer.Option(None, "--job-id"), as_json: bool = JSON_OPTION
) -> None:
    """List the schedules with their state and next run time."""
    schedules = _run(ctx, lambda c: c.call("GET", "/schedules/", query={"job_id": job_id}))
    if as_json:
        _print_json(schedules)
        return
    _table("schedules", _SCHEDULE_COLUMNS, _schedule_rows(schedules))


@schedules_app.command("get")
def schedules_get(ctx: typer.Context, schedule_id: str, as_json: bool = JSON_OPTION) -> None:
    """Show a schedule, its state and its next run time."""
    _show_schedule(_run(ctx, lambda c: c.call("GET", f"/schedules/{schedule_id}")), as_json)


@schedules_app.command("create")
def schedules_create(
    ctx: typer.Context,
    name: str = typer.Option(None, "--name", help="a name for people"),
    job_id: str = typer.Option(None, "--job-id", help="the stored job to start"),
    trigger_type: str = typer.Option(None, "--type", "-t", help="interval, cron or date"),
    args: list[str] = ARG_OPTION,
    environment: str = typer.Option(None, "--env", "-e", help="DEV, TEST or PROD (default: the server's)"),
    paused: bool = typer.Option(False, "--paused", help="store it paused"),
    schedule_file: Annotated[
        Path | None, typer.Option("--file", help="a JSON schedule; the options above override it")
    ] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Create a schedule, e.g. `--name nightly --job-id ID --type cron --arg hour=3 --arg minute=0`."""
    body = _schedule_body(
        schedule_file, name=name, job_id=job_id, trigger_type=trigger_type, args=args, environment=environment
    )
    if paused:
        body["paused"] = True
    created = _run(ctx, lambda c: c.call("POST", "/schedules/", body))
    if as_json:
        _print_json(created)
        return
    out.print(created["id"])
    err.print(f"next run: {created.get('next_run_time') or created['state']}", highlight=False)


@schedules_app.command("update")
def schedules_update(
    ctx: typer.Context,
    schedule_id: str,
    name: str = typer.Option(None, "--name"),
    job_id: str = typer.Option(None, "--job-id"),
    trigger_type: str = typer.Option(None, "--type", "-t", help="interval, cron or date"),
    args: list[str] = ARG_OPTION,
    environment: str = typer.Option(None, "--env", "-e"),
    schedule_file: Annotated[Path | None, typer.Option("--file", help="a JSON object of the fields to change")] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Change the given fields of a schedule; `--arg` replaces all its trigger arguments."""
    body = _schedule_body(
        schedule_file, name=name, job_id=job_id, trigger_type=trigger_type, args=args, environment=environment
    )
    if not body:
        err.print("[red]nothing to change: give --name, --job-id, --type, --arg, --env or --file[/red]")
        raise typer.Exit(EXIT_INPUT)
    _show_schedule(_run(ctx, lambda c: c.call("PUT", f"/schedules/{schedule_id}", body)), as_json)


@schedules_app.command("delete")
def schedules_delete(ctx: typer.Context, schedule_id: str) -> None:
    """Delete a schedule (its executions stay in the history)."""
    _run(ctx, lambda c: c.call("DELETE", f"/schedules/{schedule_id}"))
    err.print(f"[green]schedule {schedule_id} deleted[/green]", highlight=False)


@schedules_app.command("pause")
def schedules_pause(ctx: typer.Context, schedule_id: str, as_json: bool = JSON_OPTION) -> None:
    """Stop firing a schedule until it is resumed."""
    _show_schedule(_run(ctx, lambda c: c.call("POST", f"/schedules/{schedule_id}/pause")), as_json)


@schedules_app.command("resume")
def schedules_resume(ctx: typer.Context, schedule_id: str, as_json: bool = JSON_OPTION) -> None:
    """Fire a paused schedule again from its next due time on."""
    _show_schedule(_run(ctx, lambda c: c.call("POST", f"/schedules/{schedule_id}/resume")), as_json)


@schedules_app.command("run-now")
def schedules_run_now(
    ctx: typer.Context,
    schedule_id: str,
    follow: bool = typer.Option(False, "--follow", "-f", help="follow progress until it ends"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Start a schedule's job now; prints the execution id."""
    started = _run(ctx, lambda c: c.call("POST", f"/schedules/{schedule_id}/run-now"))
    _report_started(ctx, started, follow=follow, as_json=as_json)


# -- serve ------------------------------------------------------------------------------------------
def hypercorn_config(settings: Settings, host: str | None = None, port: int | None = None) -> Any:
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"{host or settings.host}:{port or settings.port}"]
    config.accesslog = None
    # lifespan shutdown covers the executions' grace period plus the time cancelled ones take to stop
    config.shutdown_timeout = settings.shutdown_grace_seconds + 30
    config.graceful_timeout = 5
    return config


async def serve_app(app: Any, config: Any, shutdown: Callable[[], Awaitable[None]] | None = None) -> None:
    """Serve `app` with Hypercorn until `shutdown` returns (or SIGINT/SIGTERM when none is given)."""
    from hypercorn.asyncio import serve as hypercorn_serve

    if shutdown is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)

        async def on_signal() -> None:
            await stop.wait()

        shutdown = on_signal
    await hypercorn_serve(app, config, shutdown_trigger=shutdown)


def serve(
    host: str = typer.Option(None, "--host", help="interface to listen on (ETL_HOST)"),
    port: int = typer.Option(None, "--port", help="port to listen on (ETL_PORT)"),
) -> None:
    """Run the HTTP API server (Hypercorn) until SIGINT/SIGTERM."""
    from etl_core.api import create_app

    settings = _settings()
    try:
        app = create_app(settings)
    except SettingsError as exc:
        err.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(EXIT_INPUT) from None
    config = hypercorn_config(settings, host, port)
    err.print(f"etl-core serving on http://{config.bind[0]} (docs at /docs)", highlight=False)
    tune_for_serving()
    asyncio.run(serve_app(app, config))


def register_client_commands(app: typer.Typer) -> None:
    """Mount `serve`, `jobs`, `executions`, `schedules` and `contexts` on the main `etl` app."""
    app.command("serve")(serve)
    app.add_typer(jobs_app, name="jobs")
    app.add_typer(executions_app, name="executions")
    app.add_typer(schedules_app, name="schedules")
    app.add_typer(contexts_app, name="contexts")
