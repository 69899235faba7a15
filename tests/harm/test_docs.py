"""docs/cumulative-harm.md names every rule the model file holds, so neither drifts alone."""

from __future__ import annotations

from pathlib import Path

from fullpicture.harm.engine import THRESHOLD_KIND
from fullpicture.harm.harm_model import default_harm_model

DOC = Path(__file__).resolve().parents[2] / "docs" / "cumulative-harm.md"


def test_every_modifier_and_alert_kind_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    model = default_harm_model()
    names = [m.name for m in model.modifiers]
    names += [p.kind for p in model.alerts.patterns]
    names += [s.kind for s in model.alerts.serious_alone]
    names.append(THRESHOLD_KIND)
    missing = [name for name in names if f"`{name}`" not in text]
    assert missing == [], f"document these in docs/cumulative-harm.md: {missing}"
