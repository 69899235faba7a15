"""Train the referral checker's learned element adjustment (issue 17 item 5) from the corpus.

Usage (from the worktree root, PYTHONPATH=$PWD/src):
  python bench/train_element_model.py            # train on train, choose on dev, write the model
  python bench/train_element_model.py --dry-run  # print the dev comparison only

For each element R1-R18 and R20 a multinomial logistic regression (scikit-learn, lbfgs,
deterministic) is fitted on the corpus's **train** split over the rule features
(``element_model.element_features``: which of the element's cue groups were found and how often,
the rules' own status, the text's length, quotations and dated events), with the inverse
regularisation C chosen from a small grid on **dev**. An element keeps its model only when, on
dev, the model gets at least ``--min-gain`` more referrals right (3-way) than the rules and its
ordinal error is no worse; otherwise the rules decide it alone. As at run time
(``checker._learned``), the model only chooses present or partial where the rules found some
evidence of the element; where they found none the element stays absent. R19 is left to its density bands.
The test split is never read. The result is written to
``src/fullpicture/referrals/element_model.json`` (plain coefficients, applied without
scikit-learn by ``element_model.py``), tied to the ``referral_standard.yaml`` version it was
trained with. Re-run after changing the rules; the output is deterministic.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import referral_corpus as corpus  # noqa: E402
from fullpicture.referrals.checker import (  # noqa: E402
    EVIDENCED,
    analyse_referral_text,
    rule_findings,
)
from fullpicture.referrals.element_model import (  # noqa: E402
    MODEL_FILE,
    STATUSES,
    ElementClassifier,
    condition_groups,
    element_features,
)
from fullpicture.referrals.rulebook import ElementStatus, default_rulebook  # noqa: E402

GRID = (0.03, 0.1, 0.3, 1.0, 3.0)
MODEL_VERSION = "2026.12.1"
SKIPPED = ("R19",)  # derived from vague-phrase density; no cue evidence to adjust


def _rows(part: str) -> list[dict[str, Any]]:
    book = default_rulebook()
    split = corpus.load_split()
    rows = []
    for item in corpus.load_corpus():
        if split.get(item.id) != part:
            continue
        gold = corpus.gold_for(item)
        analysis = analyse_referral_text(item.text, referral_date=item.referral_date, rulebook=book)
        findings, facts = rule_findings(analysis, referral_date=item.referral_date, rulebook=book)
        rows.append({"id": item.id, "gold": gold.elements, "findings": findings, "facts": facts})
    return rows


def _examples(
    rows: list[dict[str, Any]], element: str
) -> list[tuple[dict[str, float], ElementStatus, ElementStatus, bool]]:
    """(features, gold, rule status, evidence found) for each referral with a gold label."""
    rule = default_rulebook().standard.elements[element]
    out = []
    for row in rows:
        gold = row["gold"][element]
        if gold is None:
            continue
        finding = row["findings"][element]
        features = element_features(rule, finding.found, finding.status, row["facts"])
        evidence = any(
            finding.found.get(name, 0)
            for name in condition_groups(rule)
            if not name.startswith("density:")
        )
        out.append((features, gold, finding.status, evidence))
    return out


def _fit(
    examples: list[tuple[dict[str, float], ElementStatus, ElementStatus, bool]], c: float
) -> ElementClassifier | None:
    from sklearn.linear_model import LogisticRegression

    names = tuple(sorted({name for features, *_ in examples for name in features}))
    x = [[features.get(n, 0.0) for n in names] for features, *_ in examples]
    y = [gold for _, gold, _, _ in examples]
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


def _score(
    examples: list[tuple[dict[str, float], ElementStatus, ElementStatus, bool]],
    classifier: ElementClassifier | None,
) -> tuple[int, int]:
    """(referrals right 3-way, total ordinal error) — the model constrained as at run time."""
    right = error = 0
    for features, gold, rule_status, evidence in examples:
        got = rule_status
        if classifier is not None and evidence:
            got = classifier.decide(features, EVIDENCED)
        right += got == gold
        error += abs(corpus.ORDINAL[gold] - corpus.ORDINAL[got])
    return right, error


def train(min_gain: int) -> dict[str, Any]:
    train_rows, dev_rows = _rows("train"), _rows("dev")
    book = default_rulebook()
    chosen: dict[str, Any] = {}
    report: dict[str, Any] = {}
    for element in book.standard.elements:
        if element in SKIPPED:
            continue
        train_ex, dev_ex = _examples(train_rows, element), _examples(dev_rows, element)
        # Fitted only where it will be applied: referrals in which the rules found some evidence.
        fit_ex = [example for example in train_ex if example[3]]
        rules_right, rules_error = _score(dev_ex, None)
        best: tuple[int, int, float, ElementClassifier] | None = None
        for c in GRID:
            classifier = _fit(fit_ex, c)
            if classifier is None:
                continue
            right, error = _score(dev_ex, classifier)
            if best is None or (right, -error) > (best[0], -best[1]):
                best = (right, error, c, classifier)
        row: dict[str, Any] = {"dev_n": len(dev_ex), "rules_right": rules_right}
        if best is not None:
            right, error, c, classifier = best
            row |= {"model_right": right, "C": c, "rules_error": rules_error, "model_error": error}
            if right - rules_right >= min_gain and error <= rules_error:
                chosen[element] = {
                    "C": c,
                    "dev": {
                        "n": len(dev_ex),
                        "rules_agreement": round(rules_right / len(dev_ex), 3),
                        "model_agreement": round(right / len(dev_ex), 3),
                        "rules_ordinal_error": round(rules_error / len(dev_ex), 3),
                        "model_ordinal_error": round(error / len(dev_ex), 3),
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
        "trained_on": "bench/data/referrals/corpus split 'train' (78 referrals, labels/final); "
        "C and the elements kept chosen on 'dev' (33); 'test' never read",
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
    print("kept:", sorted(result["model"]["elements"]))
    if not args.dry_run:
        MODEL_FILE.write_text(
            json.dumps(result["model"], indent=1, sort_keys=False) + "\n", encoding="utf-8"
        )
        print("wrote", MODEL_FILE)


if __name__ == "__main__":
    main()
