"""The `etl` command: run and validate job files locally, list component types, and talk to a server.

Exit codes: 0 success, 1 the job failed (or was cancelled), 2 the config is invalid (every issue printed with
its JSON path and component name).
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import anyio
import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from etl_core import __version__
from etl_core.cli.client import register_client_commands
from etl_core.errors import ConfigError, SettingsError
from etl_core.observability.logging import configure_logging
from etl_core.params.resolver import ParameterResolver
from etl_core.runtime.executor import JobExecutor
from etl_core.runtime.local import plan_file, run_options
from etl_core.runtime.state import ExecutionState
from etl_core.runtime.tuning import tune_gc
from etl_core.settings import Settings, load_settings

app = typer.Typer(help="etl-core: run JSON-described ETL jobs.", no_args_is_help=True, add_completion=False)
register_client_commands(app)
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2

JobFile = Annotated[Path, typer.Argument(help="the job's JSON file")]
DataDir = Annotated[Path | None, typer.Option("--data-dir", help="where relative file paths resolve (ETL_DATA_DIR)")]


def _settings(data_dir: Path | None) -> Settings:
    try:
        overrides: dict[str, Any] = {"data_dir": data_dir} if data_dir is not None else {}
        return load_settings(**overrides)
    except SettingsError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(EXIT_INVALID) from None


def _print_issues(exc: ConfigError, source: str) -> None:
    err.print(f"[red]{source}: invalid job config, {len(exc.issues)} issue(s):[/red]")
    for issue in exc.issues:
        err.print(f"  - {issue}", markup=False, highlight=False)


def _progress_table(state: ExecutionState) -> Table:
    attempt = state.current
    title = f"{state.job_name}  ·  {state.status}"
    if attempt is not None and state.max_attempts > 1:
        title += f"  ·  attempt {attempt.number}/{state.max_attempts}"
    table = Table(title=title, title_justify="left")
    for col in ("component", "type", "status", "in", "out", "errors", "rows/s"):
        table.add_column(col, justify="right" if col in ("in", "out", "errors", "rows/s") else "left")
    if attempt is not None:
        for m in attempt.components.values():
            table.add_row(
                m.component,
                m.comp_type,
                m.status,
                f"{m.records_in:,}",
                f"{m.records_out:,}",
                f"{m.errors:,}",
                f"{m.rows_per_second:,.0f}",
            )
    return table


def _summary(state: ExecutionState) -> str:
    totals = state.totals()
    line = (
        f"{state.status}: {totals['rows_read']:,} rows read, {totals['rows_written']:,} written, "
        f"{totals['record_errors']:,} record errors in {state.duration_s:.2f}s "
        f"({totals['rows_per_second']:,.0f} rows/s, {len(state.attempts)} attempt(s))"
    )
    if state.error:
        line += f"\n{state.error}"
    return line


async def _run(executor: JobExecutor, live: bool) -> ExecutionState:
    async def watch_signals() -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                executor.cancel()
                return

    async with anyio.create_task_group() as tg:
        tg.start_soon(watch_signals)
        if live:
            with Live(_progress_table(executor.state), console=err, refresh_per_second=4, transient=False) as view:

                async def refresh() -> None:
                    while True:
                        view.update(_progress_table(executor.state))
                        await anyio.sleep(0.25)

                tg.start_soon(refresh)
                state = await executor.run()
                view.update(_progress_table(state))
        else:
            state = await executor.run()
        tg.cancel_scope.cancel()
    return state


@app.command()
def run(
    job_file: JobFile,
    environment: Annotated[
        str | None, typer.Option("--env", "-e", help="DEV, TEST or PROD (default EXECUTION_ENV)")
    ] = None,
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the execution's final state as JSON")] = False,
    progress: Annotated[
        bool | None, typer.Option("--progress/--no-progress", help="live progress (default: on a terminal)")
    ] = None,
) -> None:
    """Run a job file in this process, with live per-component progress on a terminal."""
    settings = _settings(data_dir)
    live = sys.stderr.isatty() if progress is None else progress
    # the live table replaces info events on the terminal; an execution's log file still gets all of them
    configure_logging(settings.log_format, settings.log_level, console_level="WARNING" if live else None)
    try:
        planned = plan_file(job_file, settings)
    except ConfigError as exc:
        _print_issues(exc, str(job_file))
        raise typer.Exit(EXIT_INVALID) from None
    env = (environment or settings.execution_env).upper()
    if env not in ("DEV", "TEST", "PROD"):
        err.print(f"[red]--env must be DEV, TEST or PROD, got {environment!r}[/red]")
        raise typer.Exit(EXIT_INVALID)
    resolver = ParameterResolver(None)
    try:
        anyio.run(resolver.prepare, planned, env)
    except ConfigError as exc:
        _print_issues(exc, str(job_file))
        raise typer.Exit(EXIT_INVALID) from None
    options = run_options(settings)
    options.resolve_options = resolver
    executor = JobExecutor(planned, options, environment=env)
    tune_gc()
    state = anyio.run(_run, executor, live)
    if as_json:
        out.print_json(json.dumps(state.snapshot(), default=str))
    else:
        colour = "green" if state.status == "SUCCESS" else "red"
        err.print(f"[{colour}]{_summary(state)}[/{colour}]", highlight=False)
    raise typer.Exit(EXIT_OK if state.status == "SUCCESS" else EXIT_FAILED)


@app.command()
def validate(
    job_file: JobFile,
    data_dir: DataDir = None,
) -> None:
    """Check a job file (dialect, wiring, schemas, paths) without running it."""
    settings = _settings(data_dir)
    try:
        planned = plan_file(job_file, settings)
    except ConfigError as exc:
        _print_issues(exc, str(job_file))
        raise typer.Exit(EXIT_INVALID) from None
    err.print(
        f"[green]{job_file}: valid ({len(planned.nodes)} components, {len(planned.edges)} edges)[/green]",
        highlight=False,
    )


@app.command()
def components(
    as_json: Annotated[bool, typer.Option("--json", help="print as JSON")] = False,
    include_test: Annotated[bool | None, typer.Option("--all/--production", help="include test-only types")] = None,
) -> None:
    """List the registered component types."""
    import etl_core.components  # noqa: F401 - registers the built-in types
    from etl_core.components.registry import REGISTRY

    settings = _settings(None)
    show_test = settings.include_test_components if include_test is None else include_test
    types = REGISTRY.types(include_test=show_test)
    if as_json:
        rows = [
            {
                "comp_type": t.name,
                "category": t.category,
                "inputs": [p.name for p in t.inputs],
                "outputs": [p.name for p in t.outputs],
                "summary": t.summary,
            }
            for t in types
        ]
        out.print_json(json.dumps(rows))
        return
    table = Table(title="component types")
    for col in ("type", "category", "inputs", "outputs", "summary"):
        table.add_column(col)
    for t in types:
        ins = ", ".join(p.name for p in t.inputs) + (" +extra" if t.extra_inputs else "")
        outs = ", ".join(p.name for p in t.outputs) + (" +extra" if t.extra_outputs else "")
        table.add_row(t.name, t.category, ins or "-", outs or "-", t.summary)
    out.print(table)


@app.command()
def version() -> None:
    """Print the version."""
    out.print(__version__)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
