"""Train the referral checker's learned element adjustment (issue 17 item 5) from the corpus.

Usage (from the worktree root, PYTHONPATH=$PWD/src):
  python bench/train_element_model.py            # train on train, choose on dev, write the model
  python bench/train_element_model.py --dry-run  # print the dev comparison only

For each element R1-R18 and R20 a multinomial logistic regression (scikit-learn, lbfgs,
deterministic) is fitted on the corpus's labelled **train** referrals over the rule features
(``element_model.element_features``: which of the element's cue groups were found and how often,
and the rules' own status), with the inverse regularisation C chosen from a small grid on
**dev**. An element keeps its model only when
- on dev it gets at least ``--min-gain`` more referrals right (3-way) than the rules, with no
  worse ordinal error;
- on the dev referrals of the batches the rules were not tuned on it gets no fewer right (batch 1's
  texts are the ones the rules were written from, so a gain there alone says little);
- on the project's own labelled tuning and held-out texts (``bench/data/referrals``, written from
  the standard's definitions; their per-element floors are tests) it gets no fewer right.
Otherwise the rules decide it alone. As at run time (``checker._learned``), the model only
chooses present or partial where the rules found some evidence of the element; where they found
none the element stays absent. R19 is left to its density bands.
Referrals without gold (``referral_corpus.is_labelled``: a batch is split at import, before its
labels arrive) are left out and counted. The test split is never read: only the train and dev
referrals' files are opened, and asking for test raises. The result is written to
``src/fullpicture/referrals/element_model.json`` (plain coefficients, applied without
scikit-learn by ``element_model.py``), tied to the ``referral_standard.yaml`` version it was
trained with. Re-run after changing the rules; the output is deterministic.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import referral_corpus as corpus  # noqa: E402
import referrals as project_set  # noqa: E402
from fullpicture.referrals.checker import (  # noqa: E402
    EVIDENCED,
    RuleFinding,
    analyse_referral_text,
    rule_findings,
)
from fullpicture.referrals.element_model import (  # noqa: E402
    MODEL_FILE,
    STATUSES,
    ElementClassifier,
    TextFacts,
    condition_groups,
    element_features,
)
from fullpicture.referrals.rulebook import ElementStatus, default_rulebook  # noqa: E402

GRID = (0.03, 0.1, 0.3, 1.0, 3.0)
MODEL_VERSION = "2026.12.3"
SKIPPED = ("R19",)  # derived from vague-phrase density; no cue evidence to adjust
TUNED_BATCH = 1  # the batch whose train and dev texts the rules were written from


@dataclass(frozen=True)
class Row:
    """One labelled referral of a split: its gold and what the rules found in it."""

    id: str
    batch: int
    gold: dict[str, str | None]
    findings: dict[str, RuleFinding]
    facts: TextFacts


@dataclass(frozen=True)
class Example:
    """One element of one referral: its features, gold, the rules' status, evidence found."""

    features: dict[str, float]
    gold: ElementStatus
    rule_status: ElementStatus
    evidence: bool
    batch: int


@dataclass(frozen=True)
class Part:
    rows: list[Row]
    unlabelled: list[str]  # referrals of the split without gold yet: left out


def rows_of(part: str, corpus_dir: Path = corpus.CORPUS) -> Part:
    """The labelled referrals of ``part`` (train or dev) with the rules' findings. Only that
    part's files are opened; test is refused, never read."""
    if part not in ("train", "dev"):
        raise ValueError(f"the trainer reads train and dev only, not {part!r}")
    book = default_rulebook()
    ids = {ident for ident, where in corpus.load_split(corpus_dir).items() if where == part}
    batch_of = {
        ident: number
        for number, members in corpus.load_batches(corpus_dir).items()
        for ident in members
    }
    rows, unlabelled = [], []
    for item in corpus.load_corpus(corpus_dir, ids=ids):
        if not corpus.is_labelled(item):
            unlabelled.append(item.id)
            continue
        gold = corpus.gold_for(item)
        analysis = analyse_referral_text(item.text, referral_date=item.referral_date, rulebook=book)
        findings, facts = rule_findings(analysis, referral_date=item.referral_date, rulebook=book)
        rows.append(
            Row(item.id, batch_of.get(item.id, TUNED_BATCH), gold.elements, findings, facts)
        )
    return Part(rows, unlabelled)


