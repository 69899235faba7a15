"""The independent referral corpus: import, seeded split, annotator agreement and checker scores.

Usage (from the worktree root, PYTHONPATH=$PWD/src):
  python bench/referral_corpus.py import [--from /work/helpers/corpus]   # copy texts + labels, draw split
  python bench/referral_corpus.py agreement                             # Cohen's kappa A1 vs A2
  python bench/referral_corpus.py ceiling [--split train+dev|train|dev]  # annotators vs settled gold
  python bench/referral_corpus.py score --split train|dev|test|all [--errors] [--by-quality]
                                        [--rules-only]

The corpus (160 referrals by writers who never saw the checker, labelled by two annotators blind
to each other and to the checker; see bench/data/referrals/corpus/README.md) lives in
``bench/data/referrals/corpus/``: ``texts/REF-NNN.yaml``, ``labels/A1``, ``labels/A2`` and, once
the third reading is done, ``labels/final``. ``split.yaml`` is a seeded draw made once, at import,
before any checker result on the corpus was looked at; ``test`` is never used for tuning.

Gold labels: ``labels/final/REF-NNN.yaml`` where it exists. Otherwise the documented fallback
"agreed only": an element's gold status is the annotators' status where A1 and A2 agree and the
element is left out of scoring where they disagree; a vague phrase is gold where both annotators
marked overlapping text with the same family, and a checker phrase overlapping text only one
annotator marked (or both, with different families) is neither credited nor counted against the
checker. R19 is derived from each annotator's vague phrases and the word count (the standard's
density bands) and is gold where the two derived bands agree. Every score says which source it used.

Scores per split: per element, precision/recall/F1 of "present" (macro F1 = mean of the twenty)
as bench/referrals.py does; 3-way agreement (present/partial/absent); mean ordinal error, the
mean absolute distance on present=2, partial=1, absent=0 (a present read as absent costs 2);
vague phrases: precision and recall per family by overlap (a checker phrase counts for the family
its kind maps to, see FAMILY_OF_KIND).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import statistics
import sys
from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

CORPUS = ROOT / "bench" / "data" / "referrals" / "corpus"
DEFAULT_SOURCE = Path("/work/helpers/corpus")
ANNOTATORS = ("A1", "A2")
SPLIT_SEED = 20261206
SPLIT_SHARES = {"train": 0.5, "dev": 0.2, "test": 0.3}
ORDINAL = {"present": 2, "partial": 1, "absent": 0}
FAMILIES = ("hedge", "unquantified", "unattributed", "reassurance", "label", "minimiser")
# The checker's vague kinds (vague_lexicon.yaml) named by the annotation guide's families.
FAMILY_OF_KIND = {
    "hedged": "hedge",
    "hedge": "hedge",
    "unquantified": "unquantified",
    "unattributed": "unattributed",
    "global_reassurance": "reassurance",
    "reassurance": "reassurance",
    "judgement": "label",
    "blaming": "label",
    "label": "label",
    "minimising": "minimiser",
    "minimiser": "minimiser",
}
LABELLED_ELEMENTS = tuple(f"R{n}" for n in range(1, 21) if n != 19)
ALL_ELEMENTS = tuple(f"R{n}" for n in range(1, 21))

Span = tuple[int, int, str]  # start, end, family


# ---------------------------------------------------------------- import and split


def import_corpus(source: Path, *, corpus: Path = CORPUS, seed: int = SPLIT_SEED) -> dict[str, Any]:
    """Copy texts, both annotators' labels, final labels (if any) and the writers' manifests.

    Referrals already in ``split.yaml`` keep their part. Referrals new to the corpus are drawn
    into train/dev/test by their own seeded draw (``seed``), stratified the same way, and
    recorded as a new batch, so a later batch adds unspent test referrals without moving any
    earlier one (the earlier test split has been scored; the new one has not).
    """
    texts = sorted((source / "referrals").glob("REF-*.yaml"))
    if not texts:
        raise SystemExit(f"no referrals in {source / 'referrals'}")
    (corpus / "texts").mkdir(parents=True, exist_ok=True)
    for path in texts:
        shutil.copy2(path, corpus / "texts" / path.name)
    counts: dict[str, Any] = {"texts": len(texts)}
    for folder in (*ANNOTATORS, "final"):
        found = sorted((source / "labels" / folder).glob("REF-*.yaml"))
        if not found:
            continue
        (corpus / "labels" / folder).mkdir(parents=True, exist_ok=True)
        for path in found:
            shutil.copy2(path, corpus / "labels" / folder / path.name)
        counts[folder] = len(found)
    _merge_writer_manifests(source, corpus)
    split_file = corpus / "split.yaml"
    existing = yaml.safe_load(split_file.read_text(encoding="utf-8")) if split_file.exists() else {}
    split: dict[str, str] = dict(existing.get("split") or {})
    batches: list[dict[str, Any]] = list(existing.get("batches") or [])
    if split and not batches:
        # The first batch, recorded before batches were: every referral the split already held.
        batches.append({"batch": 1, "seed": existing.get("seed", SPLIT_SEED), "ids": sorted(split)})
    new_ids = sorted(p.stem for p in texts if p.stem not in split)
    if new_ids:
        drawn = draw_split(new_ids, tiers=_writer_tiers(corpus), seed=seed)
        split.update(drawn)
        batches.append({"batch": len(batches) + 1, "seed": seed, "ids": new_ids})
        split_file.write_text(
            "# Seeded draws (bench/referral_corpus.py draw_split), one per batch of referrals, each\n"
            "# stratified by the writer's intended quality and made at import, before any checker\n"
            "# result on that batch was looked at. A referral keeps its part for good. `test` is\n"
            "# never used for tuning.\n"
            + yaml.safe_dump(
                {
                    "seed": existing.get("seed", seed),
                    "shares": SPLIT_SHARES,
                    "batches": batches,
                    "split": dict(sorted(split.items())),
                },
                sort_keys=False,
            ),
            encoding="utf-8",
        )
    counts["new_in_split"] = len(new_ids)
    counts["split"] = dict(Counter(load_split(corpus).values()))
    return counts


def _merge_writer_manifests(source: Path, corpus: Path) -> None:
    """Union of the writers' intended quality (used to stratify and report by tier only)."""
    tiers = _writer_tiers(corpus)
    for manifest in [
        source / "referrals-manifest-writer.yaml",
        *sorted(source.glob("manifest-writer-*.yaml")),
    ]:
        if manifest.exists():
            raw = yaml.safe_load(manifest.read_text(encoding="utf-8")) or {}
            tiers.update({r["id"]: r["intended_quality"] for r in raw.get("referrals") or []})
    if not tiers:
        return
    (corpus / "writer-manifest.yaml").write_text(
        "# Writer's intended quality per referral (kept apart from annotators).\n"
        + yaml.safe_dump(
            {"referrals": [{"id": i, "intended_quality": q} for i, q in sorted(tiers.items())]},
            sort_keys=False,
        ),
        encoding="utf-8",
    )


