"""A small, seeded population of people as several agencies would record them, with the truth.

Used by the linkage tests until the synthetic population generator is in place; its noise is
written here independently of the model's own variant list, so tests do not grade the model on
its own answers.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

import polars as pl

from fullpicture.linkage.preparation import RECORD_SCHEMA

GIVEN = {
    "F": [
        "olivia",
        "amelia",
        "isla",
        "ava",
        "mia",
        "ivy",
        "lily",
        "isabella",
        "rosie",
        "sophia",
        "grace",
        "freya",
        "willow",
        "florence",
        "emily",
        "ella",
        "poppy",
        "evie",
        "elsie",
        "charlotte",
        "aisha",
        "zara",
        "maryam",
        "fatima",
        "chloe",
        "jessica",
        "hannah",
        "ruby",
        "sophie",
        "katherine",
        "elizabeth",
        "margaret",
        "rebecca",
        "victoria",
        "abigail",
    ],
    "M": [
        "oliver",
        "george",
        "noah",
        "arthur",
        "muhammad",
        "leo",
        "harry",
        "oscar",
        "archie",
        "henry",
        "theodore",
        "freddie",
        "jack",
        "charlie",
        "thomas",
        "william",
        "alfie",
        "joshua",
        "james",
        "ethan",
        "isaac",
        "jacob",
        "samuel",
        "daniel",
        "adam",
        "yusuf",
        "alexander",
        "benjamin",
        "christopher",
        "edward",
        "robert",
        "michael",
        "matthew",
    ],
}
SHORT = {
    "katherine": "kate",
    "elizabeth": "liz",
    "margaret": "maggie",
    "rebecca": "becky",
    "victoria": "vicky",
    "abigail": "abbie",
    "alexander": "alex",
    "benjamin": "ben",
    "christopher": "chris",
    "edward": "ed",
    "robert": "rob",
    "michael": "mike",
    "matthew": "matt",
    "samuel": "sam",
    "daniel": "dan",
    "thomas": "tom",
    "william": "will",
    "james": "jim",
    "joshua": "josh",
    "jacob": "jake",
    "theodore": "theo",
    "charlotte": "lottie",
}
FAMILY = [
    "smith",
    "jones",
    "taylor",
    "brown",
    "williams",
    "wilson",
    "johnson",
    "davies",
    "patel",
    "robinson",
    "wright",
    "thompson",
    "evans",
    "walker",
    "white",
    "roberts",
    "green",
    "hall",
    "wood",
    "jackson",
    "clarke",
    "khan",
    "ahmed",
    "ali",
    "begum",
    "okafor",
    "mensah",
    "nowak",
    "kowalski",
    "murphy",
    "kelly",
    "oconnor",
    "campbell",
    "stewart",
    "anderson",
    "scott",
    "morris",
    "cooper",
    "ward",
    "hughes",
    "edwards",
    "turner",
    "hill",
    "moore",
    "martin",
    "harris",
    "lewis",
    "young",
    "king",
    "baker",
    "adams",
    "mitchell",
    "phillips",
    "carter",
]
STREETS = [
    "oak road",
    "elm street",
    "park avenue",
    "church lane",
    "mill close",
    "station road",
    "high street",
    "victoria road",
    "green lane",
    "manor way",
    "the crescent",
    "kings road",
    "queens drive",
    "albert street",
    "york road",
    "south street",
    "north road",
    "west way",
]
DISTRICTS = ["CR0", "CR2", "CR7", "SE25", "SE19", "SW16", "CR4", "CR5", "CR8", "BR3"]
AGENCIES = ["school", "gp", "police", "housing", "csc", "hospital"]


@dataclass
class Population:
    records: pl.DataFrame  # RECORD_SCHEMA
    truth: dict[str, str]  # unique_id -> true person id


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    choice = rng.random()
    if choice < 0.4:
        return word[:i] + word[i + 1 :]
    if choice < 0.7:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + rng.choice("aeiourstln") + word[i + 1 :]


def _nhs_number(rng: random.Random) -> str:
    while True:
        digits = [rng.randrange(10) for _ in range(9)]
        check = 11 - sum(d * (10 - i) for i, d in enumerate(digits)) % 11
        if check == 11:
            check = 0
        if check != 10:
            return "".join(map(str, digits)) + str(check)


def _postcode(rng: random.Random) -> str:
    return f"{rng.choice(DISTRICTS)} {rng.randrange(1, 10)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"


def build_population(*, people: int, seed: int, noise: float = 1.0) -> Population:
    """``people`` distinct people (in households), each held by 1-4 agencies with slips."""
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    truth: dict[str, str] = {}
    record_counter = 0
    person_counter = 0
    while person_counter < people:
        family = rng.choice(FAMILY)
        if rng.random() < 0.1:
            family = f"{family}-{rng.choice(FAMILY)}"
        address = f"{rng.randrange(1, 200)} {rng.choice(STREETS)}"
        postcode = _postcode(rng)
        old_address = f"{rng.randrange(1, 200)} {rng.choice(STREETS)}"
        old_postcode = _postcode(rng)
        size = rng.randint(1, 4)
        for member in range(size):
            if person_counter >= people:
                break
            person_counter += 1
            person_id = f"P{person_counter:06d}"
            sex = rng.choice("FM")
            given = rng.choice(GIVEN[sex])
            adult = (member < 2 and size > 1) or member == 0
            year = rng.randint(1975, 2000) if adult else rng.randint(2008, 2024)
            dob = dt.date(year, rng.randint(1, 12), rng.randint(1, 28))
            nhs = _nhs_number(rng)
            previous_family = (
                rng.choice(FAMILY) if adult and sex == "F" and rng.random() < 0.3 else None
            )
            copies = rng.choice([1, 2, 2, 3, 3, 4])
            for agency in rng.sample(AGENCIES, copies):
                record_counter += 1
                record_id = f"R{record_counter:07d}"
                g, f, d = given, family, dob
                pc, addr = postcode, address
                prev_pcs, prev_addrs = [old_postcode], [old_address]
                r = rng.random
                if r() < 0.12 * noise and given in SHORT:
                    g = SHORT[given]
                if r() < 0.08 * noise:
                    g = _typo(rng, g)
                if r() < 0.08 * noise:
                    f = _typo(rng, f)
                if previous_family and r() < 0.5:
                    f = previous_family
                if r() < 0.04 * noise and d.day <= 12:
                    d = dt.date(d.year, d.day, d.month)
                elif r() < 0.04 * noise:
                    d = d + dt.timedelta(days=rng.choice([-1, 1, 10, -10]))
                if r() < 0.15 * noise:
                    pc, addr, prev_pcs, prev_addrs = old_postcode, old_address, [], []
                has_nhs = agency in {"gp", "hospital", "csc"} or r() < 0.3
                nhs_value: str | None = nhs if has_nhs else None
                if nhs_value and r() < 0.02 * noise:
                    nhs_value = nhs_value[:4] + str((int(nhs_value[4]) + 1) % 10) + nhs_value[5:]
                if r() < 0.05 * noise:
                    pc = None
                unique_id = f"{agency}:{record_id}"
                truth[unique_id] = person_id
                rows.append(
                    {
                        "unique_id": unique_id,
                        "source": agency,
                        "record_id": record_id,
                        "given_name": g.title(),
                        "family_name": f.title(),
                        "other_names": [],
                        "previous_family_names": [previous_family.title()]
                        if previous_family and f != previous_family and r() < 0.5
                        else [],
                        "date_of_birth": d if r() > 0.02 * noise else None,
                        "sex": sex if r() > 0.05 * noise else None,
                        "postcode": pc,
                        "address": addr,
                        "previous_postcodes": prev_pcs,
                        "previous_addresses": prev_addrs,
                        "nhs_number": nhs_value,
                        "upn": None,
                    }
                )
    return Population(pl.DataFrame(rows, schema=RECORD_SCHEMA), truth)


def pairwise_scores(truth: dict[str, str], predicted: dict[str, str]) -> tuple[float, float, float]:
    """Pairwise precision, recall and F1 of a clustering against the truth."""

    def pairs(assignment: dict[str, str]) -> set[tuple[str, str]]:
        groups: dict[str, list[str]] = {}
        for record, cluster in assignment.items():
            groups.setdefault(cluster, []).append(record)
        found: set[tuple[str, str]] = set()
        for members in groups.values():
            members.sort()
            for i, a in enumerate(members):
                for b in members[i + 1 :]:
                    found.add((a, b))
        return found

    true_pairs, predicted_pairs = pairs(truth), pairs(predicted)
    hits = len(true_pairs & predicted_pairs)
    precision = hits / len(predicted_pairs) if predicted_pairs else 1.0
    recall = hits / len(true_pairs) if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def store_population(
    db_session: Any,
    records: pl.DataFrame,
    *,
    recorded_by: str = "test",
    agencies: dict[str, int] | None = None,
) -> dict[str, int]:
    """Register the population's agencies (unless given) and store its records as source
    records. Returns agency code -> id; database record keys are ``<agency_id>:<record_id>``."""
    from fullpicture.agencies.models import Agency, AgencyKind
    from fullpicture.people.models import Sex, SourceRecord

    agencies = dict(agencies or {})
    for code in sorted(set(records["source"].unique().to_list()) - set(agencies)):
        agency = Agency(code=code, name=code.title(), kind=AgencyKind.VOLUNTARY_SECTOR)
        db_session.add(agency)
        db_session.flush()
        agencies[code] = agency.id
    for row in records.iter_rows(named=True):
        addresses = []
        if row["address"] or row["postcode"]:
            addresses.append(
                {
                    "line": row["address"],
                    "postcode": row["postcode"],
                    "date_from": None,
                    "date_to": None,
                }
            )
        for line, postcode in zip(
            row["previous_addresses"], row["previous_postcodes"], strict=False
        ):
            addresses.append(
                {
                    "line": line,
                    "postcode": postcode,
                    "date_from": "2015-01-01",
                    "date_to": "2020-01-01",
                }
            )
        db_session.add(
            SourceRecord(
                agency_id=agencies[row["source"]],
                record_ref=row["record_id"],
                version=1,
                content_hash=row["unique_id"],
                given_name=row["given_name"],
                family_name=row["family_name"],
                other_names=row["other_names"],
                previous_family_names=row["previous_family_names"],
                date_of_birth=row["date_of_birth"],
                sex=Sex(row["sex"]) if row["sex"] else None,
                nhs_number=row["nhs_number"],
                upn=row["upn"],
                addresses=addresses,
                recorded_by=recorded_by,
            )
        )
    db_session.flush()
    return agencies


def db_truth(truth: dict[str, str], agencies: dict[str, int]) -> dict[str, str]:
    """The population's truth keyed by database record key."""
    keyed = {}
    for unique_id, person in truth.items():
        source, record_id = unique_id.split(":", 1)
        keyed[f"{agencies[source]}:{record_id}"] = person
    return keyed
