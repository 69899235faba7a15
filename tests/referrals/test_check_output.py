"""The whole check, byte for byte, on every labelled text the rules may be tuned on.

Work on the checker's speed must not change what it says. ``check_digests.json`` holds a
digest of each text's full check JSON (elements, spans, questions, vague phrases, score) and
of its concern suggestions, for the project's tuning and held-out texts and the corpus's train
and dev splits (never test: its texts are not read for tuning). A change of rules that is
meant to change the output is recorded by writing the file again:

    PYTHONPATH=src python tests/referrals/test_check_output.py --write

and the commit says what changed and why.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
from pathlib import Path

import yaml

from fullpicture.referrals.checker import analyse_referral_text, check_from_analysis
from fullpicture.referrals.classifier import suggestions_from_analysis
from fullpicture.referrals.rulebook import default_rulebook

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "bench" / "data" / "referrals"
DIGESTS = Path(__file__).resolve().parent / "check_digests.json"


def _texts() -> list[tuple[str, str, dt.date]]:
    texts = []
    for part in ("tuning", "heldout"):
        raw = yaml.safe_load((DATA / f"{part}.yaml").read_text(encoding="utf-8"))
        texts.extend((item["id"], item["text"], item["referral_date"]) for item in raw["items"])
    corpus = DATA / "corpus"
    split = yaml.safe_load((corpus / "split.yaml").read_text(encoding="utf-8"))["split"]
    for ref, part in sorted(split.items()):
        if part not in ("train", "dev"):
            continue  # the test split is scored once by the lead, never read while tuning
        raw = yaml.safe_load((corpus / "texts" / f"{ref}.yaml").read_text(encoding="utf-8"))
        day = raw["referral_date"]
        texts.append(
            (ref, raw["text"], dt.date.fromisoformat(day) if isinstance(day, str) else day)
        )
    return texts


def current_digests() -> dict[str, str]:
    """A digest per text of its check and concern suggestions as the API would return them."""
    book = default_rulebook()
    digests = {}
    for ident, text, day in _texts():
        analysis = analyse_referral_text(text, referral_date=day, rulebook=book)
        check = check_from_analysis(analysis, referral_date=day, rulebook=book)
        suggestions = [s.as_dict() for s in suggestions_from_analysis(analysis, rulebook=book)]
        body = json.dumps(
            {"check": check.model_dump(mode="json"), "suggestions": suggestions},
            sort_keys=True,
            default=str,
        )
        digests[ident] = hashlib.sha256(body.encode("utf-8")).hexdigest()
    return digests


def test_every_check_reads_as_recorded() -> None:
    recorded = json.loads(DIGESTS.read_text(encoding="utf-8"))
    now = current_digests()
    assert sorted(now) == sorted(recorded["checks"]), "the labelled texts changed"
    changed = sorted(ident for ident, digest in now.items() if recorded["checks"][ident] != digest)
    assert not changed, (
        f"the check now reads differently on {len(changed)} texts ({', '.join(changed[:12])}"
        f"{' …' if len(changed) > 12 else ''}); rules recorded at "
        f"{recorded['rule_versions']}, now {default_rulebook().versions}. If the change is "
        "meant, write the digests again (see this module's docstring)."
    )


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit(__doc__)
    DIGESTS.write_text(
        json.dumps(
            {"rule_versions": default_rulebook().versions, "checks": current_digests()},
            indent=1,
            sort_keys=True,
        )
        + "\n",
        encoding="utf-8",
    )
