"""Each agency's own copy of the people it knows, with the noise real records carry.

Who an agency holds comes from the ``knowledge`` rules plus everyone its planted events name.
Noise is applied column by column with numpy masks; only the few per cent of names that get a
typo go through a Python function, one name at a time.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import numpy.typing as npt
import polars as pl

from fullpicture.agencies.models import AgencyKind
from fullpicture.synth.draws import NO_DATE, NONE, YEAR, IntArray, day_column_as_date
from fullpicture.synth.identifiers import new_nhs_numbers
from fullpicture.synth.names import name_lists
from fullpicture.synth.population import Population
from fullpicture.synth.roster import Roster
from fullpicture.synth.schemas import AdultRole, SynthesisSettings

_STREET_ABBREVIATIONS = {
    " Road": " Rd",
    " Street": " St",
    " Avenue": " Ave",
    " Close": " Cl",
    " Lane": " Ln",
    " Gardens": " Gdns",
    " Crescent": " Cres",
    " Drive": " Dr",
}
_KEYBOARD_NEIGHBOURS = {
    "a": "sq",
    "b": "vn",
    "c": "xv",
    "d": "sf",
    "e": "wr",
    "f": "dg",
    "g": "fh",
    "h": "gj",
    "i": "uo",
    "j": "hk",
    "k": "jl",
    "l": "k",
    "m": "n",
    "n": "bm",
    "o": "ip",
    "p": "o",
    "r": "et",
    "s": "ad",
    "t": "ry",
    "u": "yi",
    "v": "cb",
    "w": "qe",
    "y": "tu",
    "z": "x",
}


def held_pairs(
    *,
    settings: SynthesisSettings,
    rng: np.random.Generator,
    population: Population,
    roster: Roster,
) -> pl.DataFrame:
    """(agency_idx, person_idx) for everyone each agency holds under its knowledge rule."""
    persons = population.persons
    kind = persons["kind"].to_numpy()
    sex = persons["sex"].to_numpy()
    household = persons["household_idx"].to_numpy()
    age = np.floor((population.as_of - persons["dob_days"].to_numpy()) / YEAR).astype(np.int64)
    family = population.family
    role_arrays = {
        AdultRole.MOTHER: family.mother,
        AdultRole.FATHER: family.father,
        AdultRole.PARTNER: family.partner,
        AdultRole.GRANDPARENT: family.grandparent,
    }
    agencies: list[IntArray] = []
    people: list[IntArray] = []
    for agency_kind in AgencyKind:
        rule = settings.knowledge[agency_kind]
        if rule.unit == "household":
            chosen_hh = np.flatnonzero(rng.random(population.family_households) < rule.child_share)
            members = population.memberships.filter(
                pl.col("household_idx").is_in(chosen_hh.tolist())
            )["person_idx"].to_numpy()
            held = np.unique(members)
            agencies.append(roster.agency_for(agency_kind, household[held], age[held]))
            people.append(held)
            continue
        eligible = (
            (kind == "child")
            & (age >= rule.child_age_years.low)
            & (age <= rule.child_age_years.high)
        )
        held_child = eligible & (rng.random(kind.size) < rule.child_share)
        held_child |= (kind == "unborn") & (rng.random(kind.size) < rule.unborn_share)
        held = np.flatnonzero(held_child)
        agency_of_child = roster.agency_for(agency_kind, household[held], np.maximum(age[held], 0))
        agencies.append(agency_of_child)
        people.append(held)
        for adult_role, share in rule.adults_of_held_children.items():
            adult = role_arrays[adult_role][household[held]]
            take = (adult != NONE) & (rng.random(held.size) < share)
            agencies.append(agency_of_child[take])
            people.append(adult[take])
        if rule.other_adult_share:
            adult_ok = kind == "adult"
            if rule.other_adult_sex != "any":
                adult_ok &= sex == rule.other_adult_sex
            others = np.flatnonzero(adult_ok & (rng.random(kind.size) < rule.other_adult_share))
            agencies.append(roster.agency_for(agency_kind, household[others], age[others]))
            people.append(others)
    current = pl.DataFrame(
        {"agency_idx": np.concatenate(agencies), "person_idx": np.concatenate(people)}
    ).with_columns(pl.lit(NO_DATE, dtype=pl.Int64).alias("held_until"))
    return pl.concat([current, _former_pairs(settings, population, roster, current)])


def _former_pairs(
    settings: SynthesisSettings, population: Population, roster: Roster, current: pl.DataFrame
) -> pl.DataFrame:
    """The records a school, nursery or GP kept after the household moved on to another one:
    held until the change, for people who were there (and of age for it) at the time."""
    persons = population.persons
    dob = persons["dob_days"].to_numpy()
    household = persons["household_idx"].to_numpy()
    kind = persons["kind"].to_numpy()
    joined = population.memberships.filter(pl.col("role") != "householder")
    joined_on = np.full(persons.height, NO_DATE, dtype=np.int64)
    joined_on[joined["person_idx"].to_numpy()] = joined["from_days"].to_numpy()
    kinds = roster.agencies["kind"].to_numpy()
    frames: list[pl.DataFrame] = []
    for agency_kind in (AgencyKind.SCHOOL, AgencyKind.NURSERY, AgencyKind.GP):
        rows = current.filter(
            pl.col("agency_idx").is_in(np.flatnonzero(kinds == agency_kind.value).tolist())
        )
        person = rows["person_idx"].to_numpy()
        hh = household[person]
        switched = roster.switched_on[
            AgencyKind.GP if agency_kind is AgencyKind.GP else AgencyKind.SCHOOL
        ][hh]
        age_then = np.floor((switched - dob[person]) / YEAR).astype(np.int64)
        rule = settings.knowledge[agency_kind]
        earlier = roster.previous_for(agency_kind, hh, age_then)
        there = (earlier != NONE) & (switched != NO_DATE) & (joined_on[person] < switched)
        if agency_kind is AgencyKind.GP:
            there &= (kind[person] == "adult") | (dob[person] < switched)
        else:
            there &= (kind[person] == "child") & (age_then >= rule.child_age_years.low)
            there &= age_then <= rule.child_age_years.high
        frames.append(
            pl.DataFrame(
                {
                    "agency_idx": earlier[there],
                    "person_idx": person[there],
                    "held_until": switched[there] - 1,
                }
            )
        )
    return pl.concat(frames)


def _held_until(
    population: Population, roster: Roster, agency_idx: IntArray, person_idx: IntArray
) -> IntArray:
    """The last day a school, nursery or GP held a record: the day before the household moved
    on from it, or NO_DATE while it still does."""
    dob, household = population.lookups()
    kinds = roster.agencies["kind"].to_numpy()[agency_idx]
    until = np.full(agency_idx.size, NO_DATE, dtype=np.int64)
    for agency_kind in (AgencyKind.SCHOOL, AgencyKind.NURSERY, AgencyKind.GP):
        rows = np.flatnonzero(kinds == agency_kind.value)
        hh = household[person_idx[rows]]
        switched = roster.switched_on[
            AgencyKind.GP if agency_kind is AgencyKind.GP else AgencyKind.SCHOOL
        ][hh]
        age_then = np.floor((switched - dob[person_idx[rows]]) / YEAR).astype(np.int64)
        earlier = roster.previous_for(agency_kind, hh, age_then)
        left = (switched != NO_DATE) & (earlier == agency_idx[rows])
        until[rows[left]] = switched[left] - 1
    return until


def _typo(name: str, rng: np.random.Generator) -> str:
    """One keyboard slip: a neighbouring key, a dropped, doubled or swapped letter."""
    if len(name) < 3:
        return name
    position = int(rng.integers(1, len(name) - 1))
    how = int(rng.integers(0, 4))
    letter = name[position]
    if how == 0 and letter.lower() in _KEYBOARD_NEIGHBOURS:
        options = _KEYBOARD_NEIGHBOURS[letter.lower()]
        swap = options[int(rng.integers(0, len(options)))]
        return name[:position] + swap + name[position + 1 :]
    if how == 1:
        return name[:position] + name[position + 1 :]
    if how == 2:
        return name[:position] + letter + name[position:]
    return name[: position - 1] + name[position] + name[position - 1] + name[position + 1 :]


_KINDS = list(AgencyKind)


def _kind_codes(agency_kind: npt.NDArray[np.str_]) -> npt.NDArray[np.int64]:
    """Each row's agency kind as its position in ``AgencyKind``, for fast rate look-ups."""
    values, inverse = np.unique(agency_kind, return_inverse=True)
    positions = np.array([_KINDS.index(AgencyKind(v)) for v in values], dtype=np.int64)
    return positions[inverse]


