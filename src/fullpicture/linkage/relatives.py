"""Collective evidence: two records of one child whose recorded relatives are one person.

An agency records how its records stand to each other (``relationships``: parent, sibling,
partner, …; docs/import-format.md). Two records with the same given name and birth date whose
mothers (or siblings, …) the first clustering already made one person are very likely one
child: the other explanation is two same-named children of one family born on one day. The
records' own fields cannot say this: on the 1M synthetic population most true pairs left
below the line are two records with the same names and birth date, one without an address
and neither with an NHS number or UPN, whose common family name leaves them under it.

The evidence is one more comparison, added to a pair's match weight after the first
clustering (``batch.run_batch``), as its own columns of the scored pairs (``gamma_relatives``,
``mw_relatives`` and the two relatives shown):

- it is read only for a pair below the fixed line with the same given name and birth date
  (or its day and month swapped; ``comparisons.same_child_levels``) and no NHS number or UPN
  held by both that differs: siblings share their parents, so for a pair whose given name or
  birth date differs the evidence says "same family", not "same child", and the model, which
  weighs comparisons as independent, would count it again on top of the family name and
  address;
- both records must have relatives of one kind (a parent each, a sibling each, …); a record
  without recorded relatives gives no evidence either way;
- "related records linked": a relative of one and a relative of the other, of the same kind,
  are two records that the first clustering put in one person. Otherwise "related records not
  linked".

m and u are estimated from the records, never from truth: m from the pairs the model is sure
of (at or above ``SURE_MATCH_WEIGHT``) whose records both have relatives of one kind, u from
seeded random pairs of records that both have relatives of one kind. The weight is log2(m/u)
for each level; a level with no pair seen gets the share of one pair in the sample, which
only weakens the evidence.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from fullpicture.linkage.comparisons import same_child_levels
from fullpicture.linkage.schemas import WaterfallStep

# Pairs at or above this weight are taken as one person when m is estimated (about one wrong
# in a million by the model's own probability).
SURE_MATCH_WEIGHT = 20.0
# Random pairs drawn for u, and the seed (the same file gives the same weights).
RANDOM_PAIRS = 2_000_000
RANDOM_SEED = 42

RELATIONSHIP_SCHEMA: dict[str, type[pl.DataType]] = {
    "unique_id": pl.String,
    "related_unique_id": pl.String,
    "relationship": pl.String,
}

LINKED = "related records of one kind linked to one person"
NOT_LINKED = "related records of one kind, none linked to one person"


def no_relationships() -> pl.DataFrame:
    return pl.DataFrame(schema=RELATIONSHIP_SCHEMA)


@dataclass(frozen=True)
class RelativesEvidence:
    """What the relatives' comparison learned and did in one run."""

    used: bool
    reason: str
    m_linked: float = 0.0
    u_linked: float = 0.0
    sure_pairs: int = 0
    sure_linked: int = 0
    random_pairs: int = 0
    random_linked: int = 0
    pairs_read: int = 0
    pairs_linked_relatives: int = 0

    @property
    def weight_linked(self) -> float:
        return math.log2(self.m_linked / self.u_linked) if self.used else 0.0

    @property
    def weight_not_linked(self) -> float:
        return math.log2((1.0 - self.m_linked) / (1.0 - self.u_linked)) if self.used else 0.0


def _relatives_by_person(relationships: pl.DataFrame, assignments: pl.DataFrame) -> pl.DataFrame:
    """unique_id, relationship, related_unique_id, related_person (its cluster), the ids as
    integer codes (``record``, ``kind``, ``related``, ``person``) for fast joins."""
    codes = assignments.select("unique_id", "cluster_key").with_row_index("record")
    persons = codes.select("cluster_key").unique().sort("cluster_key").with_row_index("person")
    codes = codes.join(persons, on="cluster_key")
    return (
        relationships.select(RELATIONSHIP_SCHEMA.keys())
        .filter(pl.col("unique_id") != pl.col("related_unique_id"))
        .unique()
        .join(codes.select("unique_id", "record"), on="unique_id")
        .join(
            codes.select(
                pl.col("unique_id").alias("related_unique_id"),
                pl.col("record").alias("related"),
                "person",
            ),
            on="related_unique_id",
        )
        .with_columns(kind=pl.col("relationship").cast(pl.Categorical).to_physical())
    )


