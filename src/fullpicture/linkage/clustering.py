"""Scored pairs -> people: link pairs above the threshold, honouring practitioners' decisions.

Pairs are joined strongest first. A confirmed pair is always joined; a rejected pair is never
allowed to end up in one person, even through a chain of other links (the join that would
bring them together is refused). The result depends only on the pairs and decisions, never on
the order records arrived in, which is what lets incremental linkage equal a batch run.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

import polars as pl

PERSON_NAMESPACE = uuid.UUID("6f0c3c1e-9a52-4b8e-8f0e-5d7c2a1b9e41")

Pair = tuple[str, str]


def ordered(a: str, b: str) -> Pair:
    return (a, b) if a <= b else (b, a)


@dataclass(frozen=True)
class PairDecisions:
    """Practitioners' standing decisions, by record key (``source:record_id``)."""

    confirmed: frozenset[Pair] = field(default_factory=frozenset)
    rejected: frozenset[Pair] = field(default_factory=frozenset)

    @classmethod
    def of(cls, confirmed: Iterable[Pair] = (), rejected: Iterable[Pair] = ()) -> PairDecisions:
        return cls(
            frozenset(ordered(*p) for p in confirmed), frozenset(ordered(*p) for p in rejected)
        )


def agency_of(record_key: str) -> str:
    """Record keys are ``<agency>:<record id>`` in every mode (file: source; database: id)."""
    return record_key.split(":", 1)[0]


class _Forest:
    def __init__(
        self,
        rejected: frozenset[Pair],
        *,
        strong: set[Pair] | None,
        one_per_agency: bool,
        same_agency_weights: dict[Pair, float] | None = None,
        chain_min_match_weight: float | None = None,
        identifiers: dict[str, tuple[str | None, ...]] | None = None,
    ) -> None:
        self.parent: dict[str, str] = {}
        self.cannot: dict[str, set[str]] = {}
        for a, b in rejected:
            self.cannot.setdefault(a, set()).add(b)
            self.cannot.setdefault(b, set()).add(a)
        # Per root: records in the component that some rejected pair involves, and the
        # records the component may never contain.
        self.constrained: dict[str, set[str]] = {r: {r} for r in self.cannot}
        self.forbidden: dict[str, set[str]] = {r: set(s) for r, s in self.cannot.items()}
        # Per root (only once it holds more than one record): its records by agency.
        self.one_per_agency = one_per_agency
        self.strong = strong or set()
        self.same_agency_weights = same_agency_weights or {}
        self.chain_min_match_weight = chain_min_match_weight
        self.identifiers = identifiers or {}
        self.by_agency: dict[str, dict[str, list[str]]] = {}

    def find(self, node: str) -> str:
        parent = self.parent
        root = parent.setdefault(node, node)
        while root != parent[root]:
            root = parent[root]
        while node != root:
            parent[node], node = root, parent[node]
        return root

    def _agencies(self, root: str) -> dict[str, list[str]]:
        held = self.by_agency.get(root)
        return held if held is not None else {agency_of(root): [root]}

    def _may_share_person(self, x: str, y: str) -> bool:
        """Two records of one agency may be one person: their own pair is strong, or (when a
        chain weight is set) nothing in them says they are two people: no identifier (NHS
        number, UPN) on both that differs, and their own pair, if scored, weighs at least the
        chain weight (a different given name or birth date weighs them below it)."""
        pair = ordered(x, y)
        if pair in self.strong:
            return True
        if self.chain_min_match_weight is None:
            return False
        held_x, held_y = self.identifiers.get(x), self.identifiers.get(y)
        if (
            held_x
            and held_y
            and any(
                a is not None and b is not None and a != b
                for a, b in zip(held_x, held_y, strict=True)
            )
        ):
            return False
        weight = self.same_agency_weights.get(pair)
        return weight is None or weight >= self.chain_min_match_weight

    def _same_agency_conflict(self, ra: str, rb: str) -> bool:
        """Would the join put two records of one agency together that do not themselves match?
        Two of an agency's records in one person need their own evidence (a duplicate the
        agency holds), not only a chain through other records."""
        held_a, held_b = self._agencies(ra), self._agencies(rb)
        if len(held_b) < len(held_a):
            held_a, held_b = held_b, held_a
        for agency, records_a in held_a.items():
            for x in records_a:
                for y in held_b.get(agency, ()):
                    if not self._may_share_person(x, y):
                        return True
        return False

    def join(self, a: str, b: str, *, confirmed: bool = False) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if ra > rb:
            ra, rb = rb, ra
        fa, fb = self.forbidden.get(ra), self.forbidden.get(rb)
        if fa or fb:
            ca, cb = self.constrained.get(ra, set()), self.constrained.get(rb, set())
            if (fa and fa & cb) or (fb and fb & ca):
                return False
        if self.one_per_agency and not confirmed and self._same_agency_conflict(ra, rb):
            return False
        if fa or fb:
            self.constrained[ra] = self.constrained.get(ra, set()) | self.constrained.get(rb, set())
            self.forbidden[ra] = (fa or set()) | (fb or set())
            self.constrained.pop(rb, None)
            self.forbidden.pop(rb, None)
        if self.one_per_agency:
            merged = {k: list(v) for k, v in self._agencies(ra).items()}
            for agency, records in self._agencies(rb).items():
                merged.setdefault(agency, []).extend(records)
            self.by_agency[ra] = merged
            self.by_agency.pop(rb, None)
        self.parent[rb] = ra
        return True


