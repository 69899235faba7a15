"""The independent-corpus harness: kappa, the seeded split and the agreed-only gold fallback."""

from __future__ import annotations

import datetime as dt

import pytest
from bench.referral_corpus import (
    CorpusItem,
    Labels,
    cohen_kappa,
    draw_split,
    gold_for,
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