def draw_split(ids: list[str], *, tiers: dict[str, str], seed: int = SPLIT_SEED) -> dict[str, str]:
    """Seeded split, stratified by tier so each part holds good, middling and poor alike."""
    rng = random.Random(seed)
    by_tier: dict[str, list[str]] = defaultdict(list)
    for ident in sorted(ids):
        by_tier[tiers.get(ident, "unknown")].append(ident)
    split: dict[str, str] = {}
    for tier in sorted(by_tier):
        members = by_tier[tier]
        rng.shuffle(members)
        n_test = round(len(members) * SPLIT_SHARES["test"] + 0.49)  # round up: test >= 30 %
        n_dev = round(len(members) * SPLIT_SHARES["dev"])
        for index, ident in enumerate(members):
            split[ident] = (
                "test" if index < n_test else "dev" if index < n_test + n_dev else "train"
            )
    return dict(sorted(split.items()))


def load_split(corpus: Path = CORPUS) -> dict[str, str]:
    return dict(yaml.safe_load((corpus / "split.yaml").read_text(encoding="utf-8"))["split"])


def load_batches(corpus: Path = CORPUS) -> dict[int, set[str]]:
    """Batch number -> its referral ids (one batch, every referral, before batches were kept)."""
    raw = yaml.safe_load((corpus / "split.yaml").read_text(encoding="utf-8"))
    batches = raw.get("batches")
    if not batches:
        return {1: set(raw["split"])}
    return {int(b["batch"]): set(b["ids"]) for b in batches}


def _writer_tiers(corpus: Path = CORPUS) -> dict[str, str]:
    path = corpus / "writer-manifest.yaml"
    if not path.exists():
        return {}
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {r["id"]: r["intended_quality"] for r in raw.get("referrals", [])}


# ---------------------------------------------------------------- labels


@dataclass
class Labels:
    elements: dict[str, str]
    vague: list[tuple[str, str]]
    codes: set[str]


@dataclass
class CorpusItem:
    id: str
    text: str
    referral_date: Any
    meta: dict[str, Any]
    annotations: dict[str, Labels] = field(default_factory=dict)
    #: Element statuses from a later blind re-reading of one element (``labels/reread``),
    #: which replace that element's gold; empty when scoring with the original gold.
    rereads: dict[str, str] = field(default_factory=dict)


