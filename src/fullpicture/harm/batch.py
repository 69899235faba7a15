# ruff: noqa: S608
# The SQL is built only from the validated model file: codes match the taxonomy pattern
# [A-Z-], kinds [a-z0-9_], and every number is a typed int or float, so nothing from
# outside can reach the statements; the data itself is passed as registered tables.
"""Population scoring: the whole population scored as of one day, in SQL.

The SQL is generated from the model file and written in the dialect DuckDB and Spark SQL
share (window functions with integer RANGE frames, CASE, LEAST, POWER), so the same text
runs on one machine (DuckDB over Arrow) and on a cluster (Spark). It computes exactly what
``engine.py`` defines; a property test holds the two to one answer.

Inputs (Arrow tables or Spark views):
- ``events``: child_id BIGINT, ref BIGINT, agency VARCHAR, day INT (days since 1970-01-01),
  code VARCHAR, severity INT (NULL: the taxonomy default)
- ``children``: child_id BIGINT, birth_day INT (NULL when unknown)
- ``codes``: code VARCHAR, kind VARCHAR, default_severity INT (from the taxonomy)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, NamedTuple

import pyarrow as pa

from fullpicture.chronology.taxonomy import CodeKind, Taxonomy, default_taxonomy
from fullpicture.harm.engine import (
    SCORE_DECIMALS,
    THRESHOLD_KIND,
    TOLERANCE,
    pattern_reason,
    threshold_reason,
)
from fullpicture.harm.harm_model import (
    ALL_CONCERNS,
    AllCodesWithin,
    AnyCodeWithin,
    ChildAgeUnder,
    CodesTogether,
    CodeWithOtherConcern,
    CountWithin,
    HarmModel,
    OnPlan,
    OtherConcernWithin,
    PatternCondition,
    RelapseCycles,
    Repeated,
    SeriousAloneRule,
    default_harm_model,
)

EPOCH = dt.date(1970, 1, 1)


def epoch_day(day: dt.date) -> int:
    return (day - EPOCH).days


def from_epoch_day(day: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(day))


class BatchAlert(NamedTuple):
    """One alert a batch raised, with the entries behind it.

    A named tuple, not a dataclass: a dense population raises close to a million of them,
    and a frozen dataclass costs several times as much to build."""

    child_id: int
    kind: str
    day: dt.date
    score: float
    reason: str
    evidence: tuple[int, ...]


@dataclass(frozen=True)
class BatchResult:
    """Scores as of one day (only children with any scored event) and every alert raised."""

    as_of: dt.date
    scores: pa.Table  # child_id, score, concern_points, agencies, multiplier
    alerts: list[BatchAlert]

    def score_of(self) -> dict[int, float]:
        return dict(
            zip(
                self.scores.column("child_id").to_pylist(),
                self.scores.column("score").to_pylist(),
                strict=True,
            )
        )


def _quote(value: str) -> str:
    if "'" in value:
        raise ValueError(f"code {value!r} cannot contain a quote")
    return f"'{value}'"


def _in(column: str, codes: tuple[str, ...] | list[str]) -> str:
    if not codes:
        return "FALSE"
    return f"{column} IN ({', '.join(_quote(c) for c in codes)})"


def _window(partition: str, frame: str, order: str = "day") -> str:
    return f"OVER (PARTITION BY {partition} ORDER BY {order} {frame})"


CUMULATIVE = "RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
BEFORE_TODAY = "RANGE BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING"


def _within(days: int) -> str:
    """Frame of the window [day - days, day]."""
    return f"RANGE BETWEEN {days} PRECEDING AND CURRENT ROW"


def _within_yesterday(days: int) -> str:
    """The same window as it stood at the end of the day before: [day - 1 - days, day - 1]."""
    return f"RANGE BETWEEN {days + 1} PRECEDING AND 1 PRECEDING"


def _double(value: float) -> str:
    """A float literal both engines read as DOUBLE (Spark reads ``0.5`` as a DECIMAL)."""
    return f"CAST({float(value)!r} AS DOUBLE)"


TWO = _double(2)
ONE = _double(1)
ZERO = _double(0)


def _multiplier(model: HarmModel, agencies: str) -> str:
    tri = model.triangulation
    return (
        f"(CASE WHEN COALESCE({agencies}, 0) <= 1 THEN {ONE} ELSE "
        f"LEAST({_double(tri.max_multiplier)}, {ONE} + "
        f"{_double(tri.credit_per_extra_agency)} * ({agencies} - 1)) END)"
    )


def _score(model: HarmModel, weighted: str, day: str, base: str, agencies: str) -> str:
    """Decayed points times triangulation, in the order engine.py multiplies them."""
    h = model.decay.half_life_days
    return (
        f"(CASE WHEN COALESCE({weighted}, {ZERO}) = {ZERO} THEN {ZERO} ELSE "
        f"({weighted} * POWER({TWO}, -({day} - {base}) / CAST({h} AS DOUBLE))) * {_multiplier(model, agencies)} END)"
    )


def _modifiers_sql(model: HarmModel, taxonomy: Taxonomy) -> tuple[list[str], list[str], str]:
    """Window columns the modifiers read, their truth per incident, and the severity they give."""
    by_child = "child_id"
    windows: dict[str, str] = {}
    truths: list[str] = []
    additions: list[str] = []
    concern_codes = tuple(c.code for c in taxonomy.codes_of_kind(CodeKind.CONCERN))

    def last_day(name: str, predicate: str) -> str:
        windows[name] = f"MAX(CASE WHEN {predicate} THEN day END) {_window(by_child, CUMULATIVE)}"
        return name

    for position, modifier in enumerate(model.modifiers):
        condition = modifier.condition
        if isinstance(condition, ChildAgeUnder):
            sql = f"birth_day IS NOT NULL AND day - birth_day < {condition.days}"
        elif isinstance(condition, OnPlan):
            start = last_day("last_plan_start", _in("code", model.plans.start_codes))
            end = last_day("last_plan_end", _in("code", model.plans.end_codes))
            sql = f"{start} IS NOT NULL AND ({end} IS NULL OR {start} >= {end})"
        elif isinstance(condition, Repeated):
            # Incidents of one code fall on distinct days, so "at least k within N days" is
            # "the (k-1)th earlier one is within N days".
            name = f"repeat{position}"
            windows[name] = (
                f"LAG(day, {condition.min_count - 1}) OVER (PARTITION BY child_id, code ORDER BY day)"
            )
            sql = f"{name} IS NOT NULL AND day - {name} <= {condition.days}"
        elif isinstance(condition, AllCodesWithin):
            parts = []
            for code in condition.codes:
                name = last_day(f"last_{_name(code)}", f"code = {_quote(code)}")
                parts.append(f"{name} >= day - {condition.days}")
            sql = " AND ".join(parts)
        elif isinstance(condition, AnyCodeWithin):
            name = last_day(f"last_any{position}", _in("code", condition.codes))
            sql = f"{name} >= day - {condition.days}"
        elif isinstance(condition, OtherConcernWithin):
            codes = concern_codes if modifier.applies_to == ALL_CONCERNS else modifier.applies_to
            cases = []
            for code in codes:
                name = last_day(
                    f"other_than_{_name(code)}", f"kind = 'concern' AND code <> {_quote(code)}"
                )
                cases.append(f"WHEN {_quote(code)} THEN {name}")
            sql = f"(CASE code {' '.join(cases)} END) >= day - {condition.days}"
        else:  # pragma: no cover - the schema admits no other condition
            raise TypeError(f"unknown modifier condition {condition!r}")
        applies = (
            "kind = 'concern'"
            if modifier.applies_to == ALL_CONCERNS
            else f"kind = 'concern' AND {_in('code', tuple(modifier.applies_to))}"
        )
        truths.append(f"CASE WHEN {applies} AND {sql} THEN 1 ELSE 0 END AS m{position}")
        additions.append(f"m{position} * {modifier.add_severity}")
    window_columns = [f"{sql} AS {name}" for name, sql in windows.items()]
    severity = f"LEAST(5, base_severity + {' + '.join(additions) or '0'})"
    return window_columns, truths, severity


def _modifier_codes(model: HarmModel) -> set[str]:
    """Codes the modifier windows look back for."""
    codes = set(model.plans.start_codes) | set(model.plans.end_codes)
    for modifier in model.modifiers:
        if isinstance(modifier.condition, AllCodesWithin | AnyCodeWithin):
            codes |= set(modifier.condition.codes)
    return codes


def _name(code: str) -> str:
    return code.lower().replace("-", "_")


def population_sql(model: HarmModel, as_of_day: int, taxonomy: Taxonomy) -> dict[str, str]:
    """The batch job's SQL statements, run in order, each creating a table of its name."""
    h = model.decay.half_life_days
    horizon = model.decay.horizon_days
    within = model.same_incident.within_days
    statements: dict[str, str] = {}

    base_events = f"""
  SELECT e.child_id, e.code, c.kind, e.ref, e.agency, e.day,
    CASE WHEN c.kind = 'concern' THEN COALESCE(e.severity, c.default_severity) ELSE 0 END
      AS base_severity
  FROM events e JOIN codes c ON e.code = c.code
  WHERE e.day <= {as_of_day}"""
    if within == 0:
        # Same code, same child, same day: the incident is the day itself.
        statements["harm_incident_events"] = f"""
SELECT b.*, day AS incident_no, day AS incident_day FROM ({base_events}) b"""
    else:
        statements["harm_incident_events"] = f"""
SELECT n.*, MIN(day) OVER (PARTITION BY child_id, code, incident_no) AS incident_day
FROM (
  SELECT s.*, SUM(starts) {_window("child_id, code", CUMULATIVE)} AS incident_no
  FROM (
    SELECT b.*,
      CASE WHEN day - LAG(day) OVER (PARTITION BY child_id, code ORDER BY day) <= {within}
           THEN 0 ELSE 1 END AS starts
    FROM ({base_events}) b
  ) s
) n"""

    window_columns, truths, severity = _modifiers_sql(model, taxonomy)
    points = " ".join(
        f"WHEN {s} THEN {_double(p)}" for s, p in sorted(model.points_by_severity.items())
    )
    # Every child with a scored event, and the day of their first (the exponent's anchor).
    statements["harm_child"] = """
SELECT child_id, MIN(day) AS base_day FROM harm_incident_events GROUP BY child_id"""
    # Entries no rule reads (routine contacts and most process steps: over half the rows)
    # leave the computation here.
    relevant = f"(kind IN ('concern', 'strength') OR {_in('code', sorted(model.codes_named()))})"
    statements["harm_incident_base"] = f"""
SELECT g.*, ch.birth_day, b.base_day
FROM (
  SELECT child_id, code, incident_no, MIN(kind) AS kind, MIN(day) AS day,
         MAX(base_severity) AS base_severity
  FROM harm_incident_events WHERE {relevant} GROUP BY child_id, code, incident_no
) g
JOIN harm_child b ON b.child_id = g.child_id
LEFT JOIN children ch ON g.child_id = ch.child_id"""
    # Only concerns and the codes the modifiers look back for take part in the modifier
    # windows; routine contacts, strengths and other process steps (most rows) skip them.
    involved = _in("code", sorted(_modifier_codes(model)))
    statements["harm_incident"] = f"""
SELECT m.child_id, m.code, m.incident_no, m.kind, m.day, m.base_severity, m.birth_day,
  m.base_day, m.severity,
  CASE WHEN kind = 'concern' THEN CASE severity {points} ELSE {ZERO} END
       WHEN kind = 'strength' THEN {_double(model.strengths.points)} ELSE {ZERO} END AS points
FROM (
  SELECT t.*,
    CASE WHEN kind = 'concern' THEN {severity} ELSE 0 END AS severity
  FROM (
    SELECT w.*{"".join(", " + t for t in truths)}
    FROM (
      SELECT gb.*
        {"".join(", " + c for c in window_columns)}
      FROM harm_incident_base gb
      WHERE kind = 'concern' OR {involved}
    ) w
  ) t
) m
UNION ALL
SELECT child_id, code, incident_no, kind, day, base_severity, birth_day, base_day, 0,
  CASE WHEN kind = 'strength' THEN {_double(model.strengths.points)} ELSE {ZERO} END
FROM harm_incident_base
WHERE NOT (kind = 'concern' OR {involved})"""

    statements["harm_concern_day"] = f"""
SELECT child_id, day, MIN(base_day) AS base_day,
  SUM(points * POWER({TWO}, (day - base_day) / CAST({h} AS DOUBLE))) AS weighted
FROM harm_incident WHERE kind = 'concern' GROUP BY child_id, day"""

    # An agency counts towards triangulation for window_days after each concern it
    # recorded; it is counted on the incident's day.
    statements["harm_agency_day"] = """
SELECT DISTINCT child_id, agency, incident_day AS day
FROM harm_incident_events WHERE kind = 'concern'"""
    window_days = model.triangulation.window_days
    statements["harm_agency_interval"] = f"""
SELECT child_id, day AS start_day,
  CASE WHEN next_day IS NULL OR next_day - 1 > day + {window_days}
       THEN day + {window_days} ELSE next_day - 1 END AS end_day
FROM (SELECT child_id, agency, day,
        LEAD(day) OVER (PARTITION BY child_id, agency ORDER BY day) AS next_day
      FROM harm_agency_day) a"""

    # Scores on each day a concern was recorded, and as they stood the day before: a
    # threshold can only be crossed on such a day, and the day before is the lowest the
    # score fell since the previous one (it only decays in between).
    # One running sum per child instead of sliding windows: a concern's weight is added on
    # its day and taken away again the day after it leaves the horizon; an agency counts
    # from +1 to -1. The day before's values are today's less what today added, plus what
    # expired today. (Weights grow with time, so what is taken away is small beside what
    # stays, and float cancellation is far below the comparison tolerance.)
    statements["harm_concern_score"] = f"""
SELECT child_id, day, post_n AS agencies,
  {_score(model, "post_w", "day", "base_day", "post_n")} AS score,
  {_score(model, "(post_w - added_w + expired_w)", "day - 1", "base_day", "(post_n - delta)")} AS pre_score
FROM (
  SELECT child_id, day, is_day, base_day, added_w, expired_w, delta,
    SUM(added_w - expired_w) {_window("child_id", "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW")} AS post_w,
    SUM(delta) {_window("child_id", "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW")} AS post_n
  FROM (
    SELECT child_id, day, MAX(is_day) AS is_day, MAX(base_day) AS base_day,
      SUM(added_w) AS added_w, SUM(expired_w) AS expired_w, SUM(delta) AS delta
    FROM (
      SELECT child_id, day, 1 AS is_day, base_day, weighted AS added_w, {ZERO} AS expired_w,
        0 AS delta FROM harm_concern_day
      UNION ALL
      SELECT child_id, day + {horizon + 1}, 0, 0, {ZERO}, weighted, 0 FROM harm_concern_day
      UNION ALL
      SELECT child_id, start_day, 0, 0, {ZERO}, {ZERO}, 1 FROM harm_agency_interval
      UNION ALL
      SELECT child_id, end_day + 1, 0, 0, {ZERO}, {ZERO}, -1 FROM harm_agency_interval
    ) u GROUP BY child_id, day
  ) d
) x WHERE is_day = 1"""

    threshold = model.alerts.threshold
    hit = f"score >= {_double(threshold.score - TOLERANCE)}"
    statements["harm_threshold_alert"] = f"""
SELECT child_id, day, '{THRESHOLD_KIND}' AS kind, 0 AS n FROM (
  SELECT child_id, day, score,
    MAX(CASE WHEN pre_score < {_double(threshold.reset_below - TOLERANCE)} THEN day END)
      {_window("child_id", "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW")} AS last_reset,
    MAX(CASE WHEN {hit} THEN day END)
      {_window("child_id", "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING")} AS last_hit
  FROM harm_concern_score
) s
WHERE {hit} AND (last_hit IS NULL OR (last_reset IS NOT NULL AND last_hit < last_reset))"""

    alert_selects = ["SELECT child_id, day, kind, n FROM harm_threshold_alert"]
    for position, pattern in enumerate(model.alerts.patterns):
        name = f"harm_pattern{position}"
        statements.update(_pattern_sql(name, pattern.kind, pattern.rule))
        alert_selects.append(f"SELECT child_id, day, '{pattern.kind}', n FROM {name}")
    for serious in model.alerts.serious_alone:
        alert_selects.append(
            f"SELECT DISTINCT child_id, day, '{serious.kind}', 0 FROM harm_incident "
            f"WHERE {_serious_sql(serious)}"
        )
    statements["harm_raised_alert"] = " UNION ALL ".join(alert_selects)

    # Scores on the days alerts were raised: the day's running score when a concern was
    # recorded that day (always, with the shipped rules), else plain joins over the rest.
    statements["harm_alert_off_concern_day"] = """
SELECT DISTINCT r.child_id, r.day FROM harm_raised_alert r
WHERE NOT EXISTS (SELECT 1 FROM harm_concern_day c WHERE c.child_id = r.child_id AND c.day = r.day)"""
    statements["harm_alert_score"] = f"""
SELECT a.child_id, a.day, s.score, s.agencies
FROM (SELECT DISTINCT child_id, day FROM harm_raised_alert) a
JOIN harm_concern_score s ON s.child_id = a.child_id AND s.day = a.day
UNION ALL
SELECT a.child_id, a.day, {_score(model, "w.weighted", "a.day", "w.base_day", "n.agencies")},
  COALESCE(n.agencies, 0)
FROM harm_alert_off_concern_day a
LEFT JOIN (
  SELECT a.child_id, a.day, SUM(c.weighted) AS weighted, MIN(c.base_day) AS base_day
  FROM harm_alert_off_concern_day a
  JOIN harm_concern_day c ON c.child_id = a.child_id AND c.day BETWEEN a.day - {horizon} AND a.day
  GROUP BY a.child_id, a.day
) w ON w.child_id = a.child_id AND w.day = a.day
LEFT JOIN (
  SELECT a.child_id, a.day, COUNT(DISTINCT g.agency) AS agencies
  FROM harm_alert_off_concern_day a
  JOIN harm_agency_day g ON g.child_id = a.child_id AND g.day BETWEEN a.day - {window_days} AND a.day
  GROUP BY a.child_id, a.day
) n ON n.child_id = a.child_id AND n.day = a.day"""

    statements["harm_alert_incident_count"] = f"""
SELECT a.child_id, a.day, COUNT(*) AS incidents
FROM (SELECT DISTINCT child_id, day FROM harm_raised_alert WHERE kind = '{THRESHOLD_KIND}') a
JOIN harm_incident i ON i.child_id = a.child_id AND i.day BETWEEN a.day - {horizon} AND a.day
WHERE i.kind = 'concern' AND i.points > 0
GROUP BY a.child_id, a.day"""

    statements["harm_score_as_of"] = f"""
SELECT c.child_id,
  {_score(model, "w.weighted", str(as_of_day), "c.base_day", "n.agencies")} AS score,
  COALESCE(n.agencies, 0) AS agencies,
  COALESCE(s.strength, {ZERO}) * POWER({TWO}, -({as_of_day} - c.base_day) / CAST({h} AS DOUBLE)) AS strength_weight
FROM harm_child c
LEFT JOIN (SELECT child_id, SUM(weighted) AS weighted FROM harm_concern_day
           WHERE day >= {as_of_day - horizon} GROUP BY child_id) w ON w.child_id = c.child_id
LEFT JOIN (SELECT child_id, COUNT(DISTINCT agency) AS agencies FROM harm_agency_day
           WHERE day >= {as_of_day - window_days} GROUP BY child_id) n ON n.child_id = c.child_id
LEFT JOIN (SELECT child_id, SUM(points * POWER({TWO}, (day - base_day) / CAST({h} AS DOUBLE))) AS strength
           FROM harm_incident WHERE kind = 'strength' AND day >= {as_of_day - horizon}
           GROUP BY child_id) s ON s.child_id = c.child_id"""
    return statements