def _read(pairs: pl.DataFrame, relatives: pl.DataFrame, *, shown: bool = False) -> pl.DataFrame:
    """For each pair (unique_id_l, unique_id_r): ``kinds`` (both records have relatives of
    one kind) and ``linked`` (a relative of each, of that kind, two records of one person);
    with ``shown``, the first such relatives, for the explanation."""
    code = relatives.select("unique_id", "record").unique()
    keys = (
        pairs.select("unique_id_l", "unique_id_r")
        .unique()
        .join(code.rename({"unique_id": "unique_id_l", "record": "record_l"}), on="unique_id_l")
        .join(code.rename({"unique_id": "unique_id_r", "record": "record_r"}), on="unique_id_r")
    )
    both = _relatives_of_both(keys.select("record_l", "record_r"), relatives)
    found = both.group_by("record_l", "record_r").agg(
        (pl.col("p_l") == pl.col("p_r")).any().alias("linked")
    )
    read = keys.join(found, on=["record_l", "record_r"], how="left").select(
        "unique_id_l",
        "unique_id_r",
        pl.col("linked").is_not_null().alias("kinds"),
        pl.col("linked").fill_null(False),
    )
    if not shown:
        return read
    names = relatives.select("record", "unique_id").unique()
    first = (
        both.filter(pl.col("p_l") == pl.col("p_r"))
        .join(relatives.select("kind", "relationship").unique(), on="kind")
        .join(names.rename({"record": "rel_l", "unique_id": "relatives_left"}), on="rel_l")
        .join(names.rename({"record": "rel_r", "unique_id": "relatives_right"}), on="rel_r")
        .sort("relationship", "relatives_left", "relatives_right")
        .group_by("record_l", "record_r", maintain_order=True)
        .agg(
            pl.col("relationship").first().alias("relatives_relationship"),
            pl.col("relatives_left").first(),
            pl.col("relatives_right").first(),
        )
    )
    return read.join(
        keys.join(first, on=["record_l", "record_r"]).select(
            "unique_id_l",
            "unique_id_r",
            "relatives_relationship",
            "relatives_left",
            "relatives_right",
        ),
        on=["unique_id_l", "unique_id_r"],
        how="left",
    )


def _relatives_of_both(keys: pl.DataFrame, relatives: pl.DataFrame) -> pl.DataFrame:
    """For pairs of record codes (record_l, record_r): each relative of the one and of the
    other of one kind, with the people they belong to (p_l, p_r)."""
    held = relatives.select("record", "kind", "related", "person")
    return (
        keys.join(
            held.rename({"record": "record_l", "related": "rel_l", "person": "p_l"}),
            on="record_l",
        )
        .join(
            held.rename({"record": "record_r", "related": "rel_r", "person": "p_r"}),
            on=["record_r", "kind"],
        )
        # A relative each, not the other record itself, and two records (one record that is
        # the relative of both says the agency holds them as two people of one family).
        .filter(
            (pl.col("rel_l") != pl.col("rel_r"))
            & (pl.col("rel_l") != pl.col("record_r"))
            & (pl.col("rel_r") != pl.col("record_l"))
        )
    )


def _random_reading(relatives: pl.DataFrame, count: int, seed: int) -> tuple[int, int]:
    """Of ``count`` seeded random pairs of records with relatives: how many have relatives of
    one kind each, and how many of those have such relatives linked to one person."""
    records = relatives.select("record").unique().sort("record")
    drawn = pl.DataFrame(
        {
            "record_l": records.sample(count, with_replacement=True, seed=seed)["record"],
            "record_r": records.sample(count, with_replacement=True, seed=seed + 1)["record"],
        }
    ).filter(pl.col("record_l") != pl.col("record_r"))
    found = (
        _relatives_of_both(drawn.with_row_index("draw"), relatives)
        .group_by("draw")
        .agg((pl.col("p_l") == pl.col("p_r")).any().alias("linked"))
    )
    return found.height, int(found["linked"].sum())