def _read_labels(path: Path) -> Labels:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    elements = {key: value["status"] for key, value in (raw.get("elements") or {}).items()}
    vague = [
        (v["phrase"], FAMILY_OF_KIND.get(v["family"], v["family"])) for v in raw.get("vague") or []
    ]
    return Labels(elements=elements, vague=vague, codes=set(raw.get("codes") or []))


def load_rereads(corpus: Path = CORPUS) -> dict[str, dict[str, str]]:
    """The settled statuses of every blind re-reading (``labels/reread/R*.yaml``), by referral:
    an element whose batches were labelled by different conventions was read again, for that
    element only, by two new annotators blind to each other, to the old labels and to the
    checker, and their disagreements settled by a third (see ``labels/reread/README.md``)."""
    found: dict[str, dict[str, str]] = defaultdict(dict)
    for path in sorted((corpus / "labels" / "reread").glob("R*.yaml")):
        if path.stem not in ALL_ELEMENTS:
            continue  # the readers' own files and the third reading sit beside it
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        element = raw["element"]
        if element not in LABELLED_ELEMENTS:
            raise SystemExit(f"{path}: {element!r} is not a hand-labelled element")
        for ident, row in (raw.get("labels") or {}).items():
            status = row["status"]
            if status not in ORDINAL:
                raise SystemExit(f"{path}: {ident} has status {status!r}")
            found[ident][element] = status
    return dict(found)


def load_corpus(
    corpus: Path = CORPUS, *, ids: Collection[str] | None = None, original_gold: bool = False
) -> list[CorpusItem]:
    """Every referral, or only ``ids``: the others' files are not opened (a trainer asks for its
    split's referrals and never reads the test texts or labels). ``original_gold`` leaves the
    blind re-readings out, to score against the labels as first settled."""
    import datetime as dt

    rereads = {} if original_gold else load_rereads(corpus)
    items = []
    for path in sorted((corpus / "texts").glob("REF-*.yaml")):
        if ids is not None and path.stem not in ids:
            continue
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        day = raw["referral_date"]
        if isinstance(day, str):
            day = dt.date.fromisoformat(day)
        item = CorpusItem(
            id=raw["id"],
            text=raw["text"],
            referral_date=day,
            meta={k: raw.get(k) for k in ("referrer_kind", "agency", "form")},
            rereads=dict(rereads.get(raw["id"], {})),
        )
        for folder in (*ANNOTATORS, "final"):
            label_file = corpus / "labels" / folder / path.name
            if label_file.exists():
                item.annotations[folder] = _read_labels(label_file)
        items.append(item)
    return items


def phrase_spans(text: str, vague: list[tuple[str, str]]) -> list[Span]:
    """Every occurrence of each annotated phrase (the guide: every occurrence counts)."""
    spans: set[Span] = set()
    for phrase, family in vague:
        for found in re.finditer(rf"(?<!\w){re.escape(phrase.strip())}(?!\w)", text):
            spans.add((found.start(), found.end(), family))
    return sorted(spans)


def _word_count(text: str) -> int:
    from fullpicture.referrals.language import default_engine

    doc = default_engine().nlp.make_doc(text)
    return sum(1 for t in doc if t.is_alpha or t.like_num)


def r19_band(n_vague: int, words: int) -> str:
    from fullpicture.referrals.rulebook import default_rulebook

    bands = default_rulebook().standard.r19_density
    density = 100.0 * n_vague / words if words else 0.0
    if density <= bands.present_at_most:
        return "present"
    return "partial" if density <= bands.partial_at_most else "absent"


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


@dataclass
class Gold:
    """One item's gold labels; ``None`` status = left out (annotators disagree, no final)."""

    source: str  # "final" or "agreed"
    elements: dict[str, str | None]
    vague: list[Span]
    contested: list[tuple[int, int]]  # marked by one annotator only, or families differ
    reread: tuple[str, ...] = ()  # elements whose status is a blind re-reading's


def is_labelled(item: CorpusItem) -> bool:
    """Gold exists: a third reading, or both annotators' labels."""
    return "final" in item.annotations or all(name in item.annotations for name in ANNOTATORS)


def gold_for(item: CorpusItem) -> Gold:
    gold = _first_gold(item)
    for element, status in item.rereads.items():
        gold.elements[element] = status
    gold.reread = tuple(sorted(item.rereads))
    return gold