def _serious_sql(serious: SeriousAloneRule, table: str = "") -> str:
    young = serious.young_child
    sql = _in(f"{table}code", serious.codes)
    if young is not None:
        sql += (
            f" OR ({_in(f'{table}code', young.codes)} AND {table}birth_day IS NOT NULL "
            f"AND {table}day - {table}birth_day < {young.age_under_days})"
        )
    return f"({sql})"


def _pattern_sql(name: str, kind: str, rule: PatternCondition) -> dict[str, str]:
    """A pattern rule fires on a day it holds when it did not hold the day before.

    Each rule reads only the incidents it is about: it can only start to hold on a day
    one of them was recorded, so that is where it is evaluated.
    """

    def windowed(column: str, days: int) -> str:
        return (
            f"SUM({column}) {_window('child_id', _within(days))} AS post_{column}, "
            f"COALESCE(SUM({column}) {_window('child_id', _within_yesterday(days))}, 0) "
            f"AS pre_{column}"
        )

    if isinstance(rule, CountWithin):
        return {
            name: f"""
SELECT child_id, day, post_hits AS n FROM (
  SELECT child_id, day, {windowed("hits", rule.days)}
  FROM (SELECT child_id, day, COUNT(*) AS hits FROM harm_incident
        WHERE {_in("code", rule.codes)} GROUP BY child_id, day) d
) x WHERE post_hits >= {rule.min_count} AND pre_hits < {rule.min_count}"""
        }
    if isinstance(rule, CodeWithOtherConcern):
        own = _in("code", rule.codes)
        return {
            name: f"""
SELECT child_id, day, post_own AS n FROM (
  SELECT child_id, day, {windowed("own", rule.days)}, {windowed("concerns", rule.days)}
  FROM (SELECT child_id, day,
          SUM(CASE WHEN {own} THEN 1 ELSE 0 END) AS own,
          SUM(CASE WHEN kind = 'concern' THEN 1 ELSE 0 END) AS concerns
        FROM harm_incident
        WHERE ({own} OR kind = 'concern')
          AND child_id IN (SELECT child_id FROM harm_incident WHERE {own})
        GROUP BY child_id, day) d
) x WHERE post_own > 0 AND post_concerns - post_own > 0
      AND NOT (pre_own > 0 AND pre_concerns - pre_own > 0)"""
        }
    if isinstance(rule, CodesTogether):
        first, second = _in("code", rule.first), _in("code", rule.second)
        return {
            name: f"""
SELECT child_id, day, post_first AS n FROM (
  SELECT child_id, day, {windowed("first", rule.days)}, {windowed("second", rule.days)}
  FROM (SELECT child_id, day,
          SUM(CASE WHEN {first} THEN 1 ELSE 0 END) AS first,
          SUM(CASE WHEN {second} THEN 1 ELSE 0 END) AS second
        FROM harm_incident WHERE {first} OR {second} GROUP BY child_id, day) d
) x WHERE post_first > 0 AND post_second > 0 AND NOT (pre_first > 0 AND pre_second > 0)"""
        }
    assert isinstance(rule, RelapseCycles)
    # research-notes §6.7: a concern that follows a recent improvement, and is the first
    # concern since it, is one cycle of improvement and relapse.
    return {
        f"{name}_day": f"""
SELECT child_id, day, last_improvement FROM (
  SELECT child_id, day, relapse_concern,
    MAX(CASE WHEN improvement = 1 THEN day END) {_window("child_id", BEFORE_TODAY)}
      AS last_improvement,
    MAX(CASE WHEN relapse_concern = 1 THEN day END) {_window("child_id", BEFORE_TODAY)}
      AS previous_concern
  FROM (SELECT child_id, day,
          MAX(CASE WHEN {_in("code", rule.improvement_codes)} THEN 1 ELSE 0 END) AS improvement,
          MAX(CASE WHEN kind = 'concern' AND severity >= {rule.relapse_min_severity}
                   THEN 1 ELSE 0 END) AS relapse_concern
        FROM harm_incident
        WHERE ({_in("code", rule.improvement_codes)}
               OR (kind = 'concern' AND severity >= {rule.relapse_min_severity}))
          AND child_id IN (SELECT child_id FROM harm_incident
                           WHERE kind = 'concern' AND severity >= {rule.relapse_min_severity})
        GROUP BY child_id, day) d
) x
WHERE relapse_concern = 1 AND last_improvement IS NOT NULL
  AND day - last_improvement <= {rule.relapse_days}
  AND (previous_concern IS NULL OR previous_concern <= last_improvement)""",
        name: f"""
SELECT child_id, day, post_relapses AS n FROM (
  SELECT child_id, day, {windowed("relapses", rule.days)}
  FROM (SELECT child_id, day, 1 AS relapses FROM {name}_day) d
) x WHERE post_relapses >= {rule.min_count} AND pre_relapses < {rule.min_count}""",
    }