@dataclass
class Clustering:
    """``assignments``: unique_id, cluster_key, cluster_confidence; ``refused``: pairs whose
    join was refused (a rejected pair, or two unmatched records of one agency, would have
    ended up in one person)."""

    assignments: pl.DataFrame
    refused: list[Pair]


def cluster_records(
    record_ids: pl.Series,
    pairs: pl.DataFrame,
    *,
    threshold_match_weight: float,
    decisions: PairDecisions | None = None,
    one_record_per_agency: bool = False,
    same_agency_chain_min_match_weight: float | None = None,
    identifiers: pl.DataFrame | None = None,
    held_back: frozenset[Pair] = frozenset(),
) -> Clustering:
    """Join pairs at or above the threshold into people, strongest first.

    With ``one_record_per_agency``, two records of one agency end up in one person only when
    their own pair is strong or, given ``same_agency_chain_min_match_weight``, nothing says they
    are two people: ``identifiers`` (unique_id, nhs_number, upn) do not conflict and their own
    pair, if scored, weighs at least that (a true duplicate in one agency's list joins through
    a chain; twins, with their own NHS numbers or given names, do not). A ``held_back`` pair
    is not linked on its own weight (it may still end up in one person through others)."""
    decisions = _known_decisions(record_ids, decisions)
    strong = pairs.filter(pl.col("match_weight") >= threshold_match_weight)
    if held_back:
        strong = strong.join(_pair_frame(held_back), on=["unique_id_l", "unique_id_r"], how="anti")
    strong = _strongest_first(strong)
    forest = _forest(
        pairs,
        strong,
        decisions,
        one_record_per_agency=one_record_per_agency,
        same_agency_chain_min_match_weight=same_agency_chain_min_match_weight,
        identifiers=identifiers,
    )
    refused: list[Pair] = []
    for a, b in sorted(decisions.confirmed):
        if not forest.join(a, b, confirmed=True):
            refused.append((a, b))
    rejected = decisions.rejected
    for a, b, _weight in strong.iter_rows():
        if (a, b) in rejected:
            continue
        if not forest.join(a, b):
            refused.append((a, b))

    ids = record_ids.unique().sort()
    keys = [forest.find(r) if r in forest.parent else r for r in ids.to_list()]
    assignments = pl.DataFrame({"unique_id": ids, "cluster_key": keys})
    cluster_min = assignments.group_by("cluster_key").agg(pl.col("unique_id").min().alias("k"))
    assignments = (
        assignments.join(cluster_min, on="cluster_key")
        .drop("cluster_key")
        .rename({"k": "cluster_key"})
    )
    return Clustering(_with_confidence(assignments, pairs, decisions), refused)