def _first_gold(item: CorpusItem) -> Gold:
    words = _word_count(item.text)
    if "final" in item.annotations:
        final = item.annotations["final"]
        spans = phrase_spans(item.text, final.vague)
        elements: dict[str, str | None] = {e: final.elements.get(e) for e in LABELLED_ELEMENTS}
        elements["R19"] = r19_band(len(spans), words)
        return Gold("final", elements, spans, [])
    a, b = (item.annotations[name] for name in ANNOTATORS)
    elements = {
        e: a.elements[e] if a.elements.get(e) == b.elements.get(e) else None
        for e in LABELLED_ELEMENTS
    }
    spans_a, spans_b = phrase_spans(item.text, a.vague), phrase_spans(item.text, b.vague)
    band_a, band_b = r19_band(len(spans_a), words), r19_band(len(spans_b), words)
    elements["R19"] = band_a if band_a == band_b else None
    agreed: list[Span] = []
    contested: list[tuple[int, int]] = []
    for span in spans_a:
        partners = [s for s in spans_b if _overlaps(span[:2], s[:2])]
        if any(p[2] == span[2] for p in partners):
            agreed.append(span)
        else:
            contested.append(span[:2])
    for span in spans_b:
        if not any(_overlaps(span[:2], s[:2]) and s[2] == span[2] for s in spans_a):
            contested.append(span[:2])
    return Gold("agreed", elements, agreed, contested)


# ---------------------------------------------------------------- agreement


def cohen_kappa(first: list[str], second: list[str]) -> float | None:
    """Cohen's kappa for two raters over the same items; None when chance agreement is total."""
    n = len(first)
    if n == 0:
        return None
    observed = sum(x == y for x, y in zip(first, second, strict=True)) / n
    count_a, count_b = Counter(first), Counter(second)
    expected = sum(count_a[k] * count_b[k] for k in set(count_a) | set(count_b)) / (n * n)
    if expected == 1.0:
        return None
    return (observed - expected) / (1 - expected)


def agreement(items: list[CorpusItem]) -> dict[str, Any]:
    """Kappa per element (3-way) and per vague family (token level, in-family or not)."""
    both = [i for i in items if all(name in i.annotations for name in ANNOTATORS)]
    per_element: dict[str, Any] = {}
    for element in ALL_ELEMENTS:
        first, second = [], []
        for item in both:
            a, b = (item.annotations[name] for name in ANNOTATORS)
            if element == "R19":
                words = _word_count(item.text)
                first.append(r19_band(len(phrase_spans(item.text, a.vague)), words))
                second.append(r19_band(len(phrase_spans(item.text, b.vague)), words))
            else:
                first.append(a.elements.get(element, "absent"))
                second.append(b.elements.get(element, "absent"))
        kappa = cohen_kappa(first, second)
        per_element[element] = {
            "kappa": None if kappa is None else round(kappa, 3),
            "observed": round(
                sum(x == y for x, y in zip(first, second, strict=True)) / len(first), 3
            ),
            "n": len(first),
        }
    per_family: dict[str, Any] = {}
    for family in (*FAMILIES, "any"):
        first, second = [], []
        matched = marked_a = marked_b = 0
        for item in both:
            a, b = (item.annotations[name] for name in ANNOTATORS)
            spans_a = [s for s in phrase_spans(item.text, a.vague) if family in ("any", s[2])]
            spans_b = [s for s in phrase_spans(item.text, b.vague) if family in ("any", s[2])]
            marked_a += len(spans_a)
            marked_b += len(spans_b)
            matched += sum(1 for s in spans_a if any(_overlaps(s[:2], t[:2]) for t in spans_b))
            for token in re.finditer(r"\w+", item.text):
                where = (token.start(), token.end())
                first.append(str(any(_overlaps(where, s[:2]) for s in spans_a)))
                second.append(str(any(_overlaps(where, s[:2]) for s in spans_b)))
        kappa = cohen_kappa(first, second)
        per_family[family] = {
            "token_kappa": None if kappa is None else round(kappa, 3),
            "phrases_A1": marked_a,
            "phrases_A2": marked_b,
            "A1_matched_by_A2": matched,
        }
    kappas = [v["kappa"] for v in per_element.values() if v["kappa"] is not None]
    return {
        "n_referrals": len(both),
        "per_element": per_element,
        "mean_element_kappa": round(statistics.mean(kappas), 3) if kappas else None,
        "per_family": per_family,
    }