def _evidence_sql(model: HarmModel) -> str:
    """Which events stand behind each raised alert: the incidents each rule read, then their
    entries, in one join."""
    conditions = [
        f"(a.kind = '{THRESHOLD_KIND}' AND i.kind = 'concern' AND i.points > 0 "
        f"AND i.day >= a.day - {model.decay.horizon_days})"
    ]
    relapse_selects = []
    for position, pattern in enumerate(model.alerts.patterns):
        rule = pattern.rule
        window = f"i.day >= a.day - {rule.days}"
        if isinstance(rule, CountWithin):
            chosen = f"{window} AND {_in('i.code', rule.codes)}"
        elif isinstance(rule, CodeWithOtherConcern):
            chosen = f"{window} AND i.kind = 'concern'"
        elif isinstance(rule, CodesTogether):
            chosen = f"{window} AND {_in('i.code', rule.first + rule.second)}"
        else:
            # The relapses in the window, and the improvement before each (which may itself
            # precede the window).
            days = f"harm_pattern{position}_day"
            relapse_selects.append(f"""
SELECT a.child_id, a.kind, a.day, i.code, i.incident_no
FROM harm_raised_alert a
JOIN {days} r ON r.child_id = a.child_id AND r.day BETWEEN a.day - {rule.days} AND a.day
JOIN harm_incident i ON i.child_id = a.child_id
  AND ((i.day = r.day AND i.kind = 'concern' AND i.severity >= {rule.relapse_min_severity})
       OR (i.day = r.last_improvement AND {_in("i.code", rule.improvement_codes)}))
WHERE a.kind = '{pattern.kind}'""")
            continue
        conditions.append(f"(a.kind = '{pattern.kind}' AND {chosen})")
    for serious in model.alerts.serious_alone:
        conditions.append(
            f"(a.kind = '{serious.kind}' AND i.day = a.day AND {_serious_sql(serious, 'i.')})"
        )
    chosen_incidents = f"""
SELECT a.child_id, a.kind, a.day, i.code, i.incident_no
FROM harm_raised_alert a
JOIN harm_incident i ON i.child_id = a.child_id AND i.day <= a.day
WHERE {" OR ".join(conditions)}"""
    return f"""
SELECT DISTINCT c.child_id, c.kind, c.day, e.ref
FROM ({" UNION ".join([chosen_incidents, *relapse_selects])}) c
JOIN harm_incident_events e ON e.child_id = c.child_id AND e.code = c.code
                          AND e.incident_no = c.incident_no"""


