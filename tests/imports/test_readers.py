"""Reading feed files: tables from names, chunks, per-row encoding problems, file errors."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fullpicture.imports.readers import (
    FeedFileError,
    check_file,
    discover_feed,
    estimate_rows,
    read_chunks,
    table_of,
)
from tests.imports.feeds import event, record, write_csv, write_jsonl, write_parquet


@pytest.mark.parametrize(
    ("name", "table"),
    [
        ("records.csv", "records"),
        ("2026-11-gp-ashdown.events.jsonl", "events"),
        ("relationships.parquet", "relationships"),
        ("people.csv", None),
    ],
)
def test_table_from_file_name(name: str, table: str | None) -> None:
    assert table_of(Path(name)) == table


def test_a_directory_is_searched_records_first_and_truth_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "gp" / "truth").mkdir(parents=True)
    write_csv(tmp_path / "gp" / "events.csv", [event("E1")])
    write_csv(tmp_path / "gp" / "records.csv", [record("C1")])
    write_csv(tmp_path / "gp" / "truth" / "records.csv", [record("C1")])
    (tmp_path / "gp" / "notes.txt").write_text("not a feed file")
    files = discover_feed([tmp_path])
    assert [(f.table, f.path.parent.name) for f in files] == [("records", "gp"), ("events", "gp")]


def test_empty_directory_is_a_file_error(tmp_path: Path) -> None:
    with pytest.raises(FeedFileError, match="no feed files"):
        discover_feed([tmp_path])


def test_csv_rows_in_chunks_with_bom_and_numbers(tmp_path: Path) -> None:
    path = tmp_path / "records.csv"
    write_csv(path, [record(f"C{n}") for n in range(5)])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    (feed_file,) = discover_feed([path])
    check_file(feed_file)
    chunks = list(read_chunks(feed_file, 2))
    assert [len(chunk) for chunk in chunks] == [2, 2, 1]
    rows = [row for chunk in chunks for row in chunk]
    assert [row.number for row in rows] == [1, 2, 3, 4, 5]
    assert rows[0].values is not None and rows[0].values["agency"] == "gp-ashdown"
    assert estimate_rows(feed_file) == 5


def test_bad_bytes_quarantine_only_their_row(tmp_path: Path) -> None:
    path = tmp_path / "records.csv"
    path.write_bytes(
        b"agency,record_id,given_name\ngp-ashdown,C1,Zo\xc3\xab\ngp-ashdown,C2,Zo\xeb\ngp-ashdown,C3,Ann\n"
    )
    (feed_file,) = discover_feed([path])
    rows = next(read_chunks(feed_file, 100))
    assert rows[0].problems == []
    assert rows[0].values is not None and rows[0].values["given_name"] == "Zoë"
    assert rows[1].problems[0].field == "given_name"
    assert "\\xeb" in rows[1].raw()
    assert rows[2].problems == []


def test_jsonl_broken_line_and_non_object(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(
        b'{"agency": "gp-ashdown", "event_id": "E1"}\n{"agency": \n\n[1, 2]\n{"summary": "caf\xe9"}\n'
    )
    (feed_file,) = discover_feed([path])
    rows = next(read_chunks(feed_file, 100))
    assert [row.number for row in rows] == [1, 2, 4, 5]
    assert rows[0].problems == []
    assert "not valid JSON" in rows[1].problems[0].message and rows[1].values is None
    assert "not a JSON object" in rows[2].problems[0].message
    assert "not UTF-8" in rows[3].problems[0].message
    assert "\\xe9" in rows[3].raw()


def test_parquet_list_columns_come_through(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "events.parquet", [event("E1", people="C1:victim|C2:witness")])
    (feed_file,) = discover_feed([path])
    check_file(feed_file)
    (row,) = next(read_chunks(feed_file, 100))
    assert row.values is not None
    assert row.values["people"] == [
        {"record_id": "C1", "role": "victim"},
        {"record_id": "C2", "role": "witness"},
    ]


def test_missing_required_column_names_it(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "events.csv", [event("E1")], columns=["agency", "event_id"])
    (feed_file,) = discover_feed([path])
    with pytest.raises(
        FeedFileError, match="event_date, concern_code, summary, information_type, people"
    ):
        check_file(feed_file)


def test_jsonl_has_no_header_to_check(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "events.jsonl", [{"agency": "gp-ashdown"}])
    (feed_file,) = discover_feed([path])
    check_file(feed_file)  # missing fields are each row's problem, not the file's


def test_empty_csv_is_a_file_error(tmp_path: Path) -> None:
    path = tmp_path / "records.csv"
    path.write_text("")
    (feed_file,) = discover_feed([path])
    with pytest.raises(FeedFileError, match="empty"):
        check_file(feed_file)


# --- CSV read by polars must read exactly as the csv module does ---------------------------

_CELL = st.one_of(  # the csv module writes a lone "\r" unquoted, and reads it as a line end
    st.sampled_from(["", " ", "plain", "a,b", 'say "hi"', '"', "x\ny", "x\r\ny", "\r", "é€", "#"]),
    st.text(alphabet=st.sampled_from(list('ab ,"\n\r|:é')), max_size=6),
)


def _as_csv_module_reads(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = [name.strip().lower() for name in next(reader)]
        return [dict(zip(header, fields, strict=False)) for fields in reader if fields]


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(st.lists(_CELL, min_size=3, max_size=3), max_size=12),
    blank_lines=st.sets(st.integers(0, 12), max_size=3),
    line_ending=st.sampled_from(["\n", "\r\n"]),
    chunk_rows=st.integers(1, 5),
)
def test_csv_chunks_read_every_row_as_the_csv_module_does(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[list[str]],
    blank_lines: set[int],
    line_ending: str,
    chunk_rows: int,
) -> None:
    path = tmp_path_factory.mktemp("feed") / "events.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=line_ending)
    writer.writerow(["Agency", "event_id", "summary"])
    for number, fields in enumerate(rows):
        if number in blank_lines:
            buffer.write(line_ending)
        writer.writerow(fields)
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    (feed_file,) = discover_feed([path])
    read = [row for chunk in read_chunks(feed_file, chunk_rows) for row in chunk]
    expected = _as_csv_module_reads(path)
    assert [row.values for row in read] == expected
    assert [row.number for row in read] == list(range(1, len(expected) + 1))


def test_a_plain_csv_chunk_is_held_by_column(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text('agency,event_id,summary\ngp,E1,"Seen, well"\n\ngp,E2,"said ""no"""\n')
    (feed_file,) = discover_feed([path])
    (chunk,) = list(read_chunks(feed_file, 100))
    assert chunk.columns is not None
    assert chunk.columns["summary"].to_list() == ["Seen, well", 'said "no"']
    assert [row.number for row in chunk] == [1, 2]


