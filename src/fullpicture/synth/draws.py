"""Random draws shared by the generator, and dates as whole days since 1970-01-01."""

from __future__ import annotations

import datetime as dt
from typing import cast

import numpy as np
import numpy.typing as npt
import polars as pl

EPOCH = dt.date(1970, 1, 1)
NO_DATE = -(10**6)  # "no date" in a day-number array; written out as blank
YEAR = 365.25
NONE = -1  # "nobody" in a person-index array

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def to_days(day: dt.date) -> int:
    return (day - EPOCH).days


def day_column_as_date(column: str, name: str) -> pl.Expr:
    """A day-number column as a polars Date expression; ``NO_DATE`` becomes null."""
    return (
        pl.when(pl.col(column) == NO_DATE)
        .then(None)
        .otherwise(pl.col(column))
        .cast(pl.Int32)
        .cast(pl.Date)
        .alias(name)
    )


def days_to_date(values: IntArray, name: str) -> pl.Series:
    """Days since 1970 as a polars Date column; ``NO_DATE`` becomes null."""
    days = pl.Series(name, values.astype(np.int64))
    return (
        pl.select(pl.when(days == NO_DATE).then(None).otherwise(days).alias(name))
        .to_series()
        .cast(pl.Int32)
        .cast(pl.Date)
    )


def weighted(
    rng: np.random.Generator, options: list[str], weights: list[float], size: int
) -> npt.NDArray[np.str_]:
    p = np.asarray(weights, dtype=np.float64)
    return np.asarray(options)[rng.choice(len(options), size=size, p=p / p.sum())]


def norm(weights: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    normalised: npt.NDArray[np.float64] = weights / weights.sum()
    return normalised


def from_distribution(
    rng: np.random.Generator, distribution: dict[str, float], size: int
) -> npt.NDArray[np.str_]:
    return weighted(rng, list(distribution), list(distribution.values()), size)


def choose_int(rng: np.random.Generator, distribution: dict[int, float], size: int) -> IntArray:
    keys = np.array(list(distribution), dtype=np.int64)
    chosen: IntArray = keys[
        rng.choice(keys.size, size=size, p=norm(np.array(list(distribution.values()))))
    ]
    return chosen


def uniform_days(rng: np.random.Generator, low: IntArray, high: IntArray) -> IntArray:
    span = np.maximum(high - low, 0)
    return cast(IntArray, low + np.floor(rng.random(low.size) * (span + 1)).astype(np.int64))