def codes_table(taxonomy: Taxonomy) -> pa.Table:
    return pa.table(
        {
            "code": [c.code for c in taxonomy.codes],
            "kind": [c.kind.value for c in taxonomy.codes],
            "default_severity": pa.array([c.default_severity for c in taxonomy.codes], pa.int32()),
        }
    )


def _alerts_sql(model: HarmModel) -> str:
    """Every raised alert with what its reason needs and its evidence (the entries' refs,
    sorted), ordered by child, day and kind. Aggregated in the engine: a dense population
    has millions of evidence rows, far too many to gather one by one in Python."""
    return f"""
WITH evidence AS ({_evidence_sql(model)}),
refs AS (
  SELECT child_id, kind, day, array_sort(array_agg(ref)) AS refs
  FROM evidence GROUP BY child_id, kind, day
)
SELECT a.child_id, a.day, a.kind, s.score, a.n, s.agencies, COALESCE(c.incidents, 0), r.refs
FROM harm_raised_alert a
JOIN harm_alert_score s ON s.child_id = a.child_id AND s.day = a.day
LEFT JOIN harm_alert_incident_count c ON c.child_id = a.child_id AND c.day = a.day
LEFT JOIN refs r ON r.child_id = a.child_id AND r.kind = a.kind AND r.day = a.day
ORDER BY a.child_id, a.day, a.kind"""


