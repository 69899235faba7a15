"""Where to draw the link line for one file: the threshold chosen from the trained model.

The partnership's fixed threshold (match weight 8, probability 0.996) is a safeguarding
default, but a model is not equally sure on every file: where corruption wipes out whole
fields (FEBRL) true pairs score 4 to 8, and a fixed 8 misses them. Each scored pair's match
probability (from the trained m, u and prior) is the model's estimate that it is one person,
so one minus it is the chance that linking it is wrong, and summing those chances over the
pairs a lower line would add gives the wrong links the model expects the lowering to make.
Only pairs that would join two people are summed: one inside a person that stronger links
already made, or one the clustering refuses, merges no one.
The line comes down from the fixed threshold while that sum stays within an absolute budget
(``expected_false_links_budget``, one wrong link by default): a wrong link merges two
people's records, so it is counted, not spread as a rate over a million sure links. A file
whose uncertain pairs are few and clearly matching gets a lower line; one with many pairs just
below the fixed threshold (a large population) keeps it near. Never below
``lowest_match_weight``.

One pattern the model's probabilities cannot be trusted on below the fixed line: the same
name at the same address with birth dates a generation apart (``generation_gap_years``), read
from the pair's comparison levels (both names agree, not swapped or blank; the address agrees,
not only the postcode).
The model weighs agreements as independent, but in one household they are not: that is a
parent and the child named after them, and on the synthetic population such pairs are what
a lowered line would wrongly link. They are held back (linked only from the fixed threshold)
and left out of the budget, and the report counts them.

One situation the model's probabilities cannot be trusted in below the fixed line: two
people who at the fixed line are each already two or more records, joined only by a pair
below it. Their records were compared with each other record by record and none reached the
fixed line; the pair's weight, read alone, does not see that. On the synthetic populations
those pairs are siblings and twins (same family name, birth date or address, the given name
or birth date wholly different): on the 1M population, of the pairs between 5 and 7.94
joining two people as clustered at 7.94, 20 of the 1,195 between two such people were one
person, against 3,594 of 3,648 joining a lone record to its one candidate; on the population
without identifiers, every such pair between 3 and 8 was two people. They are held back too
(linked only from the fixed threshold, left out of the budget, counted in the report); a
practitioner can confirm one in review.

The model report prints the line, the reason and the model's estimate; ``--threshold``
overrides it, and the database links at the fixed threshold (a record linked later must meet
the same line).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import polars as pl

from fullpicture.linkage.clustering import Pair
from fullpicture.linkage.comparisons import same_name_same_home_levels
from fullpicture.linkage.rules import ThresholdChoiceRules

ThresholdSource = Literal["chosen", "given"]

# For pairs below the fixed line, strongest first: ``formed`` (the two records already belong
# to two people of two or more records each at the fixed line) and ``joins`` (linking it would
# join two people): ``clustering.pairs_joining_people`` with the run's records and rules.
JoinsPeople = Callable[[pl.DataFrame], pl.DataFrame]


@dataclass(frozen=True)
class LinkThreshold:
    """The link threshold a run used, and the model's estimate of what it gives."""

    match_weight: float
    source: ThresholdSource
    reason: str
    # The model's own estimates over the scored pairs (match probabilities, not truth).
    links: int
    expected_false_links: float
    expected_missed_links: float
    # Pairs at or above match_weight but below the fixed threshold that are not linked: birth
    # dates a generation apart (a parent and the child named after them).
    held_back: frozenset[Pair] = frozenset()

    @property
    def estimated_precision(self) -> float:
        return 1.0 - self.expected_false_links / self.links if self.links else 1.0


# The posterior from the match weight (log2 odds, the trained prior included).
_probability = 1.0 / (1.0 + (2.0 ** -pl.col("match_weight")))


def _expected(
    pairs: pl.DataFrame, threshold: float, held_back: frozenset[Pair] = frozenset()
) -> tuple[int, float, float]:
    """Links, expected false links and expected missed links (scored pairs not linked) at
    ``threshold``, by the model's match probabilities."""
    linked = pl.col("match_weight") >= threshold
    if held_back:
        held = pl.DataFrame(
            list(held_back),
            schema={"unique_id_l": pl.String, "unique_id_r": pl.String},
            orient="row",
        ).with_columns(fp_held=pl.lit(True))
        pairs = pairs.join(held, on=["unique_id_l", "unique_id_r"], how="left")
        linked = linked & pl.col("fp_held").is_null()
    row = pairs.select(
        linked.sum().alias("links"),
        (1.0 - _probability).filter(linked).sum().alias("false"),
        _probability.filter(~linked).sum().alias("missed"),
    ).row(0)
    return int(row[0] or 0), float(row[1] or 0.0), float(row[2] or 0.0)


def given_threshold(pairs: pl.DataFrame, match_weight: float, *, why: str) -> LinkThreshold:
    """A threshold set by the user or the database's rules, with the model's estimate of it."""
    links, false_links, missed = _expected(pairs, match_weight)
    return LinkThreshold(match_weight, "given", why, links, false_links, missed)


