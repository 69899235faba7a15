"""Two ways to compute, one answer: the batch SQL and the per-child engine agree."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fullpicture.harm.batch import epoch_day, score_population_duckdb
from fullpicture.harm.engine import ScoringEvent
from fullpicture.harm.harm_model import HarmModel, SameIncident, default_harm_model
from fullpicture.harm.incremental import ChildHarmState

# Codes chosen so that every modifier and alert rule can fire on short random streams.
CODES = [
    "PHY-INJ",
    "PHY-NMB",
    "WNB",
    "EDU-ATT",
    "DOM-ABU",
    "PAR-MH",
    "PAR-SUB",
    "ADT-UNK",
    "CHD-VOI",
    "MIS-EPI",
    "EXP-CSE",
    "NEG-BAS",
    "ENG-DIS",
    "SEX-ABU",
    "STR-ENG",
    "STR-ATT",
    "PLN-CP",
    "PLN-END",
    "PRC-NFA",
    "PRC-REF",
]
AGENCIES = ["school", "gp", "police", "hospital"]
START = dt.date(2020, 1, 1)
AS_OF = dt.date(2023, 6, 30)

EVENTS_SCHEMA = pa.schema(
    [
        ("child_id", pa.int64()),
        ("ref", pa.int64()),
        ("agency", pa.string()),
        ("day", pa.int32()),
        ("code", pa.string()),
        ("severity", pa.int32()),
    ]
)
CHILDREN_SCHEMA = pa.schema([("child_id", pa.int64()), ("birth_day", pa.int32())])

event_strategy = st.tuples(
    st.integers(min_value=0, max_value=1400),  # day offset: some after AS_OF
    st.sampled_from(AGENCIES),
    st.sampled_from(CODES),
    st.one_of(st.none(), st.integers(min_value=1, max_value=5)),
)
child_strategy = st.tuples(
    st.one_of(st.none(), st.integers(min_value=-2000, max_value=400)),  # birth offset
    st.lists(event_strategy, min_size=1, max_size=25),
)


ChildStreams = list[tuple[int | None, list[tuple[int, str, str, int | None]]]]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(child_strategy, min_size=1, max_size=4))
def test_batch_and_incremental_give_the_same_scores_and_alerts(children: ChildStreams) -> None:
    _check_one_answer(children, default_harm_model())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(child_strategy, min_size=1, max_size=3))
def test_one_answer_when_incidents_span_several_days(children: ChildStreams) -> None:
    """Entries a day or two apart chained into one incident: the batch job's other path."""
    model = default_harm_model()
    _check_one_answer(
        children, model.model_copy(update={"same_incident": SameIncident(within_days=2)})
    )


def _check_one_answer(children: ChildStreams, model: HarmModel) -> None:
    event_rows = []
    child_rows = []
    expected_scores: dict[int, float] = {}
    expected_alerts = []
    ref = 0
    for child_id, (birth_offset, stream) in enumerate(children):
        birth = START + dt.timedelta(days=birth_offset) if birth_offset is not None else None
        child_rows.append({"child_id": child_id, "birth_day": epoch_day(birth) if birth else None})
        state = ChildHarmState(date_of_birth=birth, model=model)
        for offset, agency, code, severity in stream:
            ref += 1
            event = ScoringEvent(
                ref=ref,
                agency=agency,
                day=START + dt.timedelta(days=offset),
                code=code,
                severity=severity,
            )
            event_rows.append(
                {
                    "child_id": child_id,
                    "ref": ref,
                    "agency": agency,
                    "day": epoch_day(event.day),
                    "code": code,
                    "severity": severity,
                }
            )
            state.add(event, as_of=AS_OF)
        assert state.latest is not None
        if any(e.day <= AS_OF for e in state.events.values()):
            expected_scores[child_id] = state.score
        expected_alerts.extend(
            (child_id, a.kind, a.day, a.score, a.evidence, a.reason) for a in state.latest.alerts
        )

    result = score_population_duckdb(
        pa.Table.from_pylist(event_rows, schema=EVENTS_SCHEMA),
        pa.Table.from_pylist(child_rows, schema=CHILDREN_SCHEMA),
        as_of=AS_OF,
        model=model,
    )
    batch_scores = result.score_of()
    assert set(batch_scores) == set(expected_scores)
    for child_id, score in expected_scores.items():
        assert abs(batch_scores[child_id] - score) <= 1e-6 * max(1.0, score)
    batch_alerts = [
        (a.child_id, a.kind, a.day, a.score, a.evidence, a.reason) for a in result.alerts
    ]
    assert sorted(batch_alerts, key=repr) == sorted(expected_alerts, key=repr)