def _known_decisions(record_ids: pl.Series, decisions: PairDecisions | None) -> PairDecisions:
    """The decisions whose two records are both among ``record_ids``."""
    decisions = decisions or PairDecisions()
    known = set(record_ids.to_list())
    return PairDecisions(
        frozenset(p for p in decisions.confirmed if p[0] in known and p[1] in known),
        frozenset(p for p in decisions.rejected if p[0] in known and p[1] in known),
    )


def _pair_frame(pairs: frozenset[Pair]) -> pl.DataFrame:
    return pl.DataFrame(
        list(pairs), schema={"unique_id_l": pl.String, "unique_id_r": pl.String}, orient="row"
    )


def _strongest_first(pairs: pl.DataFrame) -> pl.DataFrame:
    """The order pairs are joined in: strongest first, ties by record key (so the result never
    depends on the order the pairs arrived in)."""
    return pairs.select("unique_id_l", "unique_id_r", "match_weight").sort(
        ["match_weight", "unique_id_l", "unique_id_r"], descending=[True, False, False]
    )


def _forest(
    pairs: pl.DataFrame,
    strong: pl.DataFrame,
    decisions: PairDecisions,
    *,
    one_record_per_agency: bool,
    same_agency_chain_min_match_weight: float | None,
    identifiers: pl.DataFrame | None,
) -> _Forest:
    """The union-find the pairs are joined in, with what the one-record-per-agency rule reads:
    the ``strong`` pairs (those that will be linked), every same-agency pair's own weight, and
    the records' identifiers."""
    strong_pairs = (
        {ordered(a, b) for a, b in strong.select("unique_id_l", "unique_id_r").iter_rows()}
        | set(decisions.confirmed)
        if one_record_per_agency
        else None
    )
    same_agency_weights: dict[Pair, float] = {}
    if one_record_per_agency and same_agency_chain_min_match_weight is not None:
        agency = pl.col("unique_id_l").str.split(":").list.first()
        # The pair's own evidence, without the model's "same source" term: that term says how
        # rarely one agency holds a person twice before any field is read, while this rule
        # asks, for two records another agency's record already joins, whether their fields
        # say they are two people.
        own = pl.col("match_weight")
        if "mw_source" in pairs.columns:
            own = own - pl.col("mw_source").fill_null(0.0)
        within = pairs.filter(agency == pl.col("unique_id_r").str.split(":").list.first()).select(
            "unique_id_l", "unique_id_r", own.alias("match_weight")
        )
        same_agency_weights = {ordered(a, b): w for a, b, w in within.iter_rows()}
    held: dict[str, tuple[str | None, ...]] = {}
    if identifiers is not None:
        with_any = identifiers.filter(
            pl.any_horizontal(pl.exclude("unique_id").is_not_null())
        ).select("unique_id", pl.exclude("unique_id"))
        held = {row[0]: tuple(row[1:]) for row in with_any.iter_rows()}
    return _Forest(
        decisions.rejected,
        strong=strong_pairs,
        one_per_agency=one_record_per_agency,
        same_agency_weights=same_agency_weights,
        chain_min_match_weight=same_agency_chain_min_match_weight,
        identifiers=held,
    )


