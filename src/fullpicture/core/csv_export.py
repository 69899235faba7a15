"""CSV lines for exports that people open in a spreadsheet, safe from formula injection.

A cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by
Excel, LibreOffice and Google Sheets as a formula (``=HYPERLINK(...)`` can send data away,
``=cmd|...`` once ran programs). As OWASP's "CSV Injection" advice says, such a cell is
written with a leading ``'`` (which spreadsheets take as "this is text" and hide) and the
whole field is quoted. Every CSV export of fullpicture — the chronology (API and CLI), the
quarantine export, the partnership dashboard's, and ``fullpicture link``'s CLUSTERS.csv —
writes its lines with ``csv_line``.

The full-width forms (``＝ ＋ － ＠``) are neutralised too: some spreadsheets in East Asian
locales take them as the ASCII ones when a formula is typed.
"""

from __future__ import annotations

from collections.abc import Iterable

#: First characters that make a spreadsheet read a cell as a formula (OWASP CSV Injection).
FORMULA_TRIGGERS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
#: A cell holding one of these is quoted (RFC 4180, plus ``#``, which pandas, R and DuckDB
#: read as the start of a comment when unquoted).
_NEEDS_QUOTES = frozenset(',"#\r\n')


def neutralise_formula(text: str) -> str:
    """``text`` as a spreadsheet shows it but never evaluates it: a leading ``'`` before a
    formula trigger; other text unchanged."""
    if text[:1] in FORMULA_TRIGGERS:
        return "'" + text
    return text


def csv_cell(value: str | int | None) -> str:
    """One field of a CSV line: neutralised, and quoted when it holds a separator, a quote,
    a line break, ``#`` or was neutralised (OWASP: quote the field as well)."""
    text = "" if value is None else str(value)
    if text[:1] in FORMULA_TRIGGERS or _NEEDS_QUOTES.intersection(text):
        return '"' + neutralise_formula(text).replace('"', '""') + '"'
    return text


def csv_line(cells: Iterable[str | int | None]) -> str:
    """One CSV line (RFC 4180, CRLF) of spreadsheet-safe cells."""
    return ",".join(csv_cell(cell) for cell in cells) + "\r\n"
