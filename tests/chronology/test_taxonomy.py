"""The taxonomy data file is valid and agrees with the domain pack it was started from."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from fullpicture.chronology.taxonomy import CodeKind, Taxonomy, default_taxonomy, load_taxonomy

DOMAIN_TAXONOMY = Path(__file__).resolve().parents[3] / "shared" / "domain" / "concern-taxonomy.md"


def _domain_rows() -> dict[str, int]:
    rows: dict[str, int] = {}
    for line in DOMAIN_TAXONOMY.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 5 and re.fullmatch(r"[A-Z]{2,4}(-[A-Z]{2,4})?", cells[0]):
            rows[cells[0]] = int(cells[3][0])
    return rows


@pytest.mark.skipif(not DOMAIN_TAXONOMY.exists(), reason="shared/domain is not beside the checkout")
def test_every_domain_code_is_in_the_data_file_with_its_default_severity() -> None:
    domain = _domain_rows()
    assert len(domain) == 31
    taxonomy = default_taxonomy()
    for code, severity in domain.items():
        entry = taxonomy.get(code)
        assert entry is not None, f"{code} missing from concern_taxonomy.yaml"
        assert entry.kind is CodeKind.CONCERN
        assert entry.default_severity == severity, code


def test_strengths_and_process_codes_carry_no_severity() -> None:
    taxonomy = default_taxonomy()
    assert taxonomy.codes_of_kind(CodeKind.STRENGTH)
    for entry in taxonomy.codes:
        if entry.kind is not CodeKind.CONCERN:
            assert entry.default_severity == 0, entry.code
        else:
            assert 1 <= entry.default_severity <= 5, entry.code


def test_a_duplicated_code_is_refused(tmp_path: Path) -> None:
    raw = yaml.safe_load(Path(default_taxonomy_path()).read_text(encoding="utf-8"))
    raw["codes"].append(raw["codes"][0])
    broken = tmp_path / "taxonomy.yaml"
    broken.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ValueError, match="listed twice"):
        load_taxonomy(broken)


def test_lookup() -> None:
    taxonomy: Taxonomy = default_taxonomy()
    assert "WNB" in taxonomy
    assert "NOPE" not in taxonomy
    wnb = taxonomy.get("WNB")
    assert wnb is not None and wnb.severity_if == {"on_plan": 3, "repeated": 3}


def default_taxonomy_path() -> Path:
    from fullpicture.chronology.taxonomy import TAXONOMY_FILE

    return TAXONOMY_FILE