def project_rows(parts: tuple[str, ...]) -> list[Row]:
    """The project's own labelled texts (tuning, held-out) as rows: a model that reads them
    against the standard's definitions less well than the rules do is not kept. A model fitted
    on the corpus alone once read the child's words reported without quotation marks as the
    child's voice in full, which the standard calls partial."""
    book = default_rulebook()
    rows = []
    for part in parts:
        for item in project_set.load_labelled(part):
            analysis = analyse_referral_text(
                item.text, referral_date=item.referral_date, rulebook=book
            )
            findings, facts = rule_findings(
                analysis, referral_date=item.referral_date, rulebook=book
            )
            gold: dict[str, str | None] = dict(item.elements)
            rows.append(Row(item.id, 0, gold, findings, facts))
    return rows


def _examples(rows: list[Row], element: str) -> list[Example]:
    """The element's examples: one per referral whose gold has a status for it."""
    rule = default_rulebook().standard.elements[element]
    out = []
    for row in rows:
        gold = row.gold[element]
        if gold is None:
            continue
        finding = row.findings[element]
        features = element_features(rule, finding.found, finding.status, row.facts)
        evidence = any(
            finding.found.get(name, 0)
            for name in condition_groups(rule)
            if not name.startswith("density:")
        )
        out.append(Example(features, gold, finding.status, evidence, row.batch))  # type: ignore[arg-type]
    return out


def _fit(examples: list[Example], c: float) -> ElementClassifier | None:
    from sklearn.linear_model import LogisticRegression

    names = tuple(sorted({name for example in examples for name in example.features}))
    x = [[example.features.get(n, 0.0) for n in names] for example in examples]
    y = [example.gold for example in examples]
    classes = sorted(set(y), key=STATUSES.index)
    if len(classes) < 2:
        return None
    fitted = LogisticRegression(C=c, max_iter=5000).fit(x, y)
    order = [str(k) for k in fitted.classes_]
    coef = [[round(float(w), 6) for w in row] for row in fitted.coef_]
    intercept = [round(float(b), 6) for b in fitted.intercept_]
    if len(order) == 2:  # binary: sklearn keeps one row, the score of the second class
        coef = [[0.0] * len(names), coef[0]]
        intercept = [0.0, intercept[0]]
    return ElementClassifier(
        classes=tuple(order),  # type: ignore[arg-type]
        features=names,
        coefficients=tuple(tuple(row) for row in coef),
        intercepts=tuple(intercept),
    )


@dataclass(frozen=True)
class Tally:
    n: int
    right: int
    error: int

    def summary(self) -> dict[str, float | int]:
        return {
            "n": self.n,
            "agreement": round(self.right / self.n, 3) if self.n else 0.0,
            "ordinal_error": round(self.error / self.n, 3) if self.n else 0.0,
        }


def _score(examples: list[Example], classifier: ElementClassifier | None) -> Tally:
    """Referrals right 3-way and total ordinal error, the model constrained as at run time."""
    right = error = 0
    for example in examples:
        got = example.rule_status
        if classifier is not None and example.evidence:
            got = classifier.decide(example.features, EVIDENCED)
        right += got == example.gold
        error += abs(corpus.ORDINAL[example.gold] - corpus.ORDINAL[got])
    return Tally(len(examples), right, error)


def _by_batch(examples: list[Example], classifier: ElementClassifier | None) -> dict[str, Any]:
    return {
        str(batch): _score([e for e in examples if e.batch == batch], classifier).summary()
        for batch in sorted({e.batch for e in examples})
    }


def _untuned(examples: list[Example]) -> list[Example]:
    return [e for e in examples if e.batch != TUNED_BATCH]


def _described(part: Part) -> dict[str, Any]:
    """What a split contributed, counted from the data."""
    return {
        "referrals": len(part.rows),
        "by_batch": {str(b): n for b, n in sorted(Counter(r.batch for r in part.rows).items())},
        "left_out_unlabelled": len(part.unlabelled),
    }