def add_relatives_evidence(
    pairs: pl.DataFrame,
    relationships: pl.DataFrame,
    assignments: pl.DataFrame,
    *,
    below: float,
    random_pairs: int = RANDOM_PAIRS,
    seed: int = RANDOM_SEED,
) -> tuple[pl.DataFrame, RelativesEvidence]:
    """``pairs`` with the relatives' comparison added (``gamma_relatives``, ``mw_relatives``,
    and the relatives shown) to each pair below ``below`` whose given name and birth date
    agree, its match weight and probability updated; and what was learned.

    ``assignments`` (unique_id, cluster_key) is the first clustering. Without relationships,
    or without both a sure pair and a random pair with relatives, nothing changes and the
    reason says why."""
    if relationships.is_empty():
        return _unchanged(pairs), RelativesEvidence(
            False,
            "no relationships between records were given: the relatives' comparison was not used",
        )
    relatives = _relatives_by_person(relationships, assignments)

    sure = _read(pairs.filter(pl.col("match_weight") >= SURE_MATCH_WEIGHT), relatives)
    sure = sure.filter("kinds")
    random_kinds, random_linked = _random_reading(relatives, random_pairs, seed)
    if sure.is_empty() or not random_kinds:
        return _unchanged(pairs), RelativesEvidence(
            False,
            "too few records with relatives to estimate the relatives' comparison "
            f"({sure.height} sure pairs and {random_kinds} random pairs with relatives of one "
            "kind): not used",
        )
    sure_linked = int(sure["linked"].sum())
    # A level never seen gets one pair's share: it can only weaken the evidence.
    m = min(max(sure_linked, 1), sure.height - 1 if sure.height > 1 else 1) / sure.height
    u = max(random_linked, 1) / random_kinds
    if not 0.0 < u < m < 1.0:
        return _unchanged(pairs), RelativesEvidence(
            False,
            f"linked relatives are no commoner among sure pairs (m {m:.3g}) than among random "
            f"pairs (u {u:.3g}): the relatives' comparison was not used",
        )
    levels = same_child_levels()
    same_child = pl.all_horizontal(
        pl.col(f"gamma_{name}").is_in(sorted(values)).fill_null(False)
        for name, values in levels.items()
    )
    # An NHS number or UPN held by both that differs says two children (twins carry their
    # own): such a pair is left to its fields. splink numbers every "all other comparisons"
    # level 0 (and a value missing on either record -1).
    for identifier in ("nhs_number", "upn"):
        if f"gamma_{identifier}" in pairs.columns:
            same_child = same_child & (pl.col(f"gamma_{identifier}") != 0).fill_null(True)
    candidates = pairs.filter((pl.col("match_weight") < below) & same_child)
    read = _read(candidates, relatives, shown=True).filter("kinds")
    evidence = RelativesEvidence(
        True,
        "",
        m_linked=m,
        u_linked=u,
        sure_pairs=sure.height,
        sure_linked=sure_linked,
        random_pairs=random_kinds,
        random_linked=random_linked,
        pairs_read=read.height,
        pairs_linked_relatives=int(read["linked"].sum()),
    )
    weight_linked, weight_not = evidence.weight_linked, evidence.weight_not_linked
    scored = read.select(
        "unique_id_l",
        "unique_id_r",
        pl.when("linked").then(1).otherwise(0).cast(pl.Int8).alias("gamma_relatives"),
        pl.when("linked").then(weight_linked).otherwise(weight_not).alias("mw_relatives"),
        "relatives_relationship",
        "relatives_left",
        "relatives_right",
    )
    updated = (
        pairs.drop(
            [c for c in _EVIDENCE_COLUMNS if c in pairs.columns],
        )
        .join(scored, on=["unique_id_l", "unique_id_r"], how="left")
        .with_columns(
            pl.col("gamma_relatives").fill_null(-1),
            pl.col("mw_relatives").fill_null(0.0),
        )
        .with_columns(match_weight=pl.col("match_weight") + pl.col("mw_relatives"))
        .with_columns(match_probability=1.0 / (1.0 + 2.0 ** -pl.col("match_weight")))
    )
    reason = (
        f"relatives' comparison: {evidence.pairs_read:,} pair(s) below {below:g} with the same "
        f"given name and birth date whose records both have relatives of one kind; "
        f"{evidence.pairs_linked_relatives:,} with those relatives linked to one person "
        f"({weight_linked:+.2f}: m {m:.3f} from {sure_linked:,} of {sure.height:,} pairs "
        f"at {SURE_MATCH_WEIGHT:g} or more, u {u:.2e} from {random_linked:,} of "
        f"{random_kinds:,} random pairs), the others {weight_not:+.2f}"
    )
    return updated, RelativesEvidence(**{**evidence.__dict__, "reason": reason})


