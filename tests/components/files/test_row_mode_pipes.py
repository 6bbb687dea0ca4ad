"""Row mode (engine.md §2): a reader in eager mode hands on the first record as soon as it has arrived, from a
pipe or a file still being written, instead of waiting for a whole chunk or the end of the input.

Each test feeds a FIFO from a thread that writes the first record, then waits until the reader has returned it
before writing the rest and closing. A reader that waited for more input would only return once the writer gave
up waiting (its safety timeout) and closed the pipe; the tests then see the pipe already closed and fail."""

from __future__ import annotations

import gzip
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from etl_core.components.files.csv_format import ROW_CHUNK, CsvBatchReader, CsvDialect
from etl_core.components.files.json_format import JsonArrayReader, JsonLinesReader
from etl_core.components.files.streaming import BatchReader
from etl_core.components.files.xml_format import XmlBatchReader
from etl_core.runtime.executor import JobExecutor
from etl_core.testing import component, list_sink, live_metrics, make_job, run_watched, wait_until

SAFETY_S = 20.0  # how long the writer waits for the reader before closing anyway (never reached when it works)


class PipeWriter:
    """A thread writing `first` into a FIFO, then, once released (or after SAFETY_S), `rest`, then closing."""

    def __init__(self, fifo: Path, first: bytes, rest: bytes, *, gzipped: bool = False) -> None:
        self.fifo = fifo
        self.first = first
        self.rest = rest
        self.gzipped = gzipped
        self.released = threading.Event()
        self.closed = threading.Event()
        self.released_in_time = False
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with open(self.fifo, "wb", buffering=0) as raw:
            out: BinaryIO = raw
            packer = gzip.GzipFile(fileobj=raw, mode="wb") if self.gzipped else None
            if packer is not None:
                out = packer  # type: ignore[assignment]
            out.write(self.first)
            out.flush()  # GzipFile: a sync flush, so the first record can be decompressed already
            self.released_in_time = self.released.wait(SAFETY_S)
            out.write(self.rest)
            if packer is not None:
                packer.close()
        self.closed.set()


@contextmanager
def piped(tmp_path: Path, name: str, first: bytes, rest: bytes, *, gzipped: bool = False) -> Iterator[PipeWriter]:
    fifo = tmp_path / name
    os.mkfifo(fifo)
    writer = PipeWriter(fifo, first, rest, gzipped=gzipped)
    writer.thread.start()
    try:
        yield writer
    finally:
        writer.released.set()
        writer.thread.join(SAFETY_S)