def disagreements(corpus: Path = CORPUS, *, ids: set[str] | None = None) -> dict[str, Any]:
    """For the third reader: per referral, what A1 and A2 agree on and where they differ.

    Vague phrases are compared by the text they cover (overlap) and family, as the agreed-only
    gold compares them, so a phrase bounded differently but in the same family is agreed.
    """
    sheets: dict[str, Any] = {}
    for item in load_corpus(corpus):
        if (ids is not None and item.id not in ids) or not all(
            name in item.annotations for name in ANNOTATORS
        ):
            continue
        raw = {
            name: yaml.safe_load(
                (corpus / "labels" / name / f"{item.id}.yaml").read_text(encoding="utf-8")
            )
            for name in ANNOTATORS
        }
        agreed_elements: dict[str, Any] = {}
        disputed_elements: dict[str, Any] = {}
        for element in LABELLED_ELEMENTS:
            readings = {name: (raw[name].get("elements") or {}).get(element) for name in ANNOTATORS}
            statuses = {(r or {}).get("status") for r in readings.values()}
            if len(statuses) == 1:
                agreed_elements[element] = readings[ANNOTATORS[0]]
            else:
                disputed_elements[element] = readings
        vague = {name: raw[name].get("vague") or [] for name in ANNOTATORS}
        agreed_vague, disputed_vague = [], []
        spans = {
            name: [(s, v) for v in vague[name] for s in _spans_of(item.text, v)]
            for name in ANNOTATORS
        }
        first, second = ANNOTATORS
        for span, v in spans[first]:
            if any(_overlaps(span, t) and w["family"] == v["family"] for t, w in spans[second]):
                if v not in agreed_vague:
                    agreed_vague.append(v)
            elif {first: v} not in disputed_vague:
                disputed_vague.append({first: v})
        for span, v in spans[second]:
            matched = any(
                _overlaps(span, t) and w["family"] == v["family"] for t, w in spans[first]
            )
            if not matched and {second: v} not in disputed_vague:
                disputed_vague.append({second: v})
        codes = {name: set(raw[name].get("codes") or []) for name in ANNOTATORS}
        sheets[item.id] = {
            "id": item.id,
            "agreed_elements": agreed_elements,
            "disputed_elements": disputed_elements,
            "agreed_vague": agreed_vague,
            "disputed_vague": disputed_vague,
            "agreed_codes": sorted(codes[first] & codes[second]),
            "disputed_codes": {
                f"only {first}": sorted(codes[first] - codes[second]),
                f"only {second}": sorted(codes[second] - codes[first]),
            },
        }
    return sheets


def _spans_of(text: str, vague: dict[str, str]) -> list[tuple[int, int]]:
    return [
        (found.start(), found.end())
        for found in re.finditer(rf"(?<!\w){re.escape(str(vague['phrase']).strip())}(?!\w)", text)
    ]


def reread_agreement(element: str, corpus: Path = CORPUS) -> dict[str, Any]:
    """Cohen's kappa between the two blind re-readers of ``element`` (each referral was read by
    two of ``labels/reread/<element>-readers/*.yaml``), and how far the settled re-reading moved
    the first settled labels, by import batch."""
    readers = {
        path.stem: {
            ident: row["status"]
            for ident, row in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items()
        }
        for path in sorted((corpus / "labels" / "reread" / f"{element}-readers").glob("*.yaml"))
    }
    first: list[str] = []
    second: list[str] = []
    for ident in sorted({i for statuses in readers.values() for i in statuses}):
        read = [statuses[ident] for statuses in readers.values() if ident in statuses]
        if len(read) != 2:
            raise SystemExit(f"{ident} was read by {len(read)} re-readers, not two")
        first.append(read[0])
        second.append(read[1])
    settled = {i: s[element] for i, s in load_rereads(corpus).items() if element in s}
    batches = load_batches(corpus)
    moved: dict[str, Any] = {}
    for batch, ids in sorted(batches.items()):
        before = Counter[str]()
        after = Counter[str]()
        changed = 0
        for ident in sorted(ids & settled.keys()):
            old = _read_labels(corpus / "labels" / "final" / f"{ident}.yaml").elements[element]
            before[old] += 1
            after[settled[ident]] += 1
            changed += old != settled[ident]
        moved[f"batch {batch}"] = {
            "first settled": dict(before),
            "re-read": dict(after),
            "changed": changed,
        }
    observed = sum(a == b for a, b in zip(first, second, strict=True))
    kappa = cohen_kappa(first, second)
    return {
        "element": element,
        "referrals": len(first),
        "kappa": None if kappa is None else round(kappa, 3),
        "observed": round(observed / len(first), 3) if first else None,
        "by_batch": moved,
    }


# ---------------------------------------------------------------- checker scores