def test_a_record_over_two_lines_hands_the_rest_of_the_file_to_the_csv_module(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.csv"
    lines = [f"gp,E{n},one line" for n in range(1, 5)]
    lines.insert(2, 'gp,E9,"two\nlines"')
    path.write_text("agency,event_id,summary\n" + "\n".join(lines) + "\n")
    (feed_file,) = discover_feed([path])
    chunks = list(read_chunks(feed_file, 2))
    read = [row for chunk in chunks for row in chunk]
    assert [row.number for row in read] == [1, 2, 3, 4, 5]
    assert [row.values["event_id"] for row in read if row.values] == ["E1", "E2", "E9", "E3", "E4"]
    assert read[2].values is not None and read[2].values["summary"] == "two\nlines"


def test_a_repeated_header_name_keeps_its_last_column_as_before(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("agency,summary,summary\ngp,first,second\n")
    (feed_file,) = discover_feed([path])
    (row,) = next(read_chunks(feed_file, 10))
    assert row.values == {"agency": "gp", "summary": "second"}


def test_a_parquet_file_of_text_columns_is_held_by_column(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    table = pa.table(
        {
            "Agency": pa.array(["gp", "gp", None], type=pa.large_string()),
            "event_id": ["E1", "E2", "E3"],
            "severity": pa.array([None, None, None], type=pa.null()),
        }
    )
    pq.write_table(table, path)
    (feed_file,) = discover_feed([path])
    chunks = list(read_chunks(feed_file, 2))
    assert all(chunk.columns is not None for chunk in chunks)
    read = [row for chunk in chunks for row in chunk]
    assert [row.number for row in read] == [1, 2, 3]
    assert [row.values for row in read] == [
        {key.lower(): value for key, value in values.items()} for values in table.to_pylist()
    ]


def test_a_parquet_file_with_typed_columns_is_read_row_by_row(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    pq.write_table(pa.table({"agency": ["gp"], "severity": pa.array([3], type=pa.int8())}), path)
    (feed_file,) = discover_feed([path])
    (chunk,) = list(read_chunks(feed_file, 10))
    assert chunk.columns is None
    assert chunk[0].values == {"agency": "gp", "severity": 3}
