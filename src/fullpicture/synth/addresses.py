"""Address histories: each household's addresses over time, and each person's share of them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from fullpicture.synth.draws import (
    NO_DATE,
    NONE,
    IntArray,
    choose_int,
    from_distribution,
    uniform_days,
)
from fullpicture.synth.names import name_lists
from fullpicture.synth.schemas import SynthesisSettings

if TYPE_CHECKING:
    from fullpicture.synth.population import Family

_INWARD_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))


def household_addresses(
    *,
    settings: SynthesisSettings,
    rng: np.random.Generator,
    family: Family,
    n_hh: int,
    solo: IntArray,
    window_start: int,
    today: int,
) -> pl.DataFrame:
    """Address history per household (family and one-person), most recent first."""
    area = settings.area
    names = name_lists()
    solo_hh = np.flatnonzero(solo != NONE)
    n_solo = solo_hh.size
    total = n_hh + n_solo
    moves = np.concatenate(
        [
            choose_int(rng, settings.households.moves_in_window, n_hh),
            np.zeros(n_solo, dtype=np.int64),
        ]
    )
    periods = moves + 1
    hh = np.repeat(np.arange(total), periods)
    first = np.r_[0, np.cumsum(periods)[:-1]]
    seq = np.arange(hh.size) - first[hh]  # 0 = oldest
    starts = np.concatenate([family.started_on, np.zeros(n_solo, dtype=np.int64)])
    # A one-person household's first address starts with its householder's membership, so it
    # is left open here (NO_DATE) and clipped to the membership in _person_addresses.
    move_day = uniform_days(
        rng,
        np.full(hh.size, window_start, dtype=np.int64),
        np.full(hh.size, today - 14, dtype=np.int64),
    )
    # Sort the move days within each household so periods follow each other.
    order = np.lexsort((move_day, hh))
    move_day = move_day[order]
    date_from = np.where(
        seq == 0, np.where(hh < n_hh, starts[np.minimum(hh, n_hh - 1)], NO_DATE), move_day
    )
    last = np.r_[hh[1:] != hh[:-1], True]
    date_to = np.where(last, NO_DATE, np.r_[date_from[1:], NO_DATE] - 1)

    n_streets = max(5, int(np.ceil(total / 1000 * area.streets_per_1000_households)))
    stems = np.asarray(names.streets)
    street_stem = stems[rng.integers(0, stems.size, n_streets)]
    street_type = from_distribution(rng, area.street_types, n_streets)
    street_outward = np.asarray(area.home_outward_codes)[
        rng.integers(0, len(area.home_outward_codes), n_streets)
    ]
    inward = np.char.add(
        np.char.add(
            rng.integers(1, 10, (n_streets, area.postcodes_per_street)).astype(np.str_),
            _INWARD_LETTERS[
                rng.integers(0, _INWARD_LETTERS.size, (n_streets, area.postcodes_per_street))
            ],
        ),
        _INWARD_LETTERS[
            rng.integers(0, _INWARD_LETTERS.size, (n_streets, area.postcodes_per_street))
        ],
    )
    street = rng.integers(0, n_streets, hh.size)
    house = rng.integers(1, 180, hh.size)
    flat = rng.random(hh.size) < area.flat_share
    flat_no = rng.integers(1, 24, hh.size)
    away = (
        last
        & (hh < n_hh)
        & (seq > 0)
        & (rng.random(hh.size) < settings.households.move_out_of_area)
    )
    outward = np.where(
        away,
        np.asarray(area.away_outward_codes)[rng.integers(0, len(area.away_outward_codes), hh.size)],
        street_outward[street],
    )
    postcode = np.char.add(
        np.char.add(outward, " "),
        inward[street, rng.integers(0, area.postcodes_per_street, hh.size)],
    )
    line = np.char.add(
        np.char.add(np.char.add(house.astype(np.str_), " "), street_stem[street]),
        np.char.add(" ", street_type[street]),
    )
    line = np.where(
        flat,
        np.char.add(np.char.add(np.char.add("Flat ", flat_no.astype(np.str_)), ", "), line),
        line,
    )
    frame = pl.DataFrame(
        {
            "household_idx": hh,
            "period": seq,
            "line": line,
            "postcode": postcode,
            "from_days": date_from,
            "to_days": date_to,
        }
    )
    return frame


def person_addresses(memberships: pl.DataFrame, addresses: pl.DataFrame) -> pl.DataFrame:
    """Each person's addresses: the household's addresses while they lived there."""
    joined = memberships.select(
        "person_idx",
        "household_idx",
        pl.col("from_days").alias("m_from"),
        pl.col("to_days").alias("m_to"),
    ).join(addresses, on="household_idx", how="inner")
    big = 10**7
    m_to = pl.when(pl.col("m_to") == NO_DATE).then(big).otherwise(pl.col("m_to"))
    a_to = pl.when(pl.col("to_days") == NO_DATE).then(big).otherwise(pl.col("to_days"))
    a_from = (
        pl.when(pl.col("from_days") == NO_DATE)
        .then(pl.col("m_from"))
        .otherwise(pl.col("from_days"))
    )
    overlap = joined.with_columns(
        pl.max_horizontal(a_from, pl.col("m_from")).alias("p_from"),
        pl.min_horizontal(a_to, m_to).alias("p_to"),
    ).filter(pl.col("p_from") <= pl.col("p_to"))
    result = overlap.select(
        "person_idx",
        "line",
        "postcode",
        pl.col("p_from").alias("from_days"),
        pl.when(pl.col("p_to") == big).then(NO_DATE).otherwise(pl.col("p_to")).alias("to_days"),
    ).sort(["person_idx", "from_days"], descending=[False, True])
    return result.with_columns(
        pl.int_range(pl.len()).over("person_idx").alias("recency"),
    )