@dataclass
class VagueCounts:
    """Vague phrases matched against gold, per family and for "any" (the scorer's one rule)."""

    tp_pred: Counter[str] = field(default_factory=Counter)
    pred: Counter[str] = field(default_factory=Counter)
    tp_gold: Counter[str] = field(default_factory=Counter)
    gold: Counter[str] = field(default_factory=Counter)

    def per_family(self) -> dict[str, dict[str, Any]]:
        # "family": the six families pooled, a phrase right only for its own family. Each
        # phrase is counted in exactly one family, so the pool is the sum of their rows; "any"
        # also credits a phrase that overlaps gold of another family.
        for counter in (self.tp_pred, self.pred, self.tp_gold, self.gold):
            counter["family"] = sum(counter[f] for f in FAMILIES)
        rows = {}
        for family in (*FAMILIES, "any", "family"):
            rows[family] = {
                "precision": round(self.tp_pred[family] / self.pred[family], 3)
                if self.pred[family]
                else None,
                "recall": round(self.tp_gold[family] / self.gold[family], 3)
                if self.gold[family]
                else None,
                "predicted": self.pred[family],
                "gold": self.gold[family],
            }
        return rows


def match_vague(
    item: CorpusItem,
    predicted: list[Span],
    gold: Gold,
    counts: VagueCounts,
    *,
    errors: list[str] | None = None,
) -> None:
    """Count ``predicted`` phrases against ``gold``'s: a predicted phrase is right for its family
    when it overlaps a gold phrase of that family (for "any", any gold phrase); a gold phrase is
    found when a predicted phrase of its family overlaps it. A predicted phrase on contested text
    only (agreed-only gold) is neither credited nor counted against. The checker and each
    annotator (``ceiling``) are scored by this one function."""
    for start, end, family in predicted:
        hits_gold = [g for g in gold.vague if _overlaps((start, end), g[:2])]
        if not hits_gold and any(_overlaps((start, end), c) for c in gold.contested):
            continue  # text the annotators did not agree on: neither credit nor blame
        for key in (family, "any"):
            counts.pred[key] += 1
            counts.tp_pred[key] += any(key in ("any", g[2]) for g in hits_gold)
        if errors is not None:
            verdict = "TP" if hits_gold else "FP"
            errors.append(f"{item.id} vague {verdict} {family}: {item.text[start:end]!r}")
    for start, end, family in gold.vague:
        hit = [p for p in predicted if _overlaps((start, end), p[:2])]
        for key in (family, "any"):
            counts.gold[key] += 1
            counts.tp_gold[key] += any(key in ("any", p[2]) for p in hit)
        if errors is not None and not hit:
            errors.append(f"{item.id} vague FN {family}: {item.text[start:end]!r}")


def annotator_ceiling(items: list[CorpusItem]) -> dict[str, dict[str, dict[str, Any]]]:
    """Each annotator's own vague phrases scored against the settled gold by ``match_vague``,
    the checker's rule: how far a careful human reader reaches on these labels. Only referrals
    with a third reading (``labels/final``) count; there the gold is the third reader's, who saw
    both annotators' phrases, so an annotator's figures are an upper bound on what a reader
    blind to the settlement reaches (a phrase both marked is gold by default); "A1 vs A2" is
    the lower bound, one blind reader scored against the other."""
    result: dict[str, dict[str, dict[str, Any]]] = {}
    for name in ANNOTATORS:
        counts = VagueCounts()
        for item in items:
            if "final" not in item.annotations or name not in item.annotations:
                continue
            gold = gold_for(item)
            mine = phrase_spans(item.text, item.annotations[name].vague)
            match_vague(item, mine, gold, counts)
        result[name] = counts.per_family()
    # The other bound: one blind reader against the other, with nothing settled (A1's phrases
    # scored as if A2's were gold; swapping the two swaps P and R).
    counts = VagueCounts()
    for item in items:
        if not all(name in item.annotations for name in ANNOTATORS):
            continue
        first, second = (phrase_spans(item.text, item.annotations[n].vague) for n in ANNOTATORS)
        match_vague(item, first, Gold("A2", {}, second, []), counts)
    result["A1 vs A2"] = counts.per_family()
    return result