def _rates(
    settings: SynthesisSettings, kind_codes: npt.NDArray[np.int64], field: str
) -> npt.NDArray[np.float64]:
    table = np.array([float(getattr(settings.record_noise.for_kind(k), field)) for k in _KINDS])
    return cast("npt.NDArray[np.float64]", table[kind_codes])


def noisy_records(
    *,
    settings: SynthesisSettings,
    rng: np.random.Generator,
    population: Population,
    roster: Roster,
    pairs: pl.DataFrame,
) -> pl.DataFrame:
    """One row per (agency, person): the agency's record of the person, noise and all."""
    # One record per agency and person; a record the agency kept after the person left is held
    # until then (planted events only ever add people an agency holds at the time).
    pairs = pairs.select("agency_idx", "person_idx").unique().sort("agency_idx", "person_idx")
    pairs = pairs.with_columns(
        pl.Series(
            "held_until",
            _held_until(
                population, roster, pairs["agency_idx"].to_numpy(), pairs["person_idx"].to_numpy()
            ),
        )
    )
    agencies = roster.agencies.select(
        "agency_idx", pl.col("kind").alias("agency_kind"), "record_prefix"
    )
    frame = pairs.join(agencies, on="agency_idx", how="left").join(
        population.persons, on="person_idx", how="left"
    )
    n = frame.height
    agency_kind = frame["agency_kind"].to_numpy().astype(np.str_)

    kind_codes = _kind_codes(agency_kind)

    def chance(field: str) -> npt.NDArray[np.bool_]:
        return rng.random(n) < _rates(settings, kind_codes, field)

    unborn = frame["kind"].to_numpy() == "unborn"
    given = frame["given_name"].to_numpy().astype(object)
    middle = frame["middle_name"].to_numpy().astype(object)
    family_name = frame["family_name"].to_numpy().astype(object)
    previous = frame["previous_family_name"].to_numpy().astype(object)
    other_names = np.full(n, "", dtype=object)
    noise_log: dict[str, npt.NDArray[np.bool_]] = {}

    variants = name_lists().variants
    for variant_kind, field in (
        ("short_form", "given_name_short_form"),
        ("spelling", "given_name_spelling"),
        ("short_form", "known_as_in_other_names"),
    ):
        table = variants.filter(pl.col("kind") == variant_kind)
        lookup = table.group_by("name", maintain_order=True).agg(pl.col("variant"))
        options = dict(zip(lookup["name"].to_list(), lookup["variant"].to_list(), strict=True))
        has = np.isin(given.astype(np.str_), np.array(list(options), dtype=np.str_))
        take = np.flatnonzero(chance(field) & has & ~unborn)
        picked = np.array(
            [options[given[i]][int(rng.integers(0, len(options[given[i]])))] for i in take],
            dtype=object,
        )
        if field == "known_as_in_other_names":
            other_names[take] = picked
        else:
            given[take] = picked
        noise_log[field] = np.isin(np.arange(n), take)
    with_middle = chance("middle_name_in_given_name") & (middle != None) & ~unborn  # noqa: E711
    given[with_middle] = given[with_middle] + " " + middle[with_middle]
    noise_log["middle_name_in_given_name"] = with_middle
    for field, column in (("given_name_typo", given), ("family_name_typo", family_name)):
        take = np.flatnonzero(chance(field) & ~unborn)
        for i in take:
            column[i] = _typo(str(column[i]), rng)
        noise_log[field] = np.isin(np.arange(n), take)
    # Surnames: an old surname not yet updated, one half of a double-barrelled name.
    changed = frame["family_name_changed_on"].to_numpy() != NO_DATE
    stale = changed & chance("stale_family_name")
    family_name[stale] = previous[stale]
    noise_log["stale_family_name"] = stale
    hyphen = np.char.find(family_name.astype(np.str_), "-") > 0
    part = hyphen & chance("hyphenated_part_only")
    if part.any():
        split = np.char.partition(family_name[part].astype(np.str_), "-")
        family_name[part] = np.where(rng.random(int(part.sum())) < 0.5, split[:, 0], split[:, 2])
    noise_log["hyphenated_part_only"] = part
    previous_names = np.where(
        (previous != None) & ~stale & chance("previous_names_recorded"),  # noqa: E711
        previous,
        "",
    )
    # The unborn are recorded as "Baby" of the mother's surname until they are named.
    given[unborn] = None
    middle[:] = None

    # Dates of birth.
    dob_days = frame["dob_days"].to_numpy().copy()
    as_dates = frame["date_of_birth"]
    day = as_dates.dt.day().fill_null(0).to_numpy()
    month = as_dates.dt.month().fill_null(0).to_numpy()
    year = as_dates.dt.year().fill_null(0).to_numpy()
    transposable = ~unborn & (day <= 12) & (day != month)
    transposed = transposable & chance("dob_transposed")
    swapped = (
        pl.DataFrame({"y": year[transposed], "m": day[transposed], "d": month[transposed]})
        .select(pl.date("y", "m", "d"))
        .to_series()
        .cast(pl.Int32)
        .to_numpy()
        .astype(np.int64)
    )
    dob_days[transposed] = swapped
    day_wrong = ~unborn & ~transposed & chance("dob_day_wrong")
    dob_days[day_wrong] += rng.choice(np.array([-2, -1, 1, 2]), size=int(day_wrong.sum()))
    future = dob_days > population.as_of
    dob_days[future] = frame["dob_days"].to_numpy()[future]
    transposed &= ~future
    day_wrong &= ~future
    dob_missing = ~unborn & chance("dob_missing")
    dob_days[dob_missing | unborn] = NO_DATE
    # A missing date hides any slip made in it, so the slip is not counted.
    transposed &= ~dob_missing
    day_wrong &= ~dob_missing
    noise_log |= {
        "dob_transposed": transposed,
        "dob_day_wrong": day_wrong,
        "dob_missing": dob_missing,
    }

    # Identifiers.
    nhs = frame["nhs_number"].to_numpy().astype(object)
    nhs_held = chance("nhs_number_held") & (nhs != None)  # noqa: E711
    wrong = nhs_held & chance("nhs_number_wrong")
    if wrong.any():
        nhs[wrong] = new_nhs_numbers(rng, int(wrong.sum())).astype(object)
    spaced = nhs_held & chance("nhs_number_spaced")
    nhs_text = nhs.copy()
    for i in np.flatnonzero(spaced):
        value = str(nhs[i])
        nhs_text[i] = f"{value[:3]} {value[3:6]} {value[6:]}"
    nhs_text[~nhs_held] = None
    noise_log |= {"nhs_number_wrong": wrong}
    upn = frame["upn"].to_numpy().astype(object)
    upn_held = chance("upn_held") & (upn != None)  # noqa: E711
    upn[~upn_held] = None

    sex = frame["sex"].to_numpy().astype(object)
    sex_missing = chance("sex_missing")
    sex[sex_missing] = None
    sex[unborn] = "U"  # not known, or not recorded, before birth
    ethnicity = frame["ethnicity"].to_numpy().astype(object)
    ethnicity[chance("ethnicity_missing")] = None
    language = frame["first_language"].to_numpy().astype(object)
    language[chance("first_language_missing")] = None

    # Addresses: the agency's view may be out of date, abbreviated, or missing.
    old = chance("old_address")
    missing_address = chance("address_missing")
    depth = _rates(settings, kind_codes, "address_history_depth").astype(np.int64)
    no_space = chance("postcode_without_space")
    abbreviate = chance("street_type_abbreviated")
    held_until = frame["held_until"].to_numpy()
    former = held_until != NO_DATE
    old &= ~former
    noise_log |= {"address_missing": missing_address, "former_registration": former}
    record_view = pl.DataFrame(
        {
            "row": np.arange(n),
            "person_idx": frame["person_idx"].to_numpy(),
            "held_until": held_until,
            "skip": old.astype(np.int64),
            "depth": depth,
            "missing": missing_address,
            "no_space": no_space,
            "abbreviate": abbreviate,
        }
    )
    addresses = (
        record_view.join(population.person_addresses, on="person_idx", how="inner")
        .filter(~pl.col("missing"))
        # A record kept after the person left knows only the addresses from before.
        .filter((pl.col("held_until") == NO_DATE) | (pl.col("from_days") <= pl.col("held_until")))
        .sort("row", "recency")
        .with_columns(pl.int_range(pl.len()).over("row").alias("recency"))
        .with_columns(pl.col("recency").max().over("row").alias("oldest"))
        # Dropping the newest address only makes sense when the person has an older one.
        .with_columns(
            pl.when(pl.col("oldest") == 0).then(0).otherwise(pl.col("skip")).alias("skip")
        )
        .filter(
            (pl.col("recency") >= pl.col("skip"))
            & (pl.col("recency") < pl.col("skip") + pl.col("depth"))
        )
        .with_columns(
            pl.when(pl.col("recency") == pl.col("skip"))
            .then(None)
            .otherwise(pl.col("to_days"))
            .alias("to_days"),
        )
    )
    line = pl.col("line")
    for full, short in _STREET_ABBREVIATIONS.items():
        line = (
            pl.when(pl.col("abbreviate")).then(line.str.replace(full + "$", short)).otherwise(line)
        )
    addresses = addresses.with_columns(
        line.alias("line"),
        pl.when(pl.col("no_space"))
        .then(pl.col("postcode").str.replace(" ", "", literal=True))
        .otherwise(pl.col("postcode"))
        .alias("postcode"),
        day_column_as_date("from_days", "date_from"),
        day_column_as_date("to_days", "date_to"),
    ).sort("row", "recency")
    address_lists = addresses.group_by("row", maintain_order=True).agg(
        pl.struct("line", "postcode", "date_from", "date_to").alias("addresses"),
        (pl.col("skip").max() > 0).alias("old_address"),
    )

    # Record ids: the agency's own numbering, in an order unrelated to the true person.
    shuffle = rng.permutation(n)
    rank = np.empty(n, dtype=np.int64)
    order = np.lexsort((shuffle, frame["agency_idx"].to_numpy()))
    rank[order] = np.arange(n)
    first_of_agency = pl.Series(frame["agency_idx"].to_numpy()[order]).arg_unique().to_numpy()
    agency_start = np.zeros(roster.agencies.height, dtype=np.int64)
    agency_start[frame["agency_idx"].to_numpy()[order][first_of_agency]] = first_of_agency
    number = 100_000 + rank - agency_start[frame["agency_idx"].to_numpy()] + 1
    record_id = np.char.add(
        frame["record_prefix"].to_numpy().astype(np.str_), number.astype(np.str_)
    )

    records = pl.DataFrame(
        {
            "row": np.arange(n),
            "agency_idx": frame["agency_idx"].to_numpy(),
            "person_idx": frame["person_idx"].to_numpy(),
            "record_id": record_id,
            "given_name": pl.Series(given.tolist(), dtype=pl.String),
            "family_name": pl.Series(family_name.tolist(), dtype=pl.String),
            "other_names": pl.Series(other_names.tolist(), dtype=pl.String),
            "previous_family_names": pl.Series(previous_names.tolist(), dtype=pl.String),
            "dob_days": dob_days,
            "edd_days": np.where(unborn, frame["dob_days"].to_numpy(), NO_DATE),
            "sex": pl.Series(sex.tolist(), dtype=pl.String),
            "nhs_number": pl.Series(nhs_text.tolist(), dtype=pl.String),
            "upn": pl.Series(upn.tolist(), dtype=pl.String),
            "ethnicity": pl.Series(ethnicity.tolist(), dtype=pl.String),
            "first_language": pl.Series(language.tolist(), dtype=pl.String),
            "interpreter_needed": frame["interpreter_needed"],
            "held_until": held_until,
        }
    ).join(address_lists, on="row", how="left")
    noise = pl.DataFrame({"row": np.arange(n), **{k: v for k, v in noise_log.items()}})
    return (
        records.join(noise, on="row", how="left")
        .with_columns(pl.col("old_address").fill_null(False))
        .drop("row")
    )


def feed_relationships(
    *,
    settings: SynthesisSettings,
    rng: np.random.Generator,
    population: Population,
    roster: Roster,
    records: pl.DataFrame,
) -> pl.DataFrame:
    """Each agency's copy of the true relationships between two people it holds."""
    ids = records.select("agency_idx", "person_idx", "record_id")
    joined = (
        population.relationships.join(ids, on="person_idx", how="inner")
        .join(
            ids.rename({"person_idx": "related_idx", "record_id": "related_record_id"}),
            on=["agency_idx", "related_idx"],
            how="inner",
        )
        .sort("agency_idx", "record_id", "related_record_id", "relationship")
        .join(roster.agencies.select("agency_idx", "kind"), on="agency_idx", how="left")
    )
    missing = _rates(
        settings, _kind_codes(joined["kind"].to_numpy().astype(np.str_)), "relationship_missing"
    )
    return joined.filter(pl.Series(rng.random(joined.height) >= missing)).drop("kind")
