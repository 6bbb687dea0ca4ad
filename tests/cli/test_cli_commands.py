"""The `etl` command through typer's CliRunner: exit codes, messages, JSON output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from etl_core.cli.main import app

SCHEMA = {"fields": [{"name": "id", "data_type": "integer"}, {"name": "name", "data_type": "string"}]}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory (no stray .env) with its own data and log directories."""
    monkeypatch.chdir(tmp_path)
    for key in ("ETL_DATA_DIR", "ETL_COMPONENT_MODE", "ETL_LOG_DIR", "ETL_ENV_FILE", "EXECUTION_ENV"):
        monkeypatch.delenv(key, raising=False)
    (tmp_path / "data").mkdir()
    return tmp_path


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env=env)


def job_file(where: Path, job: dict[str, Any], name: str = "job.json") -> Path:
    path = where / name
    path.write_text(json.dumps(job))
    return path


def csv_job(**extra: Any) -> dict[str, Any]:
    return {
        "name": "copy people",
        "strategy_type": "bulk",
        **extra,
        "components": [
            {
                "name": "read",
                "comp_type": "read_csv",
                "filepath": "people.csv",
                "out_port_schemas": {"out": SCHEMA},
                "routes": {"out": ["write"]},
            },
            {
                "name": "write",
                "comp_type": "write_csv",
                "filepath": "out/people.csv",
                "in_port_schemas": {"in": SCHEMA},
            },
        ],
    }


def test_run_exits_0_and_writes_the_output(workdir: Path) -> None:
    (workdir / "data" / "people.csv").write_text("id,name\n1,ada\n2,bob\n")

    result = invoke("run", str(job_file(workdir, csv_job())), "--data-dir", str(workdir / "data"), "--no-progress")

    assert result.exit_code == 0, result.output
    assert (workdir / "data" / "out" / "people.csv").read_text() == "id,name\n1,ada\n2,bob\n"
    assert "SUCCESS: 2 rows read, 2 written, 0 record errors" in result.stderr


def test_run_takes_the_data_directory_from_the_environment(workdir: Path) -> None:
    (workdir / "elsewhere").mkdir()
    (workdir / "elsewhere" / "people.csv").write_text("id,name\n7,cy\n")

    result = invoke("run", str(job_file(workdir, csv_job())), env={"ETL_DATA_DIR": str(workdir / "elsewhere")})

    assert result.exit_code == 0, result.output
    assert (workdir / "elsewhere" / "out" / "people.csv").read_text() == "id,name\n7,cy\n"


def test_run_exits_1_when_the_job_fails_and_prints_why(workdir: Path) -> None:
    (workdir / "data" / "people.csv").write_text("id,name\nnot-a-number,ada\n")

    result = invoke("run", str(job_file(workdir, csv_job())), "--data-dir", str(workdir / "data"))

    assert result.exit_code == 1
    assert "FAILED" in result.stderr
    assert "component 'read' (run): line 2: field 'id': 'not-a-number' is not an integer (integer)" in result.stderr
    assert not (workdir / "data" / "out" / "people.csv").exists()


def test_run_exits_2_on_an_invalid_config_listing_every_issue(workdir: Path) -> None:
    job = csv_job()
    job["components"][0]["separator"] = ";;"
    job["components"][0]["routes"] = {"out": ["nowhere"]}
    job["components"][1]["colour"] = "blue"

    result = invoke("run", str(job_file(workdir, job)), "--data-dir", str(workdir / "data"))

    assert result.exit_code == 2
    lines = [line.strip() for line in result.stderr.splitlines()]
    assert "- components[0] (name 'read'): separator: must be exactly one character, got ';;'" in lines
    assert "- components[1] (name 'write'): colour: unknown key" in lines
    assert any(line.startswith("- components[0] (name 'read'): routes.out[0].to:") for line in lines), lines
    assert "invalid job config, 3 issue(s)" in result.stderr


def test_run_exits_2_on_a_file_that_is_not_json(workdir: Path) -> None:
    path = workdir / "broken.json"
    path.write_text('{"name": "x",\n  "components": [}')

    result = invoke("run", str(path))

    assert result.exit_code == 2
    assert "not valid JSON at line 2, column 18" in result.stderr


def test_validate_exits_2_on_a_job_file_that_is_not_utf8(workdir: Path) -> None:
    path = workdir / "latin1.json"
    path.write_bytes('{"name": "caf\u00e9"}'.encode("latin-1"))

    result = invoke("validate", str(path))

    assert result.exit_code == 2
    assert "is not valid UTF-8 near byte 13" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_run_exits_2_on_a_missing_job_file(workdir: Path) -> None:
    result = invoke("run", str(workdir / "nope.json"))

    assert result.exit_code == 2
    assert "cannot read job file" in result.stderr


def test_test_components_are_refused_unless_the_component_mode_allows_them(workdir: Path) -> None:
    job = {"name": "t", "components": [{"name": "src", "comp_type": "test_source", "records": [{"n": 1}]}]}
    path = job_file(workdir, job)

    refused = invoke("run", str(path))
    allowed = invoke("run", str(path), env={"ETL_COMPONENT_MODE": "test"})

    assert refused.exit_code == 2
    assert "set ETL_COMPONENT_MODE=test" in refused.stderr
    assert allowed.exit_code == 0, allowed.output


