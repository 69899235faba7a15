"""The independent-corpus harness: kappa, the seeded split and the agreed-only gold fallback."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from bench.referral_corpus import (
    CorpusItem,
    Labels,
    annotator_ceiling,
    cohen_kappa,
    disagreements,
    draw_split,
    gold_for,
    import_corpus,
    load_batches,
    load_corpus,
    load_rereads,
    load_split,
    reread_agreement,
)


def test_kappa_matches_a_worked_example() -> None:
    # 50 items: raters agree on 20 yes + 15 no; chance agreement 0.5 -> kappa 0.4.
    first = ["yes"] * 25 + ["no"] * 25
    second = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(first, second) == pytest.approx(0.4)
    assert cohen_kappa(["a", "b"], ["a", "b"]) == pytest.approx(1.0)
    assert cohen_kappa(["a", "a"], ["a", "a"]) is None


def test_split_is_seeded_stratified_and_keeps_thirty_percent_for_test() -> None:
    ids = [f"REF-{n:03d}" for n in range(1, 161)]
    tiers = {ident: ("good", "middling", "poor")[n % 3] for n, ident in enumerate(ids)}
    split = draw_split(ids, tiers=tiers)
    assert split == draw_split(list(reversed(ids)), tiers=tiers)
    assert sum(part == "test" for part in split.values()) >= 0.3 * len(ids)
    for tier in ("good", "middling", "poor"):
        members = [i for i in ids if tiers[i] == tier]
        assert sum(split[i] == "test" for i in members) >= 0.3 * len(members)


def _labels(r5: str, vague: list[tuple[str, str]]) -> Labels:
    elements = {f"R{n}": "absent" for n in range(1, 21) if n != 19} | {"R5": r5}
    return Labels(elements=elements, vague=vague, codes=set())


def test_without_final_labels_only_what_both_annotators_agree_on_is_gold() -> None:
    item = CorpusItem(
        id="REF-999",
        text="Mum seems fine. There were some concerns lately about school.",
        referral_date=dt.date(2026, 11, 23),
        meta={},
        annotations={
            "A1": _labels("partial", [("seems fine", "hedge"), ("some concerns", "unquantified")]),
            "A2": _labels("present", [("seems fine", "hedge"), ("lately", "unquantified")]),
        },
    )
    gold = gold_for(item)
    assert gold.source == "agreed"
    assert gold.elements["R5"] is None  # disagreement: left out, not guessed
    assert gold.elements["R1"] == "absent"
    assert [item.text[s:e] for s, e, _ in gold.vague] == ["seems fine"]
    assert sorted(item.text[s:e] for s, e in gold.contested) == ["lately", "some concerns"]
    item.annotations["final"] = _labels("partial", [("lately", "unquantified")])
    final = gold_for(item)
    assert final.source == "final"
    assert final.elements["R5"] == "partial"
    assert [item.text[s:e] for s, e, _ in final.vague] == ["lately"]


def _write_referral(folder: Path, ident: str) -> None:
    (folder / f"{ident}.yaml").write_text(
        yaml.safe_dump(
            {
                "id": ident,
                "referrer_kind": "gp",
                "agency": "gp",
                "form": "email",
                "referral_date": "2026-01-05",
                "text": f"Referral {ident}: Mum seems fine.",
            }
        ),
        encoding="utf-8",
    )


def _label(folder: Path, ident: str, r5: str, vague: list[dict[str, str]]) -> None:
    elements = {f"R{n}": {"status": "absent"} for n in range(1, 21) if n != 19}
    elements["R5"] = {"status": r5} | ({"missing": "no date"} if r5 == "partial" else {})
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{ident}.yaml").write_text(
        yaml.safe_dump({"id": ident, "elements": elements, "vague": vague, "codes": ["WNB"]}),
        encoding="utf-8",
    )


def test_a_second_batch_keeps_every_earlier_part_and_draws_its_own(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    first, second = tmp_path / "first", tmp_path / "second"
    for source, numbers, seed in ((first, range(1, 31), 1), (second, range(31, 61), 2)):
        (source / "referrals").mkdir(parents=True)
        for n in numbers:
            _write_referral(source / "referrals", f"REF-{n:03d}")
        (source / f"manifest-writer-{seed}.yaml").write_text(
            yaml.safe_dump(
                {
                    "referrals": [
                        {"id": f"REF-{n:03d}", "intended_quality": ("good", "poor")[n % 2]}
                        for n in numbers
                    ]
                }
            ),
            encoding="utf-8",
        )
    import_corpus(first, corpus=corpus, seed=11)
    before = load_split(corpus)
    assert len(before) == 30
    counts = import_corpus(second, corpus=corpus, seed=12)
    after = load_split(corpus)
    assert counts["new_in_split"] == 30
    assert {k: after[k] for k in before} == before  # nothing earlier moves
    batches = load_batches(corpus)
    assert batches[1] == set(before)
    assert batches[2] == {f"REF-{n:03d}" for n in range(31, 61)}
    assert sum(after[i] == "test" for i in batches[2]) >= 9
    # Importing the same folder again changes nothing.
    assert import_corpus(second, corpus=corpus, seed=12)["new_in_split"] == 0
    assert load_split(corpus) == after
    assert len(load_batches(corpus)) == 2


def test_the_third_reader_sees_each_disagreement_and_what_is_agreed(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "texts").mkdir(parents=True)
    _write_referral(corpus / "texts", "REF-001")
    _label(
        corpus / "labels" / "A1",
        "REF-001",
        "partial",
        [{"phrase": "seems fine", "family": "hedge"}],
    )
    _label(
        corpus / "labels" / "A2",
        "REF-001",
        "absent",
        [{"phrase": "Mum seems fine", "family": "hedge"}],
    )
    sheet = disagreements(corpus)["REF-001"]
    assert set(sheet["disputed_elements"]) == {"R5"}
    assert sheet["disputed_elements"]["R5"]["A1"] == {"status": "partial", "missing": "no date"}
    assert "R4" in sheet["agreed_elements"]
    # Differently bounded, same family: agreed, not disputed.
    assert sheet["agreed_vague"] == [{"phrase": "seems fine", "family": "hedge"}]
    assert sheet["disputed_vague"] == []
    assert sheet["agreed_codes"] == ["WNB"]


def _corpus_with_a_reread(tmp_path: Path, settled: str) -> Path:
    corpus = tmp_path / "corpus"
    (corpus / "texts").mkdir(parents=True)
    for ident in ("REF-001", "REF-002"):
        _write_referral(corpus / "texts", ident)
        _label(corpus / "labels" / "final", ident, "partial", [])
    (corpus / "split.yaml").write_text(
        yaml.safe_dump(
            {
                "batches": [{"batch": 1, "seed": 1, "ids": ["REF-001", "REF-002"]}],
                "split": {"REF-001": "train", "REF-002": "dev"},
            }
        ),
        encoding="utf-8",
    )
    reread = corpus / "labels" / "reread"
    (reread / "R11-readers").mkdir(parents=True)
    for reader, second in (("r1", "partial"), ("r2", settled)):
        (reread / "R11-readers" / f"{reader}.yaml").write_text(
            yaml.safe_dump(
                {
                    "REF-001": {"status": "partial", "reason": "own school only"},
                    "REF-002": {"status": second, "reason": "the GP is named"},
                }
            ),
            encoding="utf-8",
        )
    (reread / "R11.yaml").write_text(
        yaml.safe_dump(
            {
                "element": "R11",
                "labels": {
                    "REF-001": {"status": "partial"},
                    "REF-002": {"status": settled, "settled": "third reading"},
                },
            }
        ),
        encoding="utf-8",
    )
    return corpus


def test_a_blind_rereading_replaces_only_its_element_and_can_be_left_out(tmp_path: Path) -> None:
    corpus = _corpus_with_a_reread(tmp_path, settled="present")
    assert load_rereads(corpus) == {"REF-001": {"R11": "partial"}, "REF-002": {"R11": "present"}}
    items = {item.id: item for item in load_corpus(corpus)}
    gold = gold_for(items["REF-002"])
    assert gold.elements["R11"] == "present"  # first settled absent
    assert gold.elements["R5"] == "partial"  # other elements keep their first settlement
    assert gold.reread == ("R11",)
    original = {item.id: item for item in load_corpus(corpus, original_gold=True)}
    first = gold_for(original["REF-002"])
    assert first.elements["R11"] == "absent"
    assert first.reread == ()


def test_rereaders_agreement_and_what_moved(tmp_path: Path) -> None:
    corpus = _corpus_with_a_reread(tmp_path, settled="present")
    result = reread_agreement("R11", corpus)
    assert result["referrals"] == 2
    assert result["observed"] == 0.5
    assert result["by_batch"]["batch 1"]["changed"] == 2  # both absent at first
    assert result["by_batch"]["batch 1"]["re-read"] == {"partial": 1, "present": 1}


def test_a_rereading_with_an_unknown_status_is_refused(tmp_path: Path) -> None:
    corpus = _corpus_with_a_reread(tmp_path, settled="maybe")
    with pytest.raises(SystemExit, match="maybe"):
        load_rereads(corpus)


def test_the_human_ceiling_scores_each_annotator_by_the_checkers_rule() -> None:
    # Settled gold: "seems fine" (hedge) and "lately" (unquantified). A1 marked the hedge
    # with the wrong family and a phrase the third reader dropped; A2 marked "lately" by a
    # longer span (overlap counts, as for the checker) and missed the hedge.
    text = "Mum seems fine. There were some concerns lately about school."
    final = [("seems fine", "hedge"), ("lately", "unquantified")]
    item = CorpusItem(
        id="REF-998",
        text=text,
        referral_date=dt.date(2026, 11, 23),
        meta={},
        annotations={
            "A1": _labels(
                "present", [("seems fine", "reassurance"), ("some concerns", "unquantified")]
            ),
            "A2": _labels("present", [("concerns lately", "unquantified")]),
            "final": _labels("present", final),
        },
    )
    rows = annotator_ceiling([item])
    assert rows["A1"]["hedge"] == {"precision": None, "recall": 0.0, "predicted": 0, "gold": 1}
    assert rows["A1"]["reassurance"]["precision"] == 0.0
    assert rows["A1"]["unquantified"]["precision"] == 0.0  # "some concerns" misses "lately"
    assert rows["A1"]["any"]["precision"] == 0.5  # the wrong-family hedge still overlaps gold
    # With the family required, the wrong-family hedge is wrong: 0 of 2 right, 0 of 2 found.
    assert rows["A1"]["family"] == {"precision": 0.0, "recall": 0.0, "predicted": 2, "gold": 2}
    assert rows["A2"]["unquantified"] == {
        "precision": 1.0,
        "recall": 1.0,
        "predicted": 1,
        "gold": 1,
    }
    assert rows["A2"]["any"]["recall"] == 0.5
    # A1 against A2: A1's "some concerns" overlaps A2's "concerns lately", same family.
    assert rows["A1 vs A2"]["unquantified"]["precision"] == 1.0
    assert rows["A1 vs A2"]["reassurance"]["precision"] == 0.0
