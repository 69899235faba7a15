"""The true population: households that change over time, the people in them, their addresses.

Everything is drawn household by household as numpy arrays (no per-person Python loop), so a
few hundred thousand households take seconds. Dates are whole days since 1970-01-01 until they
are written out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt
import polars as pl

from fullpicture.synth.addresses import household_addresses, person_addresses
from fullpicture.synth.draws import (
    NO_DATE,
    NONE,
    YEAR,
    BoolArray,
    IntArray,
    choose_int,
    days_to_date,
    from_distribution,
    to_days,
    uniform_days,
)
from fullpicture.synth.identifiers import new_nhs_numbers
from fullpicture.synth.names import name_lists, pick_family, pick_given
from fullpicture.synth.schemas import SynthesisSettings

_ArrayT = TypeVar("_ArrayT", bound="np.ndarray[Any, Any]")


@dataclass(frozen=True)
class Family:
    """Per family household (index = household_idx): who is in it, and when things changed."""

    mother: IntArray
    father: IntArray
    father_separated_on: IntArray
    partner: IntArray
    partner_joined_on: IntArray
    grandparent: IntArray
    started_on: IntArray
    child_offsets: IntArray  # children of household h: child_persons[offsets[h]:offsets[h+1]]
    child_persons: IntArray  # born and unborn, oldest first


@dataclass(frozen=True)
class Population:
    persons: pl.DataFrame
    memberships: pl.DataFrame  # household_idx, person_idx, role, date_from, date_to
    household_addresses: pl.DataFrame  # household_idx, line, postcode, date_from, date_to
    person_addresses: pl.DataFrame  # person_idx, recency (0 = current), line, postcode, dates
    relationships: pl.DataFrame  # person_idx, related_idx, relationship, lives_with, dates
    family: Family
    family_households: int
    window_start: int
    as_of: int

    def lookups(self) -> tuple[IntArray, IntArray]:
        """Date of birth (or expected delivery) and family household per person."""
        return (
            cast(IntArray, self.persons["dob_days"].to_numpy()),
            cast(IntArray, self.persons["household_idx"].to_numpy()),
        )


def generate_population(
    *, settings: SynthesisSettings, rng: np.random.Generator, children: int, as_of: dt.date
) -> Population:
    """Households with exactly ``children`` children aged 0-17 (plus the unborn)."""
    hs = settings.households
    names = name_lists()
    today = to_days(as_of)
    window_start = today - int(settings.history_years * YEAR)
    adult_age = int(18 * YEAR)

    # 1. Draw surplus households, then keep just enough to hold exactly `children` children.
    surplus = int(children / 1.6 * 1.3) + 60
    slots = choose_int(rng, hs.children_per_household, surplus)
    lone = rng.random(surplus) < hs.lone_parent_share
    lone_father = lone & (rng.random(surplus) < hs.lone_father_share)
    youngest_age = rng.uniform(0, 18 * YEAR, surplus)
    slot_hh = np.repeat(np.arange(surplus), slots)
    first_slot = np.r_[0, np.cumsum(slots)[:-1]]
    order_in_hh = np.arange(slot_hh.size) - first_slot[slot_hh]
    spacing = rng.uniform(hs.birth_spacing_years.low, hs.birth_spacing_years.high, slot_hh.size)
    twin = (rng.random(slot_hh.size) < hs.twin_rate) & (order_in_hh > 0)
    spacing = np.where((order_in_hh == 0) | twin, 0.0, spacing * YEAR)
    cumulative = np.cumsum(spacing)
    age_days = youngest_age[slot_hh] + cumulative - cumulative[first_slot[slot_hh]]
    born_slot = age_days < adult_age
    slot_dob = today - np.floor(age_days).astype(np.int64)

    has_mother = ~lone_father
    has_father = ~lone | lone_father
    eldest_dob = np.full(surplus, today, dtype=np.int64)
    np.minimum.at(eldest_dob, slot_hh, slot_dob)
    youngest_dob = today - np.floor(youngest_age).astype(np.int64)
    started_on = eldest_dob - rng.integers(0, int(2 * YEAR), surplus)

    separated = has_mother & has_father & ~lone & (rng.random(surplus) < hs.separation_rate)
    separation_on = np.where(
        separated,
        uniform_days(
            rng, np.maximum(window_start, youngest_dob + 60), np.full(surplus, today - 30)
        ),
        NO_DATE,
    )
    separated &= separation_on <= today - 30
    separation_on = np.where(separated, separation_on, NO_DATE)
    mother_alone = has_mother & (lone & ~lone_father | separated)
    gets_partner = mother_alone & (rng.random(surplus) < hs.new_partner_rate)
    partner_from = np.maximum(window_start, np.where(separated, separation_on + 60, youngest_dob))
    partner_joined = np.where(
        gets_partner, uniform_days(rng, partner_from, np.full(surplus, today - 60)), NO_DATE
    )
    gets_partner &= (partner_joined <= today - 60) & (partner_joined >= partner_from)
    partner_joined = np.where(gets_partner, partner_joined, NO_DATE)
    partner_baby = gets_partner & (rng.random(surplus) < hs.new_partner_child_rate)
    partner_baby_dob = np.where(
        partner_baby, partner_joined + rng.integers(300, 900, surplus), NO_DATE
    )
    partner_baby_born = partner_baby & (partner_baby_dob <= today)
    partner_baby_unborn = (
        partner_baby & (partner_baby_dob > today) & (partner_baby_dob <= today + 270)
    )
    partner_baby = partner_baby_born | partner_baby_unborn

    born_count = np.bincount(slot_hh[born_slot], minlength=surplus) + partner_baby_born
    keep = _select_households(born_count, children)
    if keep is None:  # pragma: no cover - the surplus makes this vanishingly rare
        raise RuntimeError("not enough households drawn; raise the surplus")

    # 2. Re-index everything to the kept households.
    hh_ids = np.flatnonzero(keep)
    n_hh = hh_ids.size
    remap = np.full(surplus, NONE, dtype=np.int64)
    remap[hh_ids] = np.arange(n_hh)
    keep_slot = keep[slot_hh] & born_slot
    child_hh = remap[slot_hh[keep_slot]]
    child_dob = slot_dob[keep_slot]
    child_twin = twin[keep_slot]

    def sub(values: _ArrayT) -> _ArrayT:
        return cast(_ArrayT, values[hh_ids])

    has_mother, has_father, separated = sub(has_mother), sub(has_father), sub(separated)
    lone, lone_father = sub(lone), sub(lone_father)
    separation_on, started_on, eldest_dob = sub(separation_on), sub(started_on), sub(eldest_dob)
    youngest_dob = sub(youngest_dob)
    gets_partner, partner_joined = sub(gets_partner), sub(partner_joined)
    partner_baby, partner_baby_dob = sub(partner_baby), sub(partner_baby_dob)
    partner_baby_born = sub(partner_baby_born)

    # Unborn babies of the household's mother (not already expecting the new partner's baby).
    mother_first_birth_age = rng.uniform(
        hs.mother_age_at_first_birth.low, hs.mother_age_at_first_birth.high, n_hh
    )
    mother_dob = eldest_dob - np.floor(mother_first_birth_age * YEAR).astype(np.int64)
    expecting = (
        has_mother
        & ~partner_baby
        & (today - mother_dob < int(43 * YEAR))
        & (today - youngest_dob > int(YEAR))
        & (rng.random(n_hh) < hs.unborn_rate)
    )
    expected_on = np.where(expecting, today + rng.integers(7, 270, n_hh), NO_DATE)

    # 3. People, block by block. Index order: mothers, fathers, partners, grandparents,
    # non-resident fathers, then children (born, partner's babies, unborn).
    gap = rng.uniform(hs.partner_age_gap.low, hs.partner_age_gap.high, n_hh) * YEAR
    father_dob = mother_dob - np.floor(gap).astype(np.int64)
    father_dob = np.minimum(father_dob, eldest_dob - int(17 * YEAR))
    nonresident_father = (
        has_mother & lone & ~lone_father & (rng.random(n_hh) < hs.absent_father_known)
    )
    grandparent = has_mother & (rng.random(n_hh) < hs.grandparent_rate)
    partner_dob = mother_dob - np.floor(
        rng.uniform(hs.partner_age_gap.low, hs.partner_age_gap.high, n_hh) * YEAR
    ).astype(np.int64)

    blocks: list[dict[str, npt.NDArray[np.generic]]] = []

    def block(
        mask: BoolArray, role: str, kind: str, sex: npt.NDArray[np.str_], dob: IntArray
    ) -> IntArray:
        start = sum(b["hh"].size for b in blocks)
        hh = np.flatnonzero(mask)
        blocks.append(
            {
                "hh": hh,
                "role": np.full(hh.size, role),
                "kind": np.full(hh.size, kind),
                "sex": sex[mask],
                "dob": dob[mask],
            }
        )
        index = np.full(n_hh, NONE, dtype=np.int64)
        index[hh] = start + np.arange(hh.size)
        return index

    all_f = np.full(n_hh, "F")
    all_m = np.full(n_hh, "M")
    mother = block(has_mother, "mother", "adult", all_f, mother_dob)
    father = block(has_father, "father", "adult", all_m, father_dob)
    partner = block(gets_partner, "partner", "adult", all_m, partner_dob)
    grand = block(
        grandparent,
        "grandparent",
        "adult",
        all_f,
        mother_dob - np.floor(rng.uniform(19, 38, n_hh) * YEAR).astype(np.int64),
    )
    away_father = block(nonresident_father, "father", "adult", all_m, father_dob)

    start = sum(b["hh"].size for b in blocks)
    child_sex = np.where(rng.random(child_hh.size) < hs.boys_share_at_birth, "M", "F")
    blocks.append(
        {
            "hh": child_hh,
            "role": np.full(child_hh.size, "child"),
            "kind": np.full(child_hh.size, "child"),
            "sex": child_sex,
            "dob": child_dob,
        }
    )
    first_child = start
    pb = np.flatnonzero(partner_baby)
    pb_sex = np.where(rng.random(pb.size) < hs.boys_share_at_birth, "M", "F")
    blocks.append(
        {
            "hh": pb,
            "role": np.full(pb.size, "partner_child"),
            "kind": np.where(partner_baby_born[pb], "child", "unborn"),
            "sex": pb_sex,
            "dob": partner_baby_dob[pb],
        }
    )
    ub = np.flatnonzero(expecting)
    blocks.append(
        {
            "hh": ub,
            "role": np.full(ub.size, "mother_child"),
            "kind": np.full(ub.size, "unborn"),
            "sex": np.where(rng.random(ub.size) < hs.boys_share_at_birth, "M", "F"),
            "dob": expected_on[ub],
        }
    )
    person_hh = np.concatenate([b["hh"] for b in blocks]).astype(np.int64)
    role = np.concatenate([b["role"] for b in blocks]).astype(np.str_)
    kind = np.concatenate([b["kind"] for b in blocks]).astype(np.str_)
    sex = np.concatenate([b["sex"] for b in blocks]).astype(np.str_)
    dob = np.concatenate([b["dob"] for b in blocks]).astype(np.int64)
    n_people = person_hh.size
    is_child = np.isin(role, ["child", "partner_child", "mother_child"])
    twin_of_previous = np.zeros(n_people, dtype=bool)
    twin_of_previous[first_child : first_child + child_hh.size] = child_twin

    # 4. Names. The household's name group comes from its main surname and steers ethnicity.
    main_surname, group = pick_family(
        rng, names, None, n_hh, group_weights=hs.family_name_group_weights
    )
    maiden, _ = pick_family(rng, names, group, n_hh)
    took_name = has_father & ~lone & (rng.random(n_hh) < hs.mother_took_partner_surname)
    mother_surname = np.where(took_name | lone_father, main_surname, maiden)
    mother_surname = np.where(lone & ~lone_father & ~nonresident_father, maiden, mother_surname)
    father_surname = main_surname
    partner_surname, partner_group = pick_family(
        rng,
        names,
        np.where(rng.random(n_hh) < hs.new_partner_same_name_group, group, "british_irish"),
        n_hh,
    )
    children_surname = np.where(
        has_father & ~lone
        | lone_father
        | (nonresident_father & (rng.random(n_hh) < hs.child_has_absent_fathers_surname)),
        main_surname,
        mother_surname,
    )

    family_name = np.empty(n_people, dtype=object)
    previous_name = np.full(n_people, None, dtype=object)
    changed_on = np.full(n_people, NO_DATE, dtype=np.int64)
    hh_of = person_hh
    family_name[role == "mother"] = mother_surname[hh_of[role == "mother"]]
    m_idx = np.flatnonzero(role == "mother")
    took = took_name[hh_of[m_idx]]
    previous_name[m_idx[took]] = maiden[hh_of[m_idx[took]]]
    is_father = role == "father"
    family_name[is_father] = father_surname[hh_of[is_father]]
    family_name[role == "partner"] = partner_surname[hh_of[role == "partner"]]
    family_name[role == "grandparent"] = maiden[hh_of[role == "grandparent"]]
    kids = np.flatnonzero(role == "child")
    family_name[kids] = children_surname[hh_of[kids]]
    double = rng.random(kids.size) < hs.child_double_barrelled
    dbl = kids[double & (children_surname[hh_of[kids]] != maiden[hh_of[kids]])]
    family_name[dbl] = np.char.add(
        np.char.add(maiden[hh_of[dbl]].astype(np.str_), "-"),
        main_surname[hh_of[dbl]].astype(np.str_),
    )
    pkids = np.flatnonzero(role == "partner_child")
    family_name[pkids] = partner_surname[hh_of[pkids]]
    ukids = np.flatnonzero(role == "mother_child")
    family_name[ukids] = mother_surname[hh_of[ukids]]

    # A mother may take her new partner's surname some time after he moves in; some of her
    # children's names change with hers.
    renamed = gets_partner & (rng.random(n_hh) < hs.mother_takes_new_partner_surname)
    renamed_on = np.where(renamed, partner_joined + rng.integers(60, 700, n_hh), NO_DATE)
    renamed &= renamed_on <= today
    for person_role, share in (
        ("mother", 1.0),
        ("child", hs.children_renamed_with_mother),
        ("mother_child", 1.0),
    ):
        idx = np.flatnonzero(role == person_role)
        idx = idx[renamed[hh_of[idx]] & (rng.random(idx.size) < share)]
        if person_role == "child":
            idx = idx[dob[idx] < renamed_on[hh_of[idx]]]
        if person_role != "mother_child":
            previous_name[idx] = family_name[idx]
            changed_on[idx] = renamed_on[hh_of[idx]]
        family_name[idx] = partner_surname[hh_of[idx]]

    cohort_child = dob > to_days(dt.date(2005, 1, 1))
    given = np.empty(n_people, dtype=object)
    # Each person's name group: the household's, but a new partner (and his baby) keeps his own.
    person_group = group[person_hh].astype(np.str_)
    own_partner = np.isin(role, ["partner", "partner_child"])
    person_group[own_partner] = partner_group[person_hh[own_partner]]
    share = hs.given_name_own_group_share

    def pick(mask: BoolArray, cohort: str) -> npt.NDArray[np.str_]:
        return pick_given(rng, names, sex[mask], cohort, person_group[mask], share)

    given[cohort_child] = pick(cohort_child, "child")
    given[~cohort_child] = pick(~cohort_child, "adult")
    # Twins never share a given name.
    tw = np.flatnonzero(twin_of_previous)
    same = tw[given[tw] == given[tw - 1]]
    if same.size:
        twin_mask = np.zeros(n_people, dtype=bool)
        twin_mask[same] = True
        given[same] = pick(twin_mask, "child")
        still = same[given[same] == given[same - 1]]
        given[still] = np.where(sex[still] == "F", "Ruby", "Max")
        dob[tw] = dob[tw - 1]
    dob[tw] = dob[tw - 1]
    middle = np.full(n_people, None, dtype=object)
    has_middle = rng.random(n_people) < hs.middle_name_rate
    middle_pick = np.empty(n_people, dtype=object)
    middle_pick[cohort_child] = pick(cohort_child, "child")
    middle_pick[~cohort_child] = pick(~cohort_child, "adult")
    has_middle &= middle_pick != given
    middle[has_middle] = middle_pick[has_middle]

    # 5. Ethnicity, language, identifiers.
    hh_ethnicity = np.empty(n_hh, dtype=object)
    hh_language = np.empty(n_hh, dtype=object)
    for name_group in np.unique(group):
        mask = group == name_group
        hh_ethnicity[mask] = from_distribution(
            rng, settings.ethnicity_by_name_group[name_group], int(mask.sum())
        )
        hh_language[mask] = from_distribution(
            rng, settings.first_language_by_name_group[name_group], int(mask.sum())
        )
    ethnicity = hh_ethnicity[person_hh]
    outsider = np.isin(role, ["partner"])
    ethnicity[outsider] = from_distribution(
        rng, settings.ethnicity_by_name_group["british_irish"], int(outsider.sum())
    )
    language = hh_language[person_hh].astype(np.str_)
    # Children born here mostly speak English as well; adults keep the household language.
    english_child = is_child & (rng.random(n_people) < hs.child_first_language_english)
    language = np.where(english_child, "English", language)
    interpreter = cast(
        "npt.NDArray[Any]",
        np.where(
            is_child,
            None,
            (language != "English")
            & (rng.random(n_people) < hs.interpreter_needed_if_other_language),
        ),
    )
    unborn = kind == "unborn"
    nhs = np.full(n_people, None, dtype=object)
    nhs[~unborn] = new_nhs_numbers(rng, int((~unborn).sum()))

    persons = pl.DataFrame(
        {
            "person_idx": np.arange(n_people),
            "person_id": np.char.add(
                "P", np.char.zfill(np.arange(1, n_people + 1).astype(np.str_), 7)
            ),
            "kind": kind,
            "family_role": role,
            "household_idx": person_hh,
            "sex": sex,
            "given_name": given.astype(np.str_),
            "middle_name": pl.Series(middle.tolist(), dtype=pl.String),
            "family_name": family_name.astype(np.str_),
            "previous_family_name": pl.Series(previous_name.tolist(), dtype=pl.String),
            "family_name_changed_on": changed_on,
            "dob_days": dob,
            "nhs_number": pl.Series(nhs.tolist(), dtype=pl.String),
            "ethnicity": ethnicity.astype(np.str_),
            "first_language": language,
            "interpreter_needed": pl.Series(interpreter.tolist(), dtype=pl.Boolean),
            "twin_of_previous": twin_of_previous,
        }
    ).with_columns(
        pl.when(pl.col("kind") != "unborn").then(days_to_date(dob, "d")).alias("date_of_birth"),
        pl.when(pl.col("kind") == "unborn")
        .then(days_to_date(dob, "d"))
        .alias("expected_date_of_delivery"),
    )

    # 6. Households over time: memberships and addresses.
    children_sorted = np.flatnonzero(is_child)
    children_sorted = children_sorted[
        np.lexsort((dob[children_sorted], person_hh[children_sorted]))
    ]
    child_offsets = np.r_[0, np.cumsum(np.bincount(person_hh[children_sorted], minlength=n_hh))]
    family = Family(
        mother=mother,
        father=father,
        father_separated_on=separation_on,
        partner=partner,
        partner_joined_on=partner_joined,
        grandparent=grand,
        started_on=started_on,
        child_offsets=child_offsets.astype(np.int64),
        child_persons=children_sorted.astype(np.int64),
    )
    memberships, solo_of_person = _memberships(
        person_hh=person_hh,
        role=role,
        kind=kind,
        dob=dob,
        family=family,
        away_father=away_father,
        n_hh=n_hh,
    )
    addresses = household_addresses(
        settings=settings,
        rng=rng,
        family=family,
        n_hh=n_hh,
        solo=solo_of_person,
        window_start=window_start,
        today=today,
    )
    addresses_by_person = person_addresses(memberships, addresses)
    relationships = _relationships(
        family=family,
        dob=dob,
        kind=kind,
        away_father=away_father,
        role=role,
        person_hh=person_hh,
    )
    return Population(
        persons=persons,
        memberships=memberships,
        household_addresses=addresses,
        person_addresses=addresses_by_person,
        relationships=relationships,
        family=family,
        family_households=n_hh,
        window_start=window_start,
        as_of=today,
    )


def _select_households(born_count: IntArray, children: int) -> BoolArray | None:
    """The first households that hold exactly ``children`` born children between them."""
    keep = np.zeros(born_count.size, dtype=bool)
    total = np.cumsum(born_count)
    upto = int(np.searchsorted(total, children, side="right"))
    keep[:upto] = True
    missing = children - (int(total[upto - 1]) if upto else 0)
    singles = np.flatnonzero((born_count == 1) & ~keep)
    if singles.size < missing:
        return None
    keep[singles[:missing]] = True
    return keep


def _memberships(
    *,
    person_hh: IntArray,
    role: npt.NDArray[np.str_],
    kind: npt.NDArray[np.str_],
    dob: IntArray,
    family: Family,
    away_father: IntArray,
    n_hh: int,
) -> tuple[pl.DataFrame, IntArray]:
    """Dated household memberships. A father who leaves, and a father who never lived with the
    children, each get a one-person household of their own (numbered after the families)."""
    n = person_hh.size
    start = family.started_on[person_hh]
    date_from = np.where(np.isin(role, ["child", "partner_child"]), dob, start)
    date_from = np.where(role == "partner", family.partner_joined_on[person_hh], date_from)
    date_to = np.full(n, NO_DATE, dtype=np.int64)
    in_family_father = family.father[person_hh] == np.arange(n)
    date_to = np.where(in_family_father, family.father_separated_on[person_hh], date_to)
    hh_role = np.select(
        [np.isin(role, ["child", "partner_child"]), role == "partner", role == "grandparent"],
        ["child", "partner", "grandparent"],
        "parent",
    )
    is_away = np.zeros(n, dtype=bool)
    is_away[away_father[away_father != NONE]] = True
    lives_in_family = (kind != "unborn") & ~is_away
    rows = pl.DataFrame(
        {
            "household_idx": person_hh[lives_in_family],
            "person_idx": np.arange(n)[lives_in_family],
            "role": hh_role[lives_in_family],
            "from_days": date_from[lives_in_family],
            "to_days": date_to[lives_in_family],
        }
    )
    # One-person households: fathers who left (from the day they left) and fathers who never
    # lived with the children.
    left = np.flatnonzero(in_family_father & (family.father_separated_on[person_hh] != NO_DATE))
    away = np.flatnonzero(is_away)
    solo_people = np.concatenate([left, away])
    solo_from = np.concatenate(
        [family.father_separated_on[person_hh[left]], family.started_on[person_hh[away]]]
    )
    solo_of_person = np.full(n, NONE, dtype=np.int64)
    solo_of_person[solo_people] = n_hh + np.arange(solo_people.size)
    solo = pl.DataFrame(
        {
            "household_idx": solo_of_person[solo_people],
            "person_idx": solo_people,
            "role": np.full(solo_people.size, "householder"),
            "from_days": solo_from,
            "to_days": np.full(solo_people.size, NO_DATE, dtype=np.int64),
        }
    )
    memberships = pl.concat([rows, solo]).with_columns(
        days_to_date(pl.concat([rows, solo])["from_days"].to_numpy(), "date_from"),
        days_to_date(pl.concat([rows, solo])["to_days"].to_numpy(), "date_to"),
    )
    return memberships.sort("household_idx", "person_idx"), solo_of_person


def _relationships(
    *,
    family: Family,
    dob: IntArray,
    kind: npt.NDArray[np.str_],
    away_father: IntArray,
    role: npt.NDArray[np.str_],
    person_hh: IntArray,
) -> pl.DataFrame:
    """True relationships: ``related`` is the RELATIONSHIP of ``person`` (people/models.py)."""
    frames: list[pl.DataFrame] = []

    def add(
        person: IntArray,
        related: IntArray,
        relationship: str,
        lives_with: BoolArray,
        date_from: IntArray,
        date_to: IntArray,
    ) -> None:
        ok = (person != NONE) & (related != NONE)
        frames.append(
            pl.DataFrame(
                {
                    "person_idx": person[ok],
                    "related_idx": related[ok],
                    "relationship": np.full(int(ok.sum()), relationship),
                    "lives_with": lives_with[ok],
                    "from_days": date_from[ok],
                    "to_days": date_to[ok],
                }
            )
        )

    child = family.child_persons
    hh = person_hh[child]
    birth = dob[child]
    nodate = np.full(child.size, NO_DATE, dtype=np.int64)
    born = kind[child] != "unborn"
    is_partner_child = role[child] == "partner_child"
    mother = family.mother[hh]
    father = np.where(is_partner_child, family.partner[hh], family.father[hh])
    father = np.where((father == NONE) & ~is_partner_child, away_father[hh], father)
    father_home = (father == family.father[hh]) & (
        family.father_separated_on[hh] == NO_DATE
    ) | is_partner_child
    # An unborn child's relationships start at birth, which has not happened yet.
    birth = np.where(born, birth, NO_DATE)
    add(child, mother, "parent", born, birth, nodate)
    add(mother, child, "child", born, birth, nodate)
    add(child, father, "parent", father_home & born, birth, nodate)
    add(father, child, "child", father_home & born, birth, nodate)
    step = np.where(is_partner_child, NONE, family.partner[hh])
    joined = family.partner_joined_on[hh]
    add(
        child, step, "step_parent", born, np.where(born, np.maximum(joined, birth), NO_DATE), nodate
    )
    add(child, family.grandparent[hh], "grandparent", born, birth, nodate)
    # Siblings: every ordered pair of children in one household.
    sizes = np.diff(family.child_offsets)
    pair_hh = np.repeat(np.arange(sizes.size), sizes * sizes)
    if pair_hh.size:
        base = family.child_offsets[pair_hh]
        within = np.arange(pair_hh.size) - np.repeat(
            np.r_[0, np.cumsum(sizes * sizes)[:-1]], sizes * sizes
        )
        a = family.child_persons[base + within // sizes[pair_hh]]
        b = family.child_persons[base + within % sizes[pair_hh]]
        distinct = a != b
        a, b = a[distinct], b[distinct]
        both_born = (kind[a] != "unborn") & (kind[b] != "unborn")
        add(
            a,
            b,
            "sibling",
            both_born,
            np.where(both_born, np.maximum(dob[a], dob[b]), NO_DATE),
            np.full(a.size, NO_DATE, dtype=np.int64),
        )
    households = np.arange(family.mother.size)
    sep = family.father_separated_on
    couple_from = family.started_on
    add(
        family.mother,
        np.where(sep == NO_DATE, family.father, NONE),
        "partner",
        np.ones(households.size, dtype=bool),
        couple_from,
        np.full(households.size, NO_DATE),
    )
    add(
        np.where(sep == NO_DATE, family.father, NONE),
        family.mother,
        "partner",
        np.ones(households.size, dtype=bool),
        couple_from,
        np.full(households.size, NO_DATE),
    )
    add(
        family.mother,
        np.where(sep != NO_DATE, family.father, NONE),
        "partner",
        np.zeros(households.size, dtype=bool),
        couple_from,
        sep,
    )
    add(
        np.where(sep != NO_DATE, family.father, NONE),
        family.mother,
        "partner",
        np.zeros(households.size, dtype=bool),
        couple_from,
        sep,
    )
    add(
        family.mother,
        family.partner,
        "partner",
        np.ones(households.size, dtype=bool),
        family.partner_joined_on,
        np.full(households.size, NO_DATE),
    )
    add(
        family.partner,
        family.mother,
        "partner",
        np.ones(households.size, dtype=bool),
        family.partner_joined_on,
        np.full(households.size, NO_DATE),
    )
    add(
        family.mother,
        family.grandparent,
        "parent",
        np.ones(households.size, dtype=bool),
        np.full(households.size, NO_DATE),
        np.full(households.size, NO_DATE),
    )
    return pl.concat(frames).sort("person_idx", "related_idx", "relationship")