def test_run_json_prints_the_execution_state(workdir: Path) -> None:
    (workdir / "data" / "people.csv").write_text("id,name\n1,ada\n")

    result = invoke("run", str(job_file(workdir, csv_job())), "--data-dir", str(workdir / "data"), "--json")

    assert result.exit_code == 0, result.output
    state = json.loads(result.stdout)
    assert state["status"] == "SUCCESS"
    assert state["job_name"] == "copy people"
    assert state["environment"] == "DEV"
    assert state["totals"]["rows_read"] == 1
    assert [a["status"] for a in state["attempts"]] == ["SUCCESS"]
    assert state["attempts"][0]["components"]["write"]["received"] == {"in": 1}


def test_run_json_of_a_failed_job_names_the_failed_component(workdir: Path) -> None:
    result = invoke("run", str(job_file(workdir, csv_job())), "--data-dir", str(workdir / "data"), "--json")

    assert result.exit_code == 1
    state = json.loads(result.stdout)
    assert state["status"] == "FAILED"
    assert state["attempts"][0]["failed_component"] == "read"
    assert state["attempts"][0]["components"]["write"]["status"] == "CANCELLED"


def test_run_rejects_an_unknown_environment(workdir: Path) -> None:
    result = invoke("run", str(job_file(workdir, csv_job())), "--env", "staging")

    assert result.exit_code == 2
    assert "--env must be DEV, TEST or PROD" in result.stderr


def test_run_uses_the_given_environment(workdir: Path) -> None:
    (workdir / "data" / "people.csv").write_text("id,name\n")

    result = invoke("run", str(job_file(workdir, csv_job())), "--data-dir", "data", "--json", "--env", "prod")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["environment"] == "PROD"


def test_a_bad_setting_exits_2_naming_it(workdir: Path) -> None:
    result = invoke("run", str(job_file(workdir, csv_job())), env={"ETL_BATCH_SIZE": "lots"})

    assert result.exit_code == 2
    assert "ETL_BATCH_SIZE" in result.stderr


def test_file_logging_writes_the_execution_log_under_the_job_name(workdir: Path) -> None:
    (workdir / "data" / "people.csv").write_text("id,name\n1,ada\n")
    path = job_file(workdir, csv_job(file_logging=True))

    result = invoke("run", str(path), "--data-dir", "data", "--json", env={"ETL_LOG_DIR": str(workdir / "logs")})

    assert result.exit_code == 0, result.output
    execution_id = json.loads(result.stdout)["execution_id"]
    log = workdir / "logs" / "copy_people" / f"{execution_id}.jsonl"
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["event"] for e in events if "component" not in e] == [
        "execution_started",
        "attempt_started",
        "attempt_finished",
        "execution_finished",
    ]
    assert {e["component"] for e in events if e["event"] == "component_finished"} == {"read", "write"}
    assert all(e["execution_id"] == execution_id and e["job_name"] == "copy people" for e in events)


def test_validate_exits_0_for_a_valid_job(workdir: Path) -> None:
    result = invoke("validate", str(job_file(workdir, csv_job())), "--data-dir", str(workdir / "data"))

    assert result.exit_code == 0, result.output
    assert "valid (2 components, 1 edges)" in result.stderr


def test_validate_exits_2_listing_every_issue(workdir: Path) -> None:
    job = csv_job()
    job["components"][0]["filepath"] = "/etc/passwd"
    job["components"][1]["comp_type"] = "write_parquet"

    result = invoke("validate", str(job_file(workdir, job)), "--data-dir", str(workdir / "data"))

    assert result.exit_code == 2
    assert "components[0] (name 'read'): filepath:" in result.stderr
    assert "outside the allowed roots" in result.stderr
    assert "components[1] (name 'write'): comp_type: unknown component type 'write_parquet'" in result.stderr


def test_validate_does_not_run_the_job(workdir: Path) -> None:
    result = invoke("validate", str(job_file(workdir, csv_job())), "--data-dir", str(workdir / "data"))

    assert result.exit_code == 0
    assert not (workdir / "data" / "out").exists()


def test_components_lists_the_csv_types_and_hides_test_types_in_production(workdir: Path) -> None:
    result = invoke("components", "--json")

    assert result.exit_code == 0, result.output
    types = {row["comp_type"]: row for row in json.loads(result.stdout)}
    assert types["read_csv"]["inputs"] == []
    assert types["read_csv"]["outputs"] == ["out"]
    assert types["write_csv"]["inputs"] == ["in"]
    assert types["write_csv"]["category"] == "file"
    assert "test_source" not in types


def test_components_all_includes_test_types(workdir: Path) -> None:
    result = invoke("components", "--json", "--all")

    assert {"read_csv", "write_csv", "test_source", "test_sink"} <= {r["comp_type"] for r in json.loads(result.stdout)}


def test_components_prints_a_table_by_default(workdir: Path) -> None:
    result = invoke("components")

    assert result.exit_code == 0
    assert "read_csv" in result.stdout
    assert "write_csv" in result.stdout


def test_file_logging_keeps_info_events_when_the_terminal_shows_live_progress(workdir: Path) -> None:
    (workdir / "data" / "people.csv").write_text("id,name\n1,ada\n")
    path = job_file(workdir, csv_job(file_logging=True))

    result = invoke("run", str(path), "--data-dir", "data", "--progress", env={"ETL_LOG_DIR": str(workdir / "logs")})

    assert result.exit_code == 0, result.output
    (log,) = (workdir / "logs" / "copy_people").iterdir()
    events = [json.loads(line)["event"] for line in log.read_text().splitlines()]
    assert events.count("component_finished") == 2
    assert events[0] == "execution_started"
    assert events[-1] == "execution_finished"
    # the terminal shows the progress table, not the info events
    assert "component_finished" not in result.stderr