def generation_apart(pairs: pl.DataFrame, prepared: pl.DataFrame, *, years: int) -> pl.Series:
    """For each pair: the same name at the same home, with birth dates ``years`` or more apart?

    The same name and home are read from the pair's comparison levels
    (``comparisons.same_name_same_home_levels``): both names agree, at any level but a swap,
    and the address does, not only the postcode. A pair whose given name is blank on one
    record, whose names are swapped, or who share only a postcode does not show a parent and
    the child named after them at one address; it is left to the model's weight (FEBRL1: five
    corrupted duplicates were held back so, against none of the synthetic population's
    parent-and-child pairs)."""
    agreeing = same_name_same_home_levels()
    same_name_and_home = pl.all_horizontal(
        pl.col(f"gamma_{name}").is_in(sorted(values)).fill_null(False)
        for name, values in agreeing.items()
    )
    born = prepared.select(
        "unique_id",
        pl.col("date_of_birth")
        .cast(pl.String)
        .str.slice(0, 4)
        .cast(pl.Int32, strict=False)
        .alias("y"),
    )
    with_years = (
        pairs.select("unique_id_l", "unique_id_r", same_name_and_home.alias("same"))
        .join(born.rename({"unique_id": "unique_id_l", "y": "y_l"}), on="unique_id_l", how="left")
        .join(born.rename({"unique_id": "unique_id_r", "y": "y_r"}), on="unique_id_r", how="left")
    )
    return with_years.select(
        (pl.col("same") & ((pl.col("y_l") - pl.col("y_r")).abs() >= years))
        .fill_null(False)
        .alias("apart")
    )["apart"]


def choose_threshold(
    pairs: pl.DataFrame,
    prepared: pl.DataFrame,
    *,
    start: float,
    rules: ThresholdChoiceRules,
    joins_people: JoinsPeople | None = None,
) -> LinkThreshold:
    """Lower the link line from ``start`` (the partnership's fixed threshold) while the model
    expects at most ``rules.expected_false_links_budget`` wrong links among the pairs that
    lowering adds, never below ``rules.lowest_match_weight``; pairs below ``start`` whose
    birth dates are a generation apart are held back.

    Walking the scored pairs below ``start`` from the strongest down, each adds its own chance
    of being wrong (one minus its match probability, which carries the trained prior); those
    chances only grow on the way down, so the line stops where the next pair would take the
    expected wrong links over the budget.

    A wrong link is two people's records merged into one person, so with ``joins_people`` only
    a pair that joins two people counts: one whose records stronger links have already made one
    person links nothing new, and one the clustering refuses (two records of one agency that do
    not match) links nothing at all. Without it every pair counts, as if each joined two."""
    budget = rules.expected_false_links_budget
    floor = rules.lowest_match_weight
    apart = generation_apart(pairs, prepared, years=rules.generation_gap_years)
    band = pairs.with_columns(apart=apart).filter(
        (pl.col("match_weight") < start) & (pl.col("match_weight") >= floor)
    )
    candidates = band.filter(~pl.col("apart")).sort(
        ["match_weight", "unique_id_l", "unique_id_r"], descending=[True, False, False]
    )
    walked = (
        joins_people(candidates.select("unique_id_l", "unique_id_r", "match_weight"))
        if joins_people is not None
        else pl.DataFrame(
            {"formed": [False] * candidates.height, "joins": [True] * candidates.height},
            schema={"formed": pl.Boolean, "joins": pl.Boolean},
        )
    )
    candidates = candidates.hstack(walked)
    # Two people each formed of several records at the fixed line, whose records meet only
    # below it, are held back like a generation apart: see the module's docstring.
    formed = candidates.filter(pl.col("formed"))
    candidates = candidates.filter(~pl.col("formed"))
    # Pairs of one weight go in together (a line cannot split them).
    added = (
        candidates.group_by("match_weight")
        .agg(
            pl.len().alias("pairs"),
            pl.col("joins").sum().alias("joining"),
            (1.0 - _probability).filter(pl.col("joins")).sum().alias("wrong"),
        )
        .sort("match_weight", descending=True)
        .with_columns(
            pl.col("pairs").cum_sum(), pl.col("joining").cum_sum(), false=pl.col("wrong").cum_sum()
        )
        .filter(pl.col("false") <= budget)
    )
    counted = "" if joins_people is None else "joining two people"
    if added.is_empty():
        weight = start
        reason = (
            f"kept at {start:g}: the strongest pair below it alone would add more than "
            f"{budget:g} expected wrong link(s)"
            if candidates.height
            else f"kept at {start:g}: no scored pair between {floor:g} and {start:g}"
        )
    elif int(added["pairs"][-1]) == candidates.height:
        weight = floor
        reason = (
            f"lowered from {start:g} to the floor {floor:g}: the {candidates.height:,} pairs between "
            + (f"({int(added['joining'][-1]):,} {counted}) " if counted else "")
            + f"add {float(added['false'][-1]):.2f} expected wrong link(s), within the budget "
            f"of {budget:g}"
        )
    else:
        weight = float(added["match_weight"][-1])
        reason = (
            f"lowered from {start:g} while the model expects at most {budget:g} wrong "
            f"link(s) among the pairs it adds: {int(added['pairs'][-1]):,} pairs"
            + (f" ({int(added['joining'][-1]):,} {counted})" if counted else "")
            + f", {float(added['false'][-1]):.2f} expected wrong"
        )
    apart_back = frozenset(
        band.filter(pl.col("apart") & (pl.col("match_weight") >= weight))
        .select("unique_id_l", "unique_id_r")
        .iter_rows()
    )
    formed_back = frozenset(
        formed.filter(pl.col("match_weight") >= weight)
        .select("unique_id_l", "unique_id_r")
        .iter_rows()
    )
    held_back = apart_back | formed_back
    if formed_back:
        reason += (
            f"; {len(formed_back):,} pair(s) above the line between two people already of two "
            f"or more records each at {start:g} held back (siblings, twins), linked only from "
            f"{start:g}"
        )
    if apart_back:
        reason += (
            f"; {len(apart_back):,} pair(s) above the line with birth dates "
            f"{rules.generation_gap_years}+ years apart held back (a parent and the child "
            f"named after them), linked only from {start:g}"
        )
    links, false_links, missed = _expected(pairs, weight, held_back)
    return LinkThreshold(weight, "chosen", reason, links, false_links, missed, held_back)