def first_then_rest(reader: BatchReader, writer: PipeWriter) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The first batch (taken while the writer still holds the pipe open) and every record after it."""
    try:
        batch = reader.next_batch()
        assert not writer.closed.is_set(), "the first batch only came once the writer had closed the pipe"
        writer.released.set()
        assert batch is not None
        first = list(batch.records)
        rest: list[dict[str, Any]] = []
        while (batch := reader.next_batch()) is not None:
            rest.extend(batch.records)
    finally:
        reader.close()
    assert writer.released_in_time
    return first, rest


Opener = Callable[[Path], BatchReader]


def csv_reader(path: Path) -> BatchReader:
    return CsvBatchReader(path, CsvDialect(), None, batch_size=10_000, chunk_size=ROW_CHUNK, eager=True)


def jsonl_reader(path: Path) -> BatchReader:
    return JsonLinesReader(path, None, batch_size=10_000, chunk_size=ROW_CHUNK, eager=True)


def json_array_reader(path: Path) -> BatchReader:
    return JsonArrayReader(path, None, batch_size=10_000, chunk_size=ROW_CHUNK, eager=True)


def xml_reader(path: Path) -> BatchReader:
    return XmlBatchReader(path, None, "row", batch_size=10_000, chunk_size=ROW_CHUNK, eager=True)


CASES: list[tuple[str, Opener, bytes, bytes]] = [
    ("csv", csv_reader, b"id,name\n1,ada\n", b"2,bob\n3,cy\n"),
    (
        "jsonl",
        jsonl_reader,
        b'{"id": "1", "name": "ada"}\n',
        b'{"id": "2", "name": "bob"}\n{"id": "3", "name": "cy"}\n',
    ),
    (
        "json",
        json_array_reader,
        b'[{"id": "1", "name": "ada"},',
        b'\n{"id": "2", "name": "bob"},\n{"id": "3", "name": "cy"}]\n',
    ),
    (
        "xml",
        xml_reader,
        b"<?xml version='1.0'?>\n<rows>\n<row><id>1</id><name>ada</name></row>\n",
        b"<row><id>2</id><name>bob</name></row>\n<row><id>3</id><name>cy</name></row>\n</rows>\n",
    ),
]
FIRST = [{"id": "1", "name": "ada"}]
REST = [{"id": "2", "name": "bob"}, {"id": "3", "name": "cy"}]


@pytest.mark.parametrize(("suffix", "opener", "first", "rest"), CASES, ids=[c[0] for c in CASES])
def test_an_eager_reader_returns_the_first_record_of_a_pipe_before_the_writer_closes_it(
    tmp_path: Path, suffix: str, opener: Opener, first: bytes, rest: bytes
) -> None:
    with piped(tmp_path, f"in.{suffix}", first, rest) as writer:
        got_first, got_rest = first_then_rest(opener(writer.fifo), writer)
    assert got_first == FIRST
    assert got_rest == REST


@pytest.mark.parametrize(("suffix", "opener", "first", "rest"), CASES[1:], ids=[c[0] for c in CASES[1:]])
def test_an_eager_reader_returns_the_first_record_of_a_gzipped_pipe_before_the_writer_closes_it(
    tmp_path: Path, suffix: str, opener: Opener, first: bytes, rest: bytes
) -> None:
    with piped(tmp_path, f"in.{suffix}.gz", first, rest, gzipped=True) as writer:
        got_first, got_rest = first_then_rest(opener(writer.fifo), writer)
    assert got_first == FIRST
    assert got_rest == REST


def test_an_eager_reader_counts_the_bytes_of_a_pipe_which_has_no_position(tmp_path: Path) -> None:
    first, rest = CASES[1][2], CASES[1][3]
    with piped(tmp_path, "count.jsonl", first, rest) as writer:
        reader = jsonl_reader(writer.fifo)
        sizes: list[int] = []
        try:
            while (batch := reader.next_batch()) is not None:
                sizes.append(batch.bytes_read)
                writer.released.set()
        finally:
            reader.close()
    assert sum(sizes) == len(first) + len(rest)
    assert sizes[0] == len(first)


def test_an_eager_xml_reader_gives_the_same_records_as_a_bulk_one_at_any_chunk_boundary(tmp_path: Path) -> None:
    # records under wrappers, a record holding an element of the record tag, attributes, mixed text, namespaces
    doc = (
        '<?xml version="1.0"?>\n<ns:catalog xmlns:ns="urn:x">'
        "<group><row id='1'><v>a</v></row><row><v>b</v><row>inner</row></row></group>"
        "<ns:row><v>c</v> tail <w/></ns:row>"
        "<other><deeper><row><v>d</v></row></deeper></other><row/></ns:catalog>\n"
    )
    (tmp_path / "mixed.xml").write_text(doc, encoding="utf-8")

    def records(eager: bool, chunk: int) -> list[dict[str, Any]]:
        r = XmlBatchReader(tmp_path / "mixed.xml", None, "row", batch_size=2, chunk_size=chunk, eager=eager)
        out: list[dict[str, Any]] = []
        while (batch := r.next_batch()) is not None:
            out.extend(batch.records)
        r.close()
        return out

    expected = records(False, 1 << 16)
    assert expected == [
        {"@attrs": {"id": "1"}, "v": "a"},
        {"v": "b", "row": "inner"},
        {"v": "c", "w": None, "#text": "tail"},
        {"v": "d"},
        {},
    ]
    assert all(records(True, chunk) == expected for chunk in (1, 3, 7, 64, 1 << 16))


@pytest.mark.parametrize(
    ("comp_type", "suffix", "first", "rest"),
    [
        ("read_csv", "csv", CASES[0][2], CASES[0][3]),
        ("read_json", "jsonl", CASES[1][2], CASES[1][3]),
        ("read_xml", "xml", CASES[3][2], CASES[3][3]),
    ],
)
async def test_a_row_mode_job_delivers_the_first_record_of_a_pipe_to_the_sink_while_it_is_open(
    data_dir: Path, comp_type: str, suffix: str, first: bytes, rest: bytes
) -> None:
    job = make_job(component("read", comp_type, filepath=f"in.{suffix}"), list_sink("sink"), strategy="row")
    seen_open: list[bool] = []

    async def watch(executor: JobExecutor) -> None:
        sink = await live_metrics(executor, "sink")
        await wait_until(lambda: sink.records_in >= 1)
        seen_open.append(not writer.closed.is_set())
        writer.released.set()

    with piped(data_dir, f"in.{suffix}", first, rest) as writer:
        run = await run_watched(job, watch, data_dir=data_dir)
    assert run.status == "SUCCESS", run.state.error
    assert seen_open == [True]
    assert run.records("sink") == FIRST + REST