def pairs_joining_people(
    record_ids: pl.Series,
    pairs: pl.DataFrame,
    walk: pl.DataFrame,
    *,
    start: float,
    decisions: PairDecisions | None = None,
    one_record_per_agency: bool = False,
    same_agency_chain_min_match_weight: float | None = None,
    identifiers: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """For each pair of ``walk`` (pairs below ``start``, strongest first): ``formed``, whether
    its two records already belong, at ``start``, to two people of two or more records each;
    and ``joins``, whether linking it would join two people, when the pairs at or above
    ``start`` are linked first and then ``walk``'s pairs one by one, as ``cluster_records``
    joins them, except the ``formed`` ones (the threshold holds those back).

    A pair whose two records are already one person (through stronger links) links nothing
    new, and one the clustering refuses (a rejected pair, or two records of one agency that do
    not themselves match) links nothing at all: neither can be a wrong link. The threshold's
    budget of expected wrong links (``threshold.choose_threshold``) counts only the pairs that
    join. The one-record-per-agency rule treats every pair from the weakest of ``walk`` up as
    linked (at a higher line fewer are, so it could refuse a join this walk lets through): a
    join is counted wherever the lowest line would make it, so the count errs towards more
    wrong links, never fewer."""
    decisions = _known_decisions(record_ids, decisions)
    lowest = start if walk.is_empty() else float(walk.select(pl.col("match_weight").min()).item())
    strong = _strongest_first(pairs.filter(pl.col("match_weight") >= min(start, lowest)))
    forest = _forest(
        pairs,
        strong,
        decisions,
        one_record_per_agency=one_record_per_agency,
        same_agency_chain_min_match_weight=same_agency_chain_min_match_weight,
        identifiers=identifiers,
    )
    for a, b in sorted(decisions.confirmed):
        forest.join(a, b, confirmed=True)
    rejected = decisions.rejected
    for a, b, _weight in strong.filter(pl.col("match_weight") >= start).iter_rows():
        if (a, b) not in rejected:
            forest.join(a, b)
    # How many records each person holds at the fixed line (a record never joined is alone).
    size: dict[str, int] = {}
    for record in list(forest.parent):
        root = forest.find(record)
        size[root] = size.get(root, 0) + 1
    rows = walk.select("unique_id_l", "unique_id_r").rows()
    formed = [
        size.get(forest.find(a), 1) >= 2
        and size.get(forest.find(b), 1) >= 2
        and forest.find(a) != forest.find(b)
        for a, b in rows
    ]
    joins: list[bool] = []
    for (a, b), apart in zip(rows, formed, strict=True):
        joins.append(
            not apart
            and (a, b) not in rejected
            and forest.find(a) != forest.find(b)
            and forest.join(a, b)
        )
    return pl.DataFrame(
        {"formed": formed, "joins": joins}, schema={"formed": pl.Boolean, "joins": pl.Boolean}
    )


def _with_confidence(
    assignments: pl.DataFrame, pairs: pl.DataFrame, decisions: PairDecisions
) -> pl.DataFrame:
    """A linked record: the strongest probability tying it to another record of its person
    (1.0 when a practitioner confirmed it). A record alone: one minus the strongest
    probability that it belongs with someone else."""
    both_ways = pl.concat(
        [
            pairs.select(
                pl.col("unique_id_l").alias("a"),
                pl.col("unique_id_r").alias("b"),
                "match_probability",
            ),
            pairs.select(
                pl.col("unique_id_r").alias("a"),
                pl.col("unique_id_l").alias("b"),
                "match_probability",
            ),
        ]
    )
    if decisions.confirmed:
        confirmed = pl.DataFrame(
            [(a, b) for a, b in decisions.confirmed] + [(b, a) for a, b in decisions.confirmed],
            schema={"a": pl.String, "b": pl.String},
            orient="row",
        ).with_columns(match_probability=pl.lit(1.0))
        both_ways = pl.concat([both_ways, confirmed])
    keyed = both_ways.join(
        assignments.rename({"unique_id": "a", "cluster_key": "key_a"}), on="a"
    ).join(assignments.rename({"unique_id": "b", "cluster_key": "key_b"}), on="b")
    inside = (
        keyed.filter(pl.col("key_a") == pl.col("key_b"))
        .group_by("a")
        .agg(pl.col("match_probability").max().alias("inside"))
    )
    outside = (
        keyed.filter(pl.col("key_a") != pl.col("key_b"))
        .group_by("a")
        .agg(pl.col("match_probability").max().alias("outside"))
    )
    sizes = assignments.group_by("cluster_key").agg(pl.len().alias("size"))
    return (
        assignments.join(sizes, on="cluster_key")
        .join(inside.rename({"a": "unique_id"}), on="unique_id", how="left")
        .join(outside.rename({"a": "unique_id"}), on="unique_id", how="left")
        .select(
            "unique_id",
            "cluster_key",
            pl.when(pl.col("size") > 1)
            .then(pl.col("inside").fill_null(1.0))
            .otherwise(1.0 - pl.col("outside").fill_null(0.0))
            .round(6)
            .alias("cluster_confidence"),
        )
        .sort("unique_id")
    )


def person_key(cluster_key: str) -> str:
    """A stable id for a cluster in the plain-file output: the same file gives the same ids."""
    return str(uuid.uuid5(PERSON_NAMESPACE, cluster_key))
