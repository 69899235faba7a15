"""Name frequency lists (data files beside this module) and drawing names from them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from fullpicture.synth.draws import norm, weighted

DATA_DIR = Path(__file__).parent


@dataclass(frozen=True)
class NameLists:
    given: pl.DataFrame  # name, sex, cohort, weight
    family: pl.DataFrame  # name, group, weight
    variants: pl.DataFrame  # name, variant, kind
    streets: list[str]


@lru_cache(maxsize=1)
def name_lists() -> NameLists:
    def read(name: str) -> pl.DataFrame:
        return pl.read_csv(DATA_DIR / name, comment_prefix="#", infer_schema_length=0)

    given = read("given_names.csv").with_columns(pl.col("weight").cast(pl.Float64))
    family = read("family_names.csv").with_columns(pl.col("weight").cast(pl.Float64))
    return NameLists(
        given=given,
        family=family,
        variants=read("name_variants.csv"),
        streets=read("street_names.csv")["stem"].to_list(),
    )


def pick_given(
    rng: np.random.Generator,
    names: NameLists,
    sex: npt.NDArray[np.str_],
    cohort: str,
    groups: npt.NDArray[np.str_],
    own_group_share: float,
) -> npt.NDArray[np.str_]:
    """Given names: from the person's name group's own list (when it has one) with
    ``own_group_share``, otherwise from the general list."""
    own = (rng.random(sex.size) < own_group_share) & (groups != "general")
    drawn_from = np.where(own, groups, "general")
    out = np.empty(sex.size, dtype=object)
    for one_sex in ("F", "M"):
        for group in np.unique(drawn_from):
            table = names.given.filter(
                (pl.col("sex") == one_sex)
                & (pl.col("cohort") == cohort)
                & (pl.col("group") == group)
            )
            if table.height == 0:
                table = names.given.filter(
                    (pl.col("sex") == one_sex)
                    & (pl.col("cohort") == cohort)
                    & (pl.col("group") == "general")
                )
            mask = (sex == one_sex) & (drawn_from == group)
            out[mask] = weighted(
                rng, table["name"].to_list(), table["weight"].to_list(), int(mask.sum())
            )
    return out.astype(np.str_)


def pick_family(
    rng: np.random.Generator,
    names: NameLists,
    groups: npt.NDArray[np.str_] | None,
    size: int,
    group_weights: dict[str, float] | None = None,
) -> tuple[npt.NDArray[np.str_], npt.NDArray[np.str_]]:
    """Family names (and their groups): from ``groups`` when given, else from everyone, each
    group's weights multiplied by ``group_weights`` (1 where not given)."""
    table = names.family
    if groups is None:
        weights = table["weight"].to_numpy()
        if group_weights:
            factor = table["group"].replace_strict(
                group_weights, default=1.0, return_dtype=pl.Float64
            )
            weights = weights * factor.to_numpy()
        picked = rng.choice(table.height, size=size, p=norm(weights))
        return (
            table["name"].to_numpy()[picked].astype(np.str_),
            table["group"].to_numpy()[picked].astype(np.str_),
        )
    out = np.empty(size, dtype=object)
    for group in np.unique(groups):
        mask = groups == group
        sub = table.filter(pl.col("group") == group)
        out[mask] = weighted(rng, sub["name"].to_list(), sub["weight"].to_list(), int(mask.sum()))
    return out.astype(np.str_), groups
