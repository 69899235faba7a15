"""Chronology exports: CSV for analysis, and a printable PDF in the shape practitioners use.

The PDF follows the chronology template (research-notes §7): date or period, significant
event, source, impact on the child, action taken; entries about one incident share a group
number so that nobody counts them twice.
"""

from __future__ import annotations

import io
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from fullpicture.chronology.repository import Chronology, ChronologyEntry
from fullpicture.core.csv_export import csv_line

CSV_COLUMNS = (
    "date",
    "date_precision",
    "event",
    "source",
    "impact_on_child",
    "action_taken",
    "concern_code",
    "category",
    "severity",
    "information_type",
    "about",
    "incident_group",
    "date_recorded",
    "agency_event_ref",
)
#: Starts the trailing line that counts entries the reader may not see (``held_elsewhere``).
#: A comment line, not a row, so every row stays an entry: pandas ``comment="#"``, R
#: ``comment.char = "#"`` and DuckDB ``comment = '#'`` skip it; no entry row starts with ``#``
#: (the first column is an ISO date), and cells holding ``#`` are quoted, since those readers
#: take an unquoted ``#`` anywhere as the start of a comment.
HELD_ELSEWHERE_MARKER = "# held_elsewhere"

# A Unicode font when the system has one (names such as "Climbié" and curly quotes);
# otherwise the PDF core font, with characters it cannot draw replaced.
UNICODE_FONTS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
)


def _source(entry: ChronologyEntry) -> str:
    return f"{entry.agency_name} ({entry.agency_kind.replace('_', ' ')}); {entry.information_type}"


def _event_text(entry: ChronologyEntry) -> str:
    severity = f", severity {entry.severity}" if entry.severity else ""
    about = "" if entry.about == "child" else f" [about: {entry.about}]"
    return f"{entry.summary} ({entry.concern_code}: {entry.category}{severity}){about}"


def chronology_csv(chronology: Chronology) -> str:
    """The chronology as CSV text, one row per entry, in date order.

    When the reader's role leaves entries out (``held_elsewhere``), a last line says how many,
    as the JSON and PDF do: ``# held_elsewhere entries=3 agencies=2: <message>``.
    """
    buffer = io.StringIO()
    buffer.write(csv_line(CSV_COLUMNS))
    for entry in chronology.entries:
        # csv_line neutralises formulas: a summary such as "=HYPERLINK(...)" or one that
        # arrived as "\t=1+1" (the importer strips the tab) is never run by a spreadsheet.
        buffer.write(
            csv_line(
                (
                    entry.event_date.isoformat(),
                    entry.date_precision.value,
                    entry.summary,
                    _source(entry),
                    entry.impact_on_child or "",
                    entry.action_taken or "",
                    entry.concern_code,
                    entry.category,
                    entry.severity if entry.severity is not None else "",
                    entry.information_type,
                    entry.about,
                    entry.incident_group or "",
                    entry.date_recorded.isoformat() if entry.date_recorded else "",
                    entry.event_ref,
                )
            )
        )
    held = chronology.held_elsewhere
    if held is not None:
        message = " ".join(held.message.split())  # one line, whatever the message holds
        buffer.write(
            f"{HELD_ELSEWHERE_MARKER} entries={held.entries} agencies={held.agencies}: "
            f"{message}\r\n"
        )
    return buffer.getvalue()


#: The protective marking every page of an export carries (Government Security
#: Classifications: personal data about children whose loss would cause harm).
PROTECTIVE_MARKING = "OFFICIAL-SENSITIVE"


class _MarkedPDF(FPDF):
    """A PDF whose every page carries the marking line at its top and foot, with page numbers,
    so a page printed or copied alone still says what it is, whose and from whom."""

    marking = PROTECTIVE_MARKING
    marking_font = "Helvetica"

    def header(self) -> None:
        self.set_font(self.marking_font, size=8)
        self.cell(0, 5, self.marking, align="C", new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(self.marking_font, size=8)
        self.cell(0, 5, f"{self.marking}  |  page {self.page_no()} of {{nb}}", align="C")


def chronology_pdf(chronology: Chronology, *, title: str, page_marking: str | None = None) -> bytes:
    """A printable landscape PDF: date, event, source, impact on the child, action taken.

    Every page is marked OFFICIAL-SENSITIVE at its top and foot; ``page_marking`` replaces
    that line (it should begin with the marking) to name the child, who produced the export,
    for whom and when.
    """
    pdf = _MarkedPDF(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=14)
    font = next((p for p in UNICODE_FONTS if p.exists()), None)
    if font is not None:
        pdf.add_font("Body", "", str(font))
        family = "Body"
    else:
        family = "Helvetica"

    def text(value: str) -> str:
        if font is not None:
            return value
        return value.encode("latin-1", "replace").decode("latin-1")

    pdf.marking = text(page_marking or PROTECTIVE_MARKING)
    pdf.marking_font = family
    pdf.add_page()
    pdf.set_font(family, size=14)
    pdf.multi_cell(0, 8, text(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=8)
    scope = (
        f"Single-agency view: {chronology.agency_code}. Other agencies hold "
        f"{chronology.entries_held_by_other_agencies} more entries you may see."
        if chronology.agency_code
        else "Combined view of the agencies' entries you may see."
    )
    if chronology.held_elsewhere is not None:
        scope += f" {chronology.held_elsewhere.message}"
    pdf.multi_cell(
        0,
        4,
        text(
            f"{scope} {len(chronology.entries)} entries, {chronology.incidents} incidents. "
            f"{chronology.same_incident_rule}"
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)
    heading = FontFace(emphasis="BOLD" if font is None else None, fill_color=(225, 225, 225))
    with pdf.table(
        col_widths=(24, 110, 48, 48, 47),
        headings_style=heading,
        line_height=4,
        text_align="LEFT",
    ) as table:
        table.row(
            [
                text(c)
                for c in (
                    "Date",
                    "Significant event",
                    "Source",
                    "Impact on the child",
                    "Action taken",
                )
            ]
        )
        for entry in chronology.entries:
            group = f"\nincident {entry.incident_group}" if entry.incident_group else ""
            table.row(
                [
                    text(entry.date_label + group),
                    text(_event_text(entry)),
                    text(_source(entry)),
                    text(entry.impact_on_child or "not recorded"),
                    text(entry.action_taken or "not recorded"),
                ]
            )
    return bytes(pdf.output())