def _finish(
    model: HarmModel, as_of: dt.date, scores: pa.Table, raised: list[tuple[Any, ...]]
) -> BatchResult:
    """The batch's result from its scores and the rows of ``_alerts_sql``."""
    patterns = {p.kind: p for p in model.alerts.patterns}
    serious = {s.kind: s.reason for s in model.alerts.serious_alone}
    # Many alerts share a day and a reason: each is worked out once.
    days: dict[int, dt.date] = {}
    reasons: dict[tuple[str, float, int, int], str] = {}
    alerts = []
    for child_id, day, kind, score, count, agencies, incidents, refs in raised:
        rounded = round(float(score), SCORE_DECIMALS)
        # Keyed on exactly what each reason is made from.
        if kind == THRESHOLD_KIND:
            key = (kind, rounded, int(agencies), int(incidents))
        else:
            key = (kind, 0.0, int(count), 0)
        reason = reasons.get(key)
        if reason is None:
            if kind == THRESHOLD_KIND:
                reason = threshold_reason(
                    score=rounded,
                    threshold=model.alerts.threshold.score,
                    incident_count=int(incidents),
                    agency_count=int(agencies),
                    model=model,
                )
            elif kind in patterns:
                reason = pattern_reason(patterns[kind], int(count))
            else:
                reason = serious[kind]
            reasons[key] = reason
        alert_day = days.get(day)
        if alert_day is None:
            alert_day = days[day] = from_epoch_day(day)
        alerts.append(
            BatchAlert(
                int(child_id), str(kind), alert_day, rounded, reason, tuple(refs) if refs else ()
            )
        )
    return BatchResult(as_of=as_of, scores=scores, alerts=alerts)


