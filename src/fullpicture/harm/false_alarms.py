"""False alarms on ordinary childhoods: the benign library replayed through the engine.

The library (``tests/harm/benign/``) holds multi-agency histories of children with nothing
wrong, written independently of the model (its README says by whom and how). It is split once,
by a seeded hash of each file name, into a ``dev`` part that may be read while tuning and a
``test`` part that never is; every figure is reported per part (issue 18).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from fullpicture.harm.harm_model import HarmModel
from fullpicture.harm.replay import load_case, replay_case

BENIGN_LIBRARY = Path(__file__).resolve().parents[3] / "tests" / "harm" / "benign"
PARTS = ("dev", "test")
# The draw that split the library, made before any result was looked at: a file is in the test
# part when the first 32 bits of sha256(SPLIT_SEED + name) fall below TEST_SHARE.
SPLIT_SEED = "fullpicture-benign-split-2026-12-06:"
TEST_SHARE = 0.4


def part_for(name: str) -> str:
    """The part (``dev`` or ``test``) the seeded draw puts a library file in."""
    digest = hashlib.sha256(f"{SPLIT_SEED}{name}".encode()).hexdigest()[:8]
    return "test" if int(digest, 16) / 16**8 < TEST_SHARE else "dev"


def library_files(part: str, library: Path = BENIGN_LIBRARY) -> list[Path]:
    return sorted((library / part).glob("*.json"))


@dataclass(frozen=True)
class FalseAlarm:
    """An ordinary history that alerted: its first alert and the entries and words behind it."""

    case: str
    kind: str
    day: dt.date
    reason: str
    entries: tuple[str, ...]


@dataclass(frozen=True)
class FalseAlarmRate:
    part: str
    histories: int
    alarms: tuple[FalseAlarm, ...]

    @property
    def rate(self) -> float:
        return len(self.alarms) / self.histories if self.histories else 0.0


def replay_false_alarm(
    path: Path, *, today: dt.date | None = None, model: HarmModel | None = None
) -> FalseAlarm | None:
    """Replay one ordinary history; its first combined-view alert, or None when it is quiet."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    result = replay_case(load_case(raw), today=today, model=model)
    if not result.combined.alerts:
        return None
    alert = result.combined.alerts[0]
    read = {r.event: r for r in alert.evidence_read}
    entries = []
    for index in alert.evidence:
        event = raw["events"][index]
        reading = read.get(index)
        how = f" [{reading.rule}: {', '.join(reading.words)}]" if reading and reading.rule else ""
        entries.append(
            f"{event['date']} {event['agency']} {event['concern_code'] or '(uncoded)'}"
            f"{how}: {event['summary']}"
        )
    return FalseAlarm(path.stem, alert.kind, alert.date, alert.reason, tuple(entries))


def false_alarm_rate(
    part: str,
    paths: Iterable[Path],
    *,
    today: dt.date | None = None,
    model: HarmModel | None = None,
) -> FalseAlarmRate:
    files = list(paths)
    alarms = tuple(
        a for p in files if (a := replay_false_alarm(p, today=today, model=model)) is not None
    )
    return FalseAlarmRate(part=part, histories=len(files), alarms=alarms)
