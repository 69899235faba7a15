"""Would a learned precision filter earn its place over the vague-language rules? (issue 17 item 5)

The rules propose vague phrases (``checker.vague_matches``); a logistic regression over each
phrase's rule and context keeps or drops it. Features: the family and the cue that found the
phrase; optionally its first and last words and the words either side (``--lexical``); and, in
its sentence, a digit, a date, a reported-speech verb or a speech word before it, a quotation,
"I / we / my / our" before it, a clock unit straight after it, a bullet line, the phrase at the
sentence's start, a long sentence. Trained on train and scored on dev by the corpus scorer's own
rule (``match_vague``), and cross-validated over train + dev by referral (5 folds), for a grid of
regularisation strengths and keep thresholds. Nothing is written: this reports whether a filter
would help. The test split is never read.

    PYTHONPATH=$PWD/src python bench/vague_filter.py [--lexical]
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import referral_corpus as rc

_WORD = re.compile(r"[\w'’]+|[^\w\s]")
_SPEECH_WORDS = frozenset(
    [
        "said",
        "says",
        "told",
        "tells",
        "reported",
        "reports",
        "disclosed",
        "explained",
        "stated",
        "states",
        "described",
        "admitted",
        "mentioned",
        "thinks",
        "feels",
    ]
)
_CLOCK = frozenset({"minutes", "minute", "hours", "hour", "seconds", "mins", "hrs"})
_FIRST_PERSON = frozenset({"i", "we", "my", "our"})


@dataclass
class Candidate:
    item: rc.CorpusItem
    gold: rc.Gold
    start: int
    end: int
    family: str
    features: dict[str, float]
    right: bool  # overlaps a gold phrase of its own family


def _sentence(text: str, start: int, end: int) -> tuple[int, int]:
    begin = max(text.rfind(stop, 0, start) + 1 for stop in (". ", "? ", "! ", "\n"))
    ends = [i for i in (text.find(stop, end) for stop in (". ", "? ", "! ", "\n")) if i >= 0]
    return begin, min(ends, default=len(text))


def candidates(split: set[str], *, lexical: bool) -> list[Candidate]:
    from fullpicture.referrals.checker import analyse_referral_text, vague_matches
    from fullpicture.referrals.rulebook import default_rulebook

    book = default_rulebook()
    parts = rc.load_split()
    found: list[Candidate] = []
    for item in rc.load_corpus():
        if parts.get(item.id) not in split or not rc.is_labelled(item):
            continue
        gold = rc.gold_for(item)
        analysis = analyse_referral_text(item.text, referral_date=item.referral_date, rulebook=book)
        text = analysis.text
        for match in vague_matches(analysis, rulebook=book):
            family = book.vague.kinds[match.key[0]].family
            start, end = match.span.start, match.span.end
            begin, stop = _sentence(text, start, end)
            words = [w.lower() for w in _WORD.findall(match.span.text)] or [""]
            before = [w.lower() for w in _WORD.findall(text[begin:start])]
            after = [w.lower() for w in _WORD.findall(text[end:stop])]
            x: dict[str, float] = {f"family={family}": 1.0, f"cue={match.cue.id}": 1.0}
            if lexical:
                x[f"{family}|first={words[0]}"] = 1.0
                x[f"{family}|last={words[-1]}"] = 1.0
                x[f"{family}|next={after[0] if after else '<end>'}"] = 1.0
                x[f"{family}|previous={before[-1] if before else '<start>'}"] = 1.0
            sentence = text[begin:stop]
            facts = {
                "digit": bool(re.search(r"\d", sentence)),
                "date": any(begin <= d.span.start < stop for d in analysis.dates),
                "speech_before": any(
                    begin <= s.verb.start < start and s.speaker != "writer" for s in analysis.speech
                ),
                "speech_word_before": bool(set(before) & _SPEECH_WORDS),
                "quotation": any(
                    q.span.start < stop and begin < q.span.end for q in analysis.quotations
                ),
                "first_person_before": bool(set(before) & _FIRST_PERSON),
                "clock_next": bool(after) and after[0] in _CLOCK,
                "bullet": text[text.rfind("\n", 0, start) + 1 :].lstrip()[:1] in {"-", "•", "*"},
                "sentence_start": len(before) < 2,
                "long_sentence": len(before) + len(after) > 30,
            }
            x.update({f"{family}|{name}": 1.0 for name, on in facts.items() if on})
            hits = [g for g in gold.vague if rc._overlaps((start, end), g[:2])]
            right = any(g[2] == family for g in hits)
            found.append(Candidate(item, gold, start, end, family, x, right))
    return found


def scored(found: list[Candidate], keep: list[bool]) -> dict[str, dict[str, Any]]:
    """The kept phrases scored by the corpus scorer's rule, referral by referral."""
    counts = rc.VagueCounts()
    by_item: dict[str, list[tuple[Candidate, bool]]] = {}
    for candidate, kept in zip(found, keep, strict=True):
        by_item.setdefault(candidate.item.id, []).append((candidate, kept))
    for pairs in by_item.values():
        item, gold = pairs[0][0].item, pairs[0][0].gold
        predicted = [(c.start, c.end, c.family) for c, kept in pairs if kept]
        rc.match_vague(item, predicted, gold, counts)
    return counts.per_family()