# Tables read more than once are materialised; the rest stay views.
_MATERIALISED = {
    "harm_child",
    "harm_concern_score",
    "harm_incident_base",
    "harm_incident",
    "harm_concern_day",
    "harm_agency_day",
    "harm_agency_interval",
    "harm_raised_alert",
}


def _materialise(name: str, model: HarmModel) -> bool:
    if name == "harm_incident_events":
        # A plain projection of the input when incidents are same-day; windows otherwise.
        return model.same_incident.within_days > 0
    return name in _MATERIALISED or name.endswith("_day")


def score_population_duckdb(
    events: pa.Table,
    children: pa.Table,
    *,
    as_of: dt.date,
    model: HarmModel | None = None,
    taxonomy: Taxonomy | None = None,
    threads: int | None = None,
) -> BatchResult:
    """Score every child in ``events`` as of a day with DuckDB; see the module docstring."""
    import duckdb

    model = model or default_harm_model()
    taxonomy = taxonomy or default_taxonomy()
    connection = duckdb.connect()
    try:
        if threads:
            connection.execute(f"SET threads = {int(threads)}")
        connection.register("events", events)
        connection.register("children", children)
        connection.register("codes", codes_table(taxonomy))
        for name, sql in population_sql(model, epoch_day(as_of), taxonomy).items():
            kind = "TEMP TABLE" if _materialise(name, model) else "TEMP VIEW"
            connection.execute(f"CREATE {kind} {name} AS {sql}")
        scores = connection.sql("SELECT * FROM harm_score_as_of ORDER BY child_id").to_arrow_table()
        raised = connection.execute(_alerts_sql(model)).fetchall()
    finally:
        connection.close()
    return _finish(model, as_of, scores, raised)


def score_population_spark(
    spark: Any,
    events: pa.Table,
    children: pa.Table,
    *,
    as_of: dt.date,
    model: HarmModel | None = None,
    taxonomy: Taxonomy | None = None,
) -> BatchResult:
    """The same SQL on Spark, for populations beyond one machine."""
    model = model or default_harm_model()
    taxonomy = taxonomy or default_taxonomy()
    for name, table in (
        ("events", events),
        ("children", children),
        ("codes", codes_table(taxonomy)),
    ):
        spark.createDataFrame(table.to_pandas()).createOrReplaceTempView(name)
    for name, sql in population_sql(model, epoch_day(as_of), taxonomy).items():
        frame = spark.sql(sql)
        if _materialise(name, model):
            frame = frame.cache()
        frame.createOrReplaceTempView(name)
    scores_frame = spark.sql("SELECT * FROM harm_score_as_of ORDER BY child_id").toPandas()
    raised = [tuple(r) for r in spark.sql(_alerts_sql(model)).collect()]
    return _finish(model, as_of, pa.Table.from_pandas(scores_frame), raised)
