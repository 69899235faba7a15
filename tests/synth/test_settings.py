"""The synthesis settings file validates, and mistakes in it are reported clearly."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from fullpicture.agencies.models import AgencyKind
from fullpicture.synth.schemas import SETTINGS_FILE, load_settings


def _write(tmp_path: Path, change: dict[str, object]) -> Path:
    raw = yaml.safe_load(SETTINGS_FILE.read_text(encoding="utf-8"))
    raw.update(change)
    path = tmp_path / "synthesis.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_shipped_settings_are_valid() -> None:
    settings = load_settings()
    assert settings.version
    assert set(settings.knowledge) == set(AgencyKind)
    assert any(t.is_decoy for t in settings.trajectories)
    assert any(not t.is_decoy for t in settings.trajectories)
    for kind in AgencyKind:
        rates = settings.record_noise.for_kind(kind)
        assert 0 <= rates.nhs_number_held <= 1


def test_unknown_concern_code_is_rejected(tmp_path: Path) -> None:
    raw = yaml.safe_load(SETTINGS_FILE.read_text(encoding="utf-8"))
    raw["base_events"][0]["code"] = "NOT-A-CODE"
    path = tmp_path / "synthesis.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ValidationError, match="not a code of the concern taxonomy"):
        load_settings(path)


def test_unknown_noise_setting_is_rejected(tmp_path: Path) -> None:
    raw = yaml.safe_load(SETTINGS_FILE.read_text(encoding="utf-8"))
    raw["record_noise"]["by_agency_kind"]["gp"]["nhs_typo_rate"] = 0.1
    path = _write(tmp_path, {"record_noise": raw["record_noise"]})
    with pytest.raises(ValidationError, match="unknown noise setting"):
        load_settings(path)


def test_a_step_must_be_about_the_subject(tmp_path: Path) -> None:
    raw = yaml.safe_load(SETTINGS_FILE.read_text(encoding="utf-8"))
    raw["trajectories"][0]["steps"][0]["people"] = [{"who": "mother", "role": "victim"}]
    path = _write(tmp_path, {"trajectories": raw["trajectories"]})
    with pytest.raises(ValidationError, match="must include the subject child"):
        load_settings(path)