def score(
    items: list[CorpusItem], *, keep_errors: bool = False, rules_only: bool = False
) -> dict[str, Any]:
    from fullpicture.referrals.checker import (
        analyse_referral_text,
        check_from_analysis,
        vague_phrases,
    )
    from fullpicture.referrals.rulebook import default_rulebook

    book = default_rulebook()
    tp, fp, fn, agree, judged, ordinal = (Counter[str]() for _ in range(6))
    vague_counts = VagueCounts()
    sources: Counter[str] = Counter()
    errors: list[str] = []
    for item in items:
        gold = gold_for(item)
        sources[gold.source] += 1
        for element in gold.reread:
            sources[f"{element} re-read"] += 1
        analysis = analyse_referral_text(item.text, referral_date=item.referral_date, rulebook=book)
        check = check_from_analysis(
            analysis,
            referral_date=item.referral_date,
            rulebook=book,
            element_model=None if rules_only else "default",
        )
        for element in ALL_ELEMENTS:
            expected = gold.elements[element]
            if expected is None:
                continue
            got = check.elements[element].status
            judged[element] += 1
            agree[element] += expected == got
            ordinal[element] += abs(ORDINAL[expected] - ORDINAL[got])
            if got == "present" and expected == "present":
                tp[element] += 1
            elif got == "present":
                fp[element] += 1
            elif expected == "present":
                fn[element] += 1
            if keep_errors and expected != got:
                errors.append(f"{item.id} {element} gold={expected} got={got}")
        predicted = [
            (v.start, v.end, v.family or FAMILY_OF_KIND.get(v.kind, v.kind))
            for v in vague_phrases(analysis, rulebook=book)
        ]
        match_vague(item, predicted, gold, vague_counts, errors=errors if keep_errors else None)
    per_element = {}
    for element in ALL_ELEMENTS:
        precision = tp[element] / (tp[element] + fp[element]) if tp[element] + fp[element] else 1.0
        recall = tp[element] / (tp[element] + fn[element]) if tp[element] + fn[element] else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        n = judged[element]
        per_element[element] = {
            "f1": round(f1, 3),
            "precision": round(precision, 3),
            "recall": round(recall, 3),
            "agreement": round(agree[element] / n, 3) if n else None,
            "ordinal_error": round(ordinal[element] / n, 3) if n else None,
            "judged": n,
        }
    per_family = vague_counts.per_family()
    total_judged = sum(judged.values())
    return {
        "n": len(items),
        "gold_source": dict(sources),
        "macro_f1": round(statistics.mean(e["f1"] for e in per_element.values()), 3),
        "mean_ordinal_error": round(sum(ordinal.values()) / total_judged, 3)
        if total_judged
        else None,
        "mean_agreement": round(sum(agree.values()) / total_judged, 3) if total_judged else None,
        "min_element_agreement": min(
            (e["agreement"] for e in per_element.values() if e["agreement"] is not None),
            default=None,
        ),
        "elements_judged": total_judged,
        "per_element": per_element,
        "vague": per_family,
        "errors": errors,
    }


