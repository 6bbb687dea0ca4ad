"""Every format writer: cancellation leaves nothing behind; directory outputs of part files read back whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from openpyxl.worksheet._writer import ALL_TEMP_FILES

from etl_core.components.files.excel_options import SheetOptions
from etl_core.components.files.parts import part_format_for, publish_parts, write_part
from etl_core.components.files.xml_options import XmlTagOptions
from etl_core.runtime.executor import JobExecutor
from etl_core.testing import component, fields, list_sink, list_source, make_job, route, run_job

Json = dict[str, Any]


def listing(folder: Path) -> list[str]:
    """The names in a directory, sorted."""
    return sorted(p.name for p in folder.iterdir())


WRITERS = [
    ("write_json", "slow.json"),
    ("write_json", "slow.jsonl.gz"),
    ("write_json", "slowdir"),
    ("write_xml", "slow.xml"),
    ("write_xml", "slowdir"),
    ("write_excel", "slow.xlsx"),
    ("write_excel", "slowdir"),
]
READER = {"write_json": "read_json", "write_xml": "read_xml", "write_excel": "read_excel"}
OPTIONS: dict[str, Any] = {"write_json": None, "write_xml": XmlTagOptions(), "write_excel": SheetOptions()}


def live_temp_files() -> set[str]:
    return {p for p in ALL_TEMP_FILES if Path(p).exists()}


async def cancel_when_writing(job: Json, data_dir: Path) -> Any:
    """Run `job` and cancel the execution as soon as the writer `write` has received a batch."""
    holder: list[JobExecutor] = []
    result: list[Any] = []

    async def run() -> None:
        result.append(await run_job(job, data_dir=data_dir, executor_hook=holder.append))

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        with anyio.fail_after(10):
            while True:
                await anyio.sleep(0.01)
                attempt = holder[0].state.current if holder else None
                if attempt is not None and attempt.components["write"].records_in > 0:
                    break
        holder[0].cancel()
    return result[0]


@pytest.mark.parametrize(("comp_type", "path"), WRITERS)
async def test_writer_cancelled_mid_file_leaves_no_output(data_dir: Path, comp_type: str, path: str) -> None:
    temp_files = live_temp_files()
    source = list_source("src", [{"id": i} for i in range(50)], batch_size=1, delay_s=0.05)
    writer = component("write", comp_type, filepath=path, in_port_schemas={"in": fields(id="integer")})
    run = await cancel_when_writing(make_job(source, writer), data_dir)
    assert run.status == "CANCELLED"
    assert run.metrics("write").status == "CANCELLED"
    assert listing(data_dir) == []
    assert live_temp_files() <= temp_files  # openpyxl's streaming files too


async def read_all(data_dir: Path, comp_type: str, path: str) -> list[Json]:
    reader = route(component("read", READER[comp_type], filepath=path), "out", "sink")
    run = await run_job(make_job(reader, list_sink("sink"), chain=False), data_dir=data_dir)
    assert run.status == "SUCCESS", run.state.error
    return run.records("sink")


@pytest.mark.parametrize("comp_type", ["write_json", "write_xml", "write_excel"])
async def test_bigdata_writer_to_a_directory_writes_a_part_that_reads_back(data_dir: Path, comp_type: str) -> None:
    rows = [{"id": str(i)} for i in range(3)]
    writer = component("write", comp_type, filepath="lake/out", in_port_schemas={"in": fields(id="string")})
    run = await run_job(make_job(list_source("src", rows), writer, strategy="bigdata"), data_dir=data_dir)
    assert run.status == "SUCCESS", run.state.error
    suffix = part_format_for(comp_type, OPTIONS[comp_type], None).suffix
    assert listing(data_dir / "lake" / "out") == [f"part-00000.{suffix}"]
    assert await read_all(data_dir, comp_type, "lake/out") == rows


@pytest.mark.parametrize("comp_type", ["write_json", "write_xml", "write_excel"])
async def test_write_part_writes_each_partition_through_the_format_writer(data_dir: Path, comp_type: str) -> None:
    fmt = part_format_for(comp_type, OPTIONS[comp_type], None)
    folder = data_dir / "parts"
    folder.mkdir()
    first = write_part(folder, 0, [[{"id": "0"}, {"id": "1"}], [{"id": "2"}]], fmt)
    second = write_part(folder, 1, iter([[{"id": "3"}]]), fmt)
    assert (first.path.name, first.records, second.path.name, second.records) == (
        f"part-00000.{fmt.suffix}",
        3,
        f"part-00001.{fmt.suffix}",
        1,
    )
    assert listing(folder) == [first.path.name, second.path.name]
    assert await read_all(data_dir, comp_type, "parts") == [{"id": str(i)} for i in range(4)]


def test_write_part_leaves_nothing_when_a_partition_fails(tmp_path: Path) -> None:
    fmt = part_format_for("write_json", None, None)

    def batches() -> Any:
        yield [{"id": 1}]
        raise RuntimeError("partition lost")

    (tmp_path / "parts").mkdir()
    with pytest.raises(RuntimeError, match="partition lost"):
        write_part(tmp_path / "parts", 0, batches(), fmt)
    assert listing(tmp_path / "parts") == []


def test_write_part_never_recreates_a_removed_directory(tmp_path: Path) -> None:
    fmt = part_format_for("write_json", None, None)
    with pytest.raises(FileNotFoundError):
        write_part(tmp_path / "gone", 0, [[{"id": 1}]], fmt)
    assert listing(tmp_path) == []


def test_write_part_returns_refused_records_instead_of_raising(tmp_path: Path) -> None:
    fmt = part_format_for("write_xml", XmlTagOptions(), None)
    result = write_part(tmp_path, 0, [[{"ok": "1"}, {"bad name": "2"}]], fmt)
    assert result.records == 1
    assert [e[1] for e in result.errors] == [
        "record 2: cannot be written as XML: field 'bad name' is not a valid XML element name"
    ]


def test_publish_parts_removes_older_parts_of_the_format_only(tmp_path: Path) -> None:
    for name in ("part-00000.jsonl", "part-00001.jsonl", "part-00001.xml", "notes.txt"):
        (tmp_path / name).write_text("x")
    removed = publish_parts(tmp_path, "jsonl", keep={"part-00000.jsonl"})
    assert [p.name for p in removed] == ["part-00001.jsonl"]
    assert listing(tmp_path) == ["notes.txt", "part-00000.jsonl", "part-00001.xml"]


def test_part_format_for_refuses_a_type_without_parts() -> None:
    with pytest.raises(ValueError, match="writes no part files"):
        part_format_for("filter", None, None)