def _row(label: str, rows: dict[str, dict[str, Any]], dropped: int, dropped_right: int) -> str:
    cells = " ".join(
        f"{rows[f]['precision']:.3f}/{rows[f]['recall']:.3f}"
        for f in ("unquantified", "reassurance", "hedge", "any", "family")
    )
    return f"{label:22} {dropped:5} {dropped_right:5}  {cells}"


def main() -> None:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lexical", action="store_true", help="also the words in and around it")
    args = parser.parse_args()
    grid = [(c, t) for c in (0.1, 0.3, 1.0) for t in (0.4, 0.5)]
    header = (
        f"{'':22} {'drop':>5} {'right':>5}  unquant.    reassur.    hedge       any         family"
    )

    def fitted(train: list[Candidate], c: float) -> tuple[Any, Any]:
        vectoriser = DictVectorizer()
        matrix = vectoriser.fit_transform([x.features for x in train])
        model = LogisticRegression(C=c, max_iter=2000).fit(matrix, [x.right for x in train])
        return vectoriser, model

    train = candidates({"train"}, lexical=args.lexical)
    dev = candidates({"dev"}, lexical=args.lexical)
    print("trained on train, scored on dev")
    print(header)
    print(_row("rules alone", scored(dev, [True] * len(dev)), 0, 0))
    for c, t in grid:
        vectoriser, model = fitted(train, c)
        p = model.predict_proba(vectoriser.transform([x.features for x in dev]))[:, 1]
        keep = [bool(v >= t) for v in p]
        gone = [x for x, k in zip(dev, keep, strict=True) if not k]
        print(_row(f"C={c} keep>={t}", scored(dev, keep), len(gone), sum(x.right for x in gone)))

    both = train + dev
    groups = [x.item.id for x in both]
    print("\ncross-validated over train + dev, 5 folds by referral")
    print(header)
    print(_row("rules alone", scored(both, [True] * len(both)), 0, 0))
    for c, t in grid:
        keep = [True] * len(both)
        for fit_on, held in GroupKFold(5).split(both, groups=groups):
            vectoriser, model = fitted([both[i] for i in fit_on], c)
            held_out = [both[i] for i in held]
            p = model.predict_proba(vectoriser.transform([x.features for x in held_out]))[:, 1]
            for i, v in zip(held, p, strict=True):
                keep[i] = bool(v >= t)
        gone = [x for x, k in zip(both, keep, strict=True) if not k]
        print(_row(f"C={c} keep>={t}", scored(both, keep), len(gone), sum(x.right for x in gone)))


if __name__ == "__main__":
    main()
