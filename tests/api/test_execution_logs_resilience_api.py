"""An execution's log file that is damaged or cannot be opened never breaks `GET .../logs`: lines the logger never
writes (half written, not UTF-8, not a JSON object, NaN) are skipped, and a file that cannot be read is reported
as such with the reason."""

from __future__ import annotations

import asyncio
from typing import Any

from apitools import job_doc
from quart import Quart
from quart.typing import TestClientProtocol as QuartClient

from etl_core.api.state import state
from etl_core.observability.logging import execution_log_path


async def run_to_end(client: QuartClient, headers: dict[str, str], doc: dict[str, Any]) -> dict[str, Any]:
    job_id = (await (await client.post("/jobs/", json=doc, headers=headers)).get_json())["id"]
    started: dict[str, Any] = await (await client.post(f"/execution/{job_id}", headers=headers)).get_json()
    for _ in range(200):
        detail = await (
            await client.get(f"/execution/executions/{started['execution_id']}", headers=headers)
        ).get_json()
        if detail["execution"]["status"] not in ("PENDING", "RUNNING"):
            return started
        await asyncio.sleep(0.02)
    raise AssertionError("the execution did not end")


async def logs_of(client: QuartClient, headers: dict[str, str], execution_id: str) -> dict[str, Any]:
    response = await client.get(f"/execution/executions/{execution_id}/logs", headers=headers)
    assert response.status_code == 200, await response.get_data(as_text=True)
    body: dict[str, Any] = await response.get_json()
    return body


async def test_lines_the_logger_never_writes_are_skipped_and_the_rest_come_back(
    app: Quart, client: QuartClient, headers: dict[str, str]
) -> None:
    started = await run_to_end(client, headers, job_doc("logged", file_logging=True))
    async with app.app_context():
        path = execution_log_path(state().settings.log_dir, "logged", started["execution_id"])
    written = path.read_bytes().count(b"\n")
    with open(path, "ab") as fh:
        fh.write(b'\xff\xfe{"event": "not utf-8"}\n[1, 2]\n"text"\nnull\n{"event": "nan", "x": NaN}\n{"event": "half')

    logs = await logs_of(client, headers, started["execution_id"])

    assert logs["file_logging"] is True
    assert logs["total"] == written + 6
    assert len(logs["lines"]) == written
    assert all(isinstance(line, dict) and line["execution_id"] == started["execution_id"] for line in logs["lines"])
    assert "error" not in logs


async def test_a_log_file_that_cannot_be_read_is_reported_with_the_reason(
    app: Quart, client: QuartClient, headers: dict[str, str]
) -> None:
    started = await run_to_end(client, headers, job_doc("blocked", file_logging=True))
    async with app.app_context():
        path = execution_log_path(state().settings.log_dir, "blocked", started["execution_id"])
    path.unlink()
    path.mkdir()  # something else now sits where the file was

    logs = await logs_of(client, headers, started["execution_id"])

    assert logs == {
        "execution_id": started["execution_id"],
        "file_logging": False,
        "total": 0,
        "lines": [],
        "error": "the log file cannot be read: Is a directory",
    }


async def test_a_job_named_too_long_for_a_file_name_runs_and_its_logs_answer(
    client: QuartClient, headers: dict[str, str]
) -> None:
    started = await run_to_end(client, headers, job_doc("n" * 300, file_logging=True))

    detail = await (await client.get(f"/execution/executions/{started['execution_id']}", headers=headers)).get_json()
    logs = await logs_of(client, headers, started["execution_id"])

    assert detail["execution"]["status"] == "SUCCESS"
    assert logs == {
        "execution_id": started["execution_id"],
        "file_logging": False,
        "total": 0,
        "lines": [],
        "error": "the log file cannot be read: File name too long",
    }