def _print_score(name: str, result: dict[str, Any]) -> None:
    print(f"\n== {name}: {result['n']} referrals, gold from {result['gold_source']} ==")
    print(f"{'element':8} {'F1':>6} {'P':>6} {'R':>6} {'3-way':>6} {'ord.err':>7} {'judged':>6}")
    for element, row in result["per_element"].items():
        agreement_text = "  -   " if row["agreement"] is None else f"{row['agreement']:6.3f}"
        ordinal_text = "   -   " if row["ordinal_error"] is None else f"{row['ordinal_error']:7.3f}"
        print(
            f"{element:8} {row['f1']:6.3f} {row['precision']:6.3f} {row['recall']:6.3f} "
            f"{agreement_text} {ordinal_text} {row['judged']:6d}"
        )
    print(
        f"macro F1 {result['macro_f1']}  mean ordinal error {result['mean_ordinal_error']}  "
        f"mean 3-way agreement {result['mean_agreement']}  "
        f"lowest element agreement {result['min_element_agreement']}"
    )
    print(f"{'vague':13} {'P':>6} {'R':>6} {'pred':>5} {'gold':>5}")
    for family, row in result["vague"].items():
        p = "  -   " if row["precision"] is None else f"{row['precision']:6.3f}"
        r = "  -   " if row["recall"] is None else f"{row['recall']:6.3f}"
        print(f"{family:13} {p} {r} {row['predicted']:5d} {row['gold']:5d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    importing = sub.add_parser("import")
    importing.add_argument("--from", dest="source", type=Path, default=DEFAULT_SOURCE)
    importing.add_argument(
        "--seed",
        type=int,
        default=SPLIT_SEED,
        help="the seed of the draw for referrals new to the split",
    )
    agreeing = sub.add_parser("agreement")
    agreeing.add_argument("--batch", type=int, help="only the referrals of this import batch")
    disputing = sub.add_parser("disagreements", help="sheets for the third reader")
    disputing.add_argument("--out", type=Path, required=True)
    disputing.add_argument("--batch", type=int, help="only the referrals of this import batch")
    rereading = sub.add_parser("reread-agreement", help="kappa of an element's blind re-readers")
    rereading.add_argument("--element", default="R11")
    ceiling = sub.add_parser(
        "ceiling", help="each annotator's vague phrases against the settled gold, per family"
    )
    ceiling.add_argument("--split", choices=["train", "dev", "train+dev"], default="train+dev")
    scoring = sub.add_parser("score")
    scoring.add_argument("--split", choices=["train", "dev", "test", "all"], default="dev")
    scoring.add_argument("--errors", action="store_true", help="list every disagreement")
    scoring.add_argument(
        "--rules-only",
        action="store_true",
        help="without the learned element adjustment (element_model.json)",
    )
    scoring.add_argument(
        "--by-quality", action="store_true", help="also score by the writer's intended quality"
    )
    scoring.add_argument("--batch", type=int, help="only the referrals of this import batch")
    scoring.add_argument(
        "--original-gold",
        action="store_true",
        help="the labels as first settled, without the blind re-readings in labels/reread",
    )
    args = parser.parse_args()
    if args.command == "import":
        print(json.dumps(import_corpus(args.source, seed=args.seed)))
        return
    if args.command == "reread-agreement":
        print(json.dumps(reread_agreement(args.element), indent=2))
        return
    batch_ids = load_batches()[args.batch] if getattr(args, "batch", None) else None
    if args.command == "disagreements":
        args.out.mkdir(parents=True, exist_ok=True)
        sheets = disagreements(ids=batch_ids)
        for ident, sheet in sheets.items():
            (args.out / f"{ident}.yaml").write_text(
                yaml.safe_dump(sheet, sort_keys=False, allow_unicode=True), encoding="utf-8"
            )
        print(f"{len(sheets)} sheets in {args.out}")
        return
    if args.command == "ceiling":
        # Only the chosen parts' files are opened: test's labels are never read here.
        split = load_split()
        parts = {"train", "dev"} if args.split == "train+dev" else {args.split}
        chosen_ids = {i for i, part in split.items() if part in parts}
        labelled = [i for i in load_corpus(ids=chosen_ids) if is_labelled(i)]
        rows = annotator_ceiling(labelled)
        print(f"annotators against the settled gold, {args.split}, {len(labelled)} referrals")
        print(f"{'family':13} " + "  ".join(f"{n:>13}" for n in rows))
        for family in (*FAMILIES, "any", "family"):
            cells = []
            for name in rows:
                row = rows[name][family]
                cells.append(
                    " ".join(
                        "  -   " if row[k] is None else f"{row[k]:6.3f}"
                        for k in ("precision", "recall")
                    )
                )
            print(f"{family:13} " + "  ".join(cells))
        print(json.dumps(rows))
        return
    original = bool(getattr(args, "original_gold", False))
    every = [
        i for i in load_corpus(original_gold=original) if batch_ids is None or i.id in batch_ids
    ]
    items = [i for i in every if is_labelled(i)]
    if len(items) < len(every):
        # A batch is imported (and its split drawn) before its annotators finish.
        print(f"{len(every) - len(items)} referrals not yet labelled by both annotators: left out")
    if args.command == "agreement":
        result = agreement(items)
        print(f"Cohen's kappa, A1 vs A2, {result['n_referrals']} referrals")
        for element, row in result["per_element"].items():
            print(f"  {element:4} kappa {row['kappa']}  observed {row['observed']}")
        print(f"  mean element kappa {result['mean_element_kappa']}")
        for family, row in result["per_family"].items():
            print(
                f"  {family:13} token kappa {row['token_kappa']}  A1 {row['phrases_A1']}  "
                f"A2 {row['phrases_A2']}  A1 phrases overlapped by A2 {row['A1_matched_by_A2']}"
            )
        print(json.dumps({k: v for k, v in result.items()}))
        return
    split = load_split()
    parts = ["train", "dev", "test"] if args.split == "all" else [args.split]
    summary: dict[str, Any] = {"benchmark": "referral_corpus"}
    for part in parts:
        chosen = [i for i in items if split.get(i.id) == part]
        result = score(chosen, keep_errors=args.errors, rules_only=args.rules_only)
        _print_score(part, result)
        for line in result["errors"]:
            print("  ", line)
        summary[part] = {k: v for k, v in result.items() if k != "errors"}
        if args.by_quality:
            tiers = _writer_tiers()
            for tier in sorted(set(tiers.values())):
                tier_items = [i for i in chosen if tiers.get(i.id) == tier]
                if tier_items:
                    tier_result = score(tier_items, rules_only=args.rules_only)
                    _print_score(f"{part}, writer-intended {tier}", tier_result)
                    summary[f"{part}:{tier}"] = {
                        k: v for k, v in tier_result.items() if k not in {"errors", "per_element"}
                    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
