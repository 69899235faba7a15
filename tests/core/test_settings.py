"""One settings object, every variable of it documented in the README's table."""

from __future__ import annotations

from pathlib import Path

from fullpicture.core.settings import AccessSettings, Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme_table() -> None:
    missing = [
        f"FULLPICTURE_{name.upper()}"
        for name in Settings.model_fields
        if f"| `FULLPICTURE_{name.upper()}` |" not in README
    ]
    assert missing == [], f"add these to the README's configuration table: {missing}"


def test_the_access_settings_are_part_of_the_one_object() -> None:
    assert set(AccessSettings.model_fields) < set(Settings.model_fields)