_EVIDENCE_COLUMNS = (
    "gamma_relatives",
    "mw_relatives",
    "relatives_relationship",
    "relatives_left",
    "relatives_right",
)


def _unchanged(pairs: pl.DataFrame) -> pl.DataFrame:
    return pairs


# --- explaining it ----------------------------------------------------------------------

DESCRIPTION = (
    "relatives' comparison (second pass): relatives of one kind on both records, read after "
    "the first clustering"
)


def was_read(pair: Mapping[str, Any]) -> bool:
    """Whether the relatives' comparison weighed this scored pair (``gamma_relatives`` 0 or 1;
    -1 or absent: not read, and the pair stands on its own fields)."""
    gamma = pair.get("gamma_relatives")
    return gamma is not None and gamma >= 0


def relative_names(records: pl.DataFrame, pairs: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """The given and family name of each relative shown for ``pairs`` (unique_id -> name), read
    from ``records`` (prepared or as filed)."""
    wanted = {
        pair[side]
        for pair in pairs
        for side in ("relatives_left", "relatives_right")
        if pair.get(side) is not None
    }
    if not wanted:
        return {}
    rows = records.filter(pl.col("unique_id").is_in(sorted(wanted))).select(
        "unique_id", "given_name", "family_name"
    )
    return {
        key: " ".join(part for part in (given, family) if part)
        for key, given, family in rows.iter_rows()
    }


def relatives_step(
    pair: Mapping[str, Any], names: Mapping[str, str], *, left: str | None = None
) -> WaterfallStep | None:
    """The relatives' comparison of one scored pair as a waterfall step ("parent Jane Smith
    (records hv:1, police:7) linked as one person", with its weight), or None when it was not
    read for the pair. ``left``: the record the caller shows on the left (the pair's own left
    record unless it names the other)."""
    if not was_read(pair):
        return None
    weight = round(float(pair.get("mw_relatives") or 0.0), 4)
    if pair["gamma_relatives"] == 1:
        kind, of_left, of_right = (
            pair["relatives_relationship"],
            pair["relatives_left"],
            pair["relatives_right"],
        )
        shown = [names.get(of_left), names.get(of_right)]
        who = " / ".join(dict.fromkeys(name for name in shown if name))
        named = f"{kind} {who} " if who else f"{kind} "
        level = f"{named}(records {of_left}, {of_right}) linked as one person"
        values: list[str | None] = [
            f"{kind} {name + ' ' if name else ''}({record})"
            for name, record in zip(shown, (of_left, of_right), strict=True)
        ]
    else:
        level, values = NOT_LINKED, [None, None]
    if left is not None and left == pair["unique_id_r"]:
        values.reverse()
    return WaterfallStep(
        comparison="relatives",
        description=DESCRIPTION,
        level=level,
        value_left=values[0],
        value_right=values[1],
        match_weight=weight,
    )


def second_pass_words(
    *, first_pass: float, relatives: float, below: float, line: float | None = None
) -> str:
    """What the second pass did to a pair: where the first pass left it and what the
    relatives' comparison added (and, given the run's ``line``, where the run linked)."""
    linked_from = "" if line is None else f" The run linked pairs from {line:+.2f}."
    return (
        f"The relatives' comparison was added in the second pass, after the first clustering: "
        f"on its own fields the first pass scored this pair {first_pass:+.2f}, under {below:g}, "
        f"the line below which relatives are read; the relatives add {relatives:+.2f}, making "
        f"{first_pass + relatives:+.2f}.{linked_from}"
    )
