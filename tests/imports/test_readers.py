"""Reading feed files: tables from names, chunks, per-row encoding problems, file errors."""

from __future__ import annotations

from pathlib import Path

import pytest

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
