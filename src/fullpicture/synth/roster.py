"""The agencies around the synthetic population, scaled to its size, and who uses which."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from fullpicture.agencies.models import AgencyKind
from fullpicture.synth.population import YEAR, IntArray, Population, name_lists
from fullpicture.synth.schemas import SynthesisSettings

_SCALED = (
    (AgencyKind.SCHOOL, "primary", "Primary School", 2000),
    (AgencyKind.SCHOOL, "secondary", "Academy", 4000),
    (AgencyKind.NURSERY, "nursery", "Day Nursery", 1000),
    (AgencyKind.GP, "gp", "Surgery", 0),
)


@dataclass(frozen=True)
class Roster:
    agencies: pl.DataFrame  # agency_idx, code, name, kind, record_prefix, establishment
    primary_of_household: IntArray
    secondary_of_household: IntArray
    nursery_of_household: IntArray
    gp_of_household: IntArray
    single: dict[AgencyKind, int]

    def agency_for(self, kind: AgencyKind, household: IntArray, age_years: IntArray) -> IntArray:
        """The agency of ``kind`` a person of this household and age would be known to."""
        if kind is AgencyKind.SCHOOL:
            return np.where(
                age_years >= 11,
                self.secondary_of_household[household],
                self.primary_of_household[household],
            )
        if kind is AgencyKind.NURSERY:
            return self.nursery_of_household[household]
        if kind is AgencyKind.GP:
            return self.gp_of_household[household]
        return np.full(household.size, self.single[kind], dtype=np.int64)


def build_roster(
    *, settings: SynthesisSettings, rng: np.random.Generator, population: Population
) -> Roster:
    """A realistic roster for this many children: several schools, nurseries and GP practices,
    and one of each borough-wide service."""
    roster = settings.roster
    persons = population.persons
    age = (population.as_of - persons["dob_days"].to_numpy()) / YEAR
    child = persons["kind"].to_numpy() == "child"
    counts = {
        "primary": max(
            2,
            round(
                float(((age >= 4) & (age < 11) & child).sum()) / roster.children_per_primary_school
            ),
        ),
        "secondary": max(
            1, round(float(((age >= 11) & child).sum()) / roster.children_per_secondary_school)
        ),
        "nursery": max(
            2, round(float(((age >= 2) & (age < 5) & child).sum()) / roster.children_per_nursery)
        ),
        "gp": max(2, round(persons.height / roster.patients_per_gp_practice)),
    }
    stems = name_lists().streets
    rows: list[dict[str, object]] = []
    index_of: dict[str, list[int]] = {}
    for kind, phase, suffix, establishment_base in _SCALED:
        picked = rng.permutation(len(stems))
        index_of[phase] = []
        for number in range(counts[phase]):
            stem = stems[int(picked[number % len(stems)])]
            repeat = number // len(stems)
            label = f"{stem} {suffix}" if repeat == 0 else f"{stem} {suffix} {repeat + 1}"
            slug = label.lower().replace(" ", "-")
            index_of[phase].append(len(rows))
            rows.append(
                {
                    "code": f"{phase}-{slug}" if kind is AgencyKind.GP else slug,
                    "name": label
                    if kind is not AgencyKind.SCHOOL or phase == "primary"
                    else f"{stem} Academy",
                    "kind": kind.value,
                    "record_prefix": roster.record_prefixes.get(kind, "R"),
                    "establishment": establishment_base + number if establishment_base else None,
                }
            )
    single: dict[AgencyKind, int] = {}
    for agency in roster.single_agencies:
        single[agency.kind] = len(rows)
        rows.append(
            {
                "code": agency.code,
                "name": agency.name,
                "kind": agency.kind.value,
                "record_prefix": agency.record_prefix,
                "establishment": None,
            }
        )
    missing = set(AgencyKind) - {AgencyKind.SCHOOL, AgencyKind.NURSERY, AgencyKind.GP} - set(single)
    if missing:
        raise ValueError(f"roster.single_agencies has no agency of kind {sorted(missing)}")
    agencies = (
        pl.DataFrame(rows, schema_overrides={"establishment": pl.Int64})
        .with_row_index("agency_idx")
        .with_columns(pl.col("agency_idx").cast(pl.Int64))
    )
    households = population.family_households + int(
        population.memberships.filter(pl.col("role") == "householder").height
    )

    def assign(phase: str) -> IntArray:
        choices = np.asarray(index_of[phase], dtype=np.int64)
        return choices[rng.integers(0, choices.size, households)]

    return Roster(
        agencies=agencies,
        primary_of_household=assign("primary"),
        secondary_of_household=assign("secondary"),
        nursery_of_household=assign("nursery"),
        gp_of_household=assign("gp"),
        single=single,
    )