def train(
    min_gain: int,
    corpus_dir: Path = corpus.CORPUS,
    project_parts: tuple[str, ...] = ("tuning", "heldout"),
) -> dict[str, Any]:
    train_part, dev_part = rows_of("train", corpus_dir), rows_of("dev", corpus_dir)
    project = project_rows(project_parts)
    book = default_rulebook()
    chosen: dict[str, Any] = {}
    report: dict[str, Any] = {}
    for element in book.standard.elements:
        if element in SKIPPED:
            continue
        train_ex, dev_ex = _examples(train_part.rows, element), _examples(dev_part.rows, element)
        # Fitted only where it will be applied: referrals in which the rules found some evidence.
        fit_ex = [example for example in train_ex if example.evidence]
        rules = _score(dev_ex, None)
        rules_untuned = _score(_untuned(dev_ex), None)
        best: tuple[Tally, float, ElementClassifier] | None = None
        for c in GRID:
            classifier = _fit(fit_ex, c)
            if classifier is None:
                continue
            tally = _score(dev_ex, classifier)
            if best is None or (tally.right, -tally.error) > (best[0].right, -best[0].error):
                best = (tally, c, classifier)
        row: dict[str, Any] = {"dev_n": len(dev_ex), "rules_right": rules.right}
        if best is not None:
            tally, c, classifier = best
            untuned = _score(_untuned(dev_ex), classifier)
            project_ex = _examples(project, element)
            project_rules, project_model = _score(project_ex, None), _score(project_ex, classifier)
            row |= {
                "model_right": tally.right,
                "C": c,
                "rules_error": rules.error,
                "model_error": tally.error,
                "untuned_rules_right": rules_untuned.right,
                "untuned_model_right": untuned.right,
                "project_rules_right": project_rules.right,
                "project_model_right": project_model.right,
            }
            if (
                tally.right - rules.right >= min_gain
                and tally.error <= rules.error
                and untuned.right >= rules_untuned.right
                and project_model.right >= project_rules.right
            ):
                chosen[element] = {
                    "C": c,
                    "dev": {
                        "n": len(dev_ex),
                        "rules_agreement": round(rules.right / len(dev_ex), 3),
                        "model_agreement": round(tally.right / len(dev_ex), 3),
                        "rules_ordinal_error": round(rules.error / len(dev_ex), 3),
                        "model_ordinal_error": round(tally.error / len(dev_ex), 3),
                        "by_batch_rules": _by_batch(dev_ex, None),
                        "by_batch_model": _by_batch(dev_ex, classifier),
                    },
                    "project_texts": {
                        "n": project_rules.n,
                        "rules_agreement": project_rules.summary()["agreement"],
                        "model_agreement": project_model.summary()["agreement"],
                    },
                    "classes": list(classifier.classes),
                    "features": list(classifier.features),
                    "coefficients": [list(r) for r in classifier.coefficients],
                    "intercepts": list(classifier.intercepts),
                }
                row["kept"] = True
        report[element] = row
    model = {
        "version": MODEL_VERSION,
        "referral_standard_version": book.standard.version,
        "trained_on": {
            "corpus": "bench/data/referrals/corpus, gold from labels/final (else both annotators' "
            "agreed labels), with the blind re-readings of labels/reread over their element",
            "fitted_on_split_train": _described(train_part),
            "chosen_on_split_dev": _described(dev_part),
            "test": "never read",
            "kept_only_if_no_worse_on": f"bench/data/referrals {', '.join(project_parts)} "
            f"({len(project)} texts)",
        },
        "trainer": "bench/train_element_model.py (scikit-learn LogisticRegression, lbfgs)",
        "min_dev_gain": min_gain,
        "elements": chosen,
    }
    return {"model": model, "report": report}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--min-gain", type=int, default=2, help="dev referrals gained to keep")
    args = parser.parse_args()
    result = train(args.min_gain)
    for element, row in result["report"].items():
        print(element, row)
    print("trained on:", json.dumps(result["model"]["trained_on"]))
    print("kept:", sorted(result["model"]["elements"]))
    if not args.dry_run:
        MODEL_FILE.write_text(
            json.dumps(result["model"], indent=1, sort_keys=False) + "\n", encoding="utf-8"
        )
        print("wrote", MODEL_FILE)


if __name__ == "__main__":
    main()
