"""The element model's trainer: it leaves out referrals without gold, counts what it was trained
on from the data, and never reads the test split (a fake corpus whose test labels, were they
read, would change the model)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("sklearn")  # a training-time dependency (dev extra), not a run-time one

from bench import train_element_model as trainer

ROLE = "I am the class teacher at Selsdon Primary."
PHONE = "I am the class teacher at Selsdon Primary, 020 8657 1111."
EVENT = " Leo, aged 7, came in with a bruise on his arm on 23/11/2026."
OTHER_ELEMENTS = {f"R{n}": "absent" for n in range(2, 21) if n != 19}


def _write(path: Path, content: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")


def _corpus(
    root: Path, referrals: list[tuple[str, str, str, str | None]], *, broken_test: bool = False
) -> Path:
    """(id, part, text, R1 gold or None for not yet labelled) -> a corpus folder as imported."""
    for ident, part, text, r1 in referrals:
        if broken_test and part == "test":
            # Not YAML: opening a test text or label would fail the training.
            for folder in ("texts", "labels/final"):
                (root / folder).mkdir(parents=True, exist_ok=True)
                (root / folder / f"{ident}.yaml").write_text("{ not: [yaml", encoding="utf-8")
            continue
        _write(
            root / "texts" / f"{ident}.yaml",
            {"id": ident, "referral_date": "2026-11-24", "text": text},
        )
        labels = {
            "id": ident,
            "elements": {e: {"status": s} for e, s in ({"R1": r1} | OTHER_ELEMENTS).items()},
            "vague": [],
            "codes": [],
        }
        # Not yet labelled: one annotator only, no third reading (gold_for cannot be built).
        _write(root / "labels" / ("final" if r1 is not None else "A1") / f"{ident}.yaml", labels)
    _write(root / "split.yaml", {"split": {ident: part for ident, part, _, _ in referrals}})
    return root


def _referrals(test_r1: str, *, against_the_standard: bool = False) -> list[Any]:
    # Train and dev: a role with a phone is a full account of the referrer, a role alone partial
    # (as the standard says), or the other way round ``against_the_standard``.
    with_phone, role_alone = (
        ("partial", "present") if against_the_standard else ("present", "partial")
    )
    train = [
        (f"REF-{n:03d}", "train", (PHONE if n % 2 else ROLE) + EVENT, with_phone if n % 2 else role_alone)
        for n in range(1, 13)
    ]  # fmt: skip
    dev = [
        (f"REF-{n:03d}", "dev", (PHONE if n % 2 else ROLE) + EVENT, with_phone if n % 2 else role_alone)
        for n in range(13, 19)
    ]  # fmt: skip
    # Test gives the role alone as a full account, the opposite of train and dev.
    test = [(f"REF-{n:03d}", "test", ROLE + EVENT, test_r1) for n in range(19, 31)]
    unlabelled = [("REF-031", "train", PHONE + EVENT, None)]
    return train + dev + test + unlabelled


def test_unlabelled_referrals_are_left_out_and_the_model_says_what_it_was_trained_on(
    tmp_path: Path,
) -> None:
    result = trainer.train(1, _corpus(tmp_path, _referrals("present")), ())
    trained_on = result["model"]["trained_on"]
    assert trained_on["fitted_on_split_train"] == {
        "referrals": 12,
        "by_batch": {"1": 12},
        "left_out_unlabelled": 1,
    }
    assert trained_on["chosen_on_split_dev"]["referrals"] == 6
    assert result["report"]["R1"]["dev_n"] == 6


def test_the_test_split_is_never_read(tmp_path: Path) -> None:
    one = trainer.train(1, _corpus(tmp_path / "a", _referrals("present")), ())
    other = trainer.train(1, _corpus(tmp_path / "b", _referrals("partial")), ())
    unreadable = trainer.train(
        1, _corpus(tmp_path / "c", _referrals("present"), broken_test=True), ()
    )
    assert one == other == unreadable
    with pytest.raises(ValueError):
        trainer.rows_of("test", tmp_path / "a")


def test_the_test_labels_would_change_the_model_were_they_read(tmp_path: Path) -> None:
    # The comparison above can fail: the same test referrals counted as train move R1's model.
    kept_apart = trainer.train(1, _corpus(tmp_path / "a", _referrals("present")), ())
    read = [(i, "train" if p == "test" else p, t, r1) for i, p, t, r1 in _referrals("present")]
    mixed_in = trainer.train(1, _corpus(tmp_path / "b", read), ())
    assert kept_apart["report"]["R1"]["model_right"] == 6
    assert mixed_in["report"]["R1"]["model_right"] < 6


def test_a_model_that_reads_the_projects_own_texts_worse_than_the_rules_is_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Train and dev read R1 against the standard: the model gains on dev over the rules.
    folder = _corpus(tmp_path / "a", _referrals("present", against_the_standard=True))
    assert "R1" in trainer.train(1, folder, ())["model"]["elements"]
    # The project's own texts (here: texts labelled as the standard reads R1) refuse it.
    standard = trainer.rows_of("dev", _corpus(tmp_path / "b", _referrals("present")))
    monkeypatch.setattr(trainer, "project_rows", lambda parts: standard.rows)
    refused = trainer.train(1, folder, ("tuning",))
    assert "R1" not in refused["model"]["elements"]
    row = refused["report"]["R1"]
    assert row["project_model_right"] < row["project_rules_right"]
