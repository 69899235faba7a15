"""Every page of a long chronology PDF carries the marking line: protective marking, the
child, who produced it, for whom and when (issue 14: "on every page")."""

from __future__ import annotations

import re
import zlib

import pytest

from fullpicture.chronology import export
from fullpicture.chronology.repository import Chronology
from tests.chronology.test_curiosity import chronology_entry

MARKING = (
    "OFFICIAL-SENSITIVE  |  Amelia Okafor, born 14 March 2016  |  "
    "produced by j.smith for Strategy meeting on 4 December 2026"
)


def test_every_page_of_a_many_page_pdf_carries_the_marking_at_top_and_foot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The core font writes text as plain strings, so the test can read it back.
    monkeypatch.setattr(export, "UNICODE_FONTS", [])
    words = "what happened, who was there and what was done. " * 3
    entries = [chronology_entry(f"Entry {i}: {words}", days_ago=i) for i in range(150)]
    chronology = Chronology(
        subject="child",
        subject_id=1,
        agency_code=None,
        entries=entries,
        incident_groups=[],
        incidents=len(entries),
        same_incident_rule="test",
    )
    pdf = export.chronology_pdf(chronology, title="Chronology", page_marking=MARKING)
    pages = len(re.findall(rb"/Type /Page\b", pdf))
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, flags=re.S)
    text = "".join(zlib.decompress(s).decode("latin-1", "replace") for s in streams)
    assert pages > 5
    assert text.count(MARKING) == 2 * pages
    assert text.count(f"page {pages} of ") == 1  # the total is written apart
