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
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from fullpicture.chronology.taxonomy import Taxonomy, default_taxonomy
from fullpicture.harm.engine import (
    SCORE_DECIMALS,
    THRESHOLD_KIND,
    TOLERANCE,
    pattern_reason,
    threshold_reason,
)
from fullpicture.harm.model import (
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
    RelapseCycles,
    Repeated,
    default_harm_model,
)

EPOCH = dt.date(1970, 1, 1)


def epoch_day(day: dt.date) -> int:
    return (day - EPOCH).days


def from_epoch_day(day: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(day))


@dataclass(frozen=True)
class BatchAlert:
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


class _Rules:
    """The model's rules as SQL fragments."""

    def __init__(self, model: HarmModel) -> None:
        self.model = model
        # One window count column per distinct (code set, days) the pattern rules need.
        self.count_columns: dict[tuple[tuple[str, ...], int], str] = {}
        for pattern in model.alerts.patterns:
            rule = pattern.rule
            if isinstance(rule, CountWithin | CodeWithOtherConcern):
                self._count(rule.codes, rule.days)
            if isinstance(rule, CodeWithOtherConcern):
                self._count((), rule.days)
            if isinstance(rule, CodesTogether):
                self._count(rule.first, rule.days)
                self._count(rule.second, rule.days)
        self.relapse_rules = [
            (p.kind, p.rule) for p in model.alerts.patterns if isinstance(p.rule, RelapseCycles)
        ]

    def _count(self, codes: tuple[str, ...], days: int) -> str:
        key = (tuple(sorted(codes)), days)
        if key not in self.count_columns:
            self.count_columns[key] = f"n{len(self.count_columns)}"
        return self.count_columns[key]

    def count_column(self, codes: tuple[str, ...], days: int) -> str:
        return self.count_columns[(tuple(sorted(codes)), days)]


def _modifier_sql(model: HarmModel) -> tuple[str, str]:
    """Columns for each modifier's truth on an incident's day, and the severity they give."""
    columns: list[str] = []
    additions: list[str] = []
    for position, modifier in enumerate(model.modifiers):
        condition = modifier.condition
        by_child = "PARTITION BY child_id ORDER BY day"
        if isinstance(condition, ChildAgeUnder):
            sql = f"(birth_day IS NOT NULL AND day - birth_day < {condition.days})"
        elif isinstance(condition, OnPlan):
            sql = "(last_plan_start IS NOT NULL AND (last_plan_end IS NULL OR last_plan_start >= last_plan_end))"
        elif isinstance(condition, Repeated):
            sql = (
                f"(COUNT(*) OVER (PARTITION BY child_id, code ORDER BY day RANGE BETWEEN "
                f"{condition.days} PRECEDING AND CURRENT ROW) >= {condition.min_count})"
            )
        elif isinstance(condition, AllCodesWithin):
            sql = (
                "("
                + " AND ".join(
                    f"MAX(CASE WHEN code = {_quote(c)} THEN day END) OVER ({by_child} RANGE BETWEEN "
                    f"UNBOUNDED PRECEDING AND CURRENT ROW) >= day - {condition.days}"
                    for c in condition.codes
                )
                + ")"
            )
        elif isinstance(condition, AnyCodeWithin):
            sql = (
                f"(MAX(CASE WHEN {_in('code', condition.codes)} THEN day END) OVER ({by_child} "
                f"RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) >= day - {condition.days})"
            )
        elif isinstance(condition, OtherConcernWithin):
            sql = (
                f"(SUM(CASE WHEN kind = 'concern' THEN 1 ELSE 0 END) OVER ({by_child} RANGE "
                f"BETWEEN {condition.days} PRECEDING AND CURRENT ROW) - COUNT(*) OVER "
                f"(PARTITION BY child_id, code ORDER BY day RANGE BETWEEN {condition.days} "
                f"PRECEDING AND CURRENT ROW) > 0)"
            )
        else:  # pragma: no cover - the schema admits no other condition
            raise TypeError(f"unknown modifier condition {condition!r}")
        applies = (
            "kind = 'concern'"
            if modifier.applies_to == ALL_CONCERNS
            else f"kind = 'concern' AND {_in('code', tuple(modifier.applies_to))}"
        )
        columns.append(f"CASE WHEN {applies} AND {sql} THEN 1 ELSE 0 END AS m{position}")
        additions.append(f"m{position} * {modifier.add_severity}")
    severity = f"LEAST(5, base_severity + {' + '.join(additions) or '0'})"
    return ",\n      ".join(columns), severity


def population_sql(model: HarmModel, as_of_day: int) -> dict[str, str]:
    """The batch job's SQL statements (run in order, each creating a view of its name)."""
    rules = _Rules(model)
    h = model.decay.half_life_days
    horizon = model.decay.horizon_days
    tri = model.triangulation
    modifier_columns, severity = _modifier_sql(model)
    points = " ".join(
        f"WHEN {s} THEN {float(p)!r}" for s, p in sorted(model.points_by_severity.items())
    )
    modifier_names = [f"m{i}" for i in range(len(model.modifiers))]
    two = "CAST(2 AS DOUBLE)"
    statements: dict[str, str] = {}

    statements["harm_incident_events"] = f"""
SELECT child_id, code, kind, ref, agency, day, base_severity,
  SUM(starts) OVER (PARTITION BY child_id, code ORDER BY day
                    RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS incident_no
FROM (
  SELECT e.child_id, e.code, c.kind, e.ref, e.agency, e.day,
    CASE WHEN c.kind = 'concern' THEN COALESCE(e.severity, c.default_severity) ELSE 0 END
      AS base_severity,
    CASE WHEN e.day - LAG(e.day) OVER (PARTITION BY e.child_id, e.code ORDER BY e.day)
              <= {model.same_incident.within_days} THEN 0 ELSE 1 END AS starts
  FROM events e JOIN codes c ON e.code = c.code
  WHERE e.day <= {as_of_day}
) chained"""

    statements["harm_incident"] = f"""
SELECT child_id, code, incident_no, kind, day, birth_day, base_severity,
  {", ".join(modifier_names) + "," if modifier_names else ""}
  CASE WHEN kind = 'concern' THEN {severity if modifier_names else "base_severity"} ELSE 0 END
    AS severity
FROM (
  SELECT p.*,
      {modifier_columns}
  FROM (
    SELECT g.*, ch.birth_day,
      MAX(CASE WHEN {_in("code", model.plans.start_codes)} THEN day END) OVER (
        PARTITION BY g.child_id ORDER BY day RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        AS last_plan_start,
      MAX(CASE WHEN {_in("code", model.plans.end_codes)} THEN day END) OVER (
        PARTITION BY g.child_id ORDER BY day RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        AS last_plan_end
    FROM (
      SELECT child_id, code, incident_no, MIN(kind) AS kind, MIN(day) AS day,
             MAX(base_severity) AS base_severity
      FROM harm_incident_events GROUP BY child_id, code, incident_no
    ) g LEFT JOIN children ch ON g.child_id = ch.child_id
  ) p
) m"""

    statements["harm_scored_incident"] = f"""
SELECT i.*,
  CASE WHEN kind = 'concern' THEN CASE severity {points} ELSE 0.0 END ELSE 0.0 END AS points,
  MIN(day) OVER (PARTITION BY child_id) AS base_day
FROM harm_incident i"""

    # Child-days: what each day adds. Relapse days per research-notes §6.7.
    count_sums = ",\n  ".join(
        f"SUM(CASE WHEN {_in('code', codes) if codes else 'FALSE'} THEN 1 ELSE 0 END) AS d_{col}"
        for (codes, _days), col in rules.count_columns.items()
    )
    relapse_flags = []
    for position, (_kind, rule) in enumerate(rules.relapse_rules):
        relapse_flags.append(
            f"MAX(CASE WHEN {_in('code', rule.improvement_codes)} THEN 1 ELSE 0 END) AS imp{position}, "
            f"MAX(CASE WHEN kind = 'concern' AND severity >= {rule.relapse_min_severity} "
            f"THEN 1 ELSE 0 END) AS conc{position}"
        )
    statements["harm_child_day"] = f"""
SELECT child_id, day, MIN(base_day) AS base_day,
  SUM(CASE WHEN kind = 'concern' THEN points * POWER({two}, (day - base_day) / {h}.0) ELSE 0.0 END)
    AS weighted,
  SUM(CASE WHEN kind = 'concern' THEN 1 ELSE 0 END) AS d_concerns,
  SUM(CASE WHEN kind = 'strength' THEN points * POWER({two}, (day - base_day) / {h}.0) ELSE 0.0 END)
    AS strength_weighted
  {", " + count_sums if count_sums else ""}
  {", " + ", ".join(relapse_flags) if relapse_flags else ""}
FROM harm_scored_incident GROUP BY child_id, day"""

    relapse_columns = []
    for position, (_kind, rule) in enumerate(rules.relapse_rules):
        relapse_columns.append(f"""
  CASE WHEN conc{position} = 1 AND last_imp{position} IS NOT NULL
            AND day - last_imp{position} <= {rule.relapse_days}
            AND (prev_conc{position} IS NULL OR prev_conc{position} <= last_imp{position})
       THEN 1 ELSE 0 END AS relapse{position}""")
    relapse_windows = []
    for position, _ in enumerate(rules.relapse_rules):
        for name, flag in (("last_imp", "imp"), ("prev_conc", "conc")):
            relapse_windows.append(
                f"MAX(CASE WHEN {flag}{position} = 1 THEN day END) OVER (PARTITION BY child_id "
                f"ORDER BY day RANGE BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS {name}{position}"
            )
    statements["harm_child_day_relapse"] = f"""
SELECT *{", " + ", ".join(relapse_columns) if relapse_columns else ""}
FROM (SELECT d.*{", " + ", ".join(relapse_windows) if relapse_windows else ""}
      FROM harm_child_day d) r"""

    # Triangulation: each agency counts from a concern it reported for window_days, until
    # its next report; n(day) is the number of such intervals containing the day.
    statements["harm_agency_interval"] = f"""
SELECT child_id, day AS start_day,
  CASE WHEN next_day IS NULL OR next_day - 1 > day + {tri.window_days}
       THEN day + {tri.window_days} ELSE next_day - 1 END AS end_day
FROM (
  SELECT child_id, agency, day,
    LEAD(day) OVER (PARTITION BY child_id, agency ORDER BY day) AS next_day
  FROM (
    SELECT DISTINCT e.child_id, e.agency, i.day
    FROM harm_incident_events e
    JOIN harm_incident i ON e.child_id = i.child_id AND e.code = i.code
                        AND e.incident_no = i.incident_no
    WHERE i.kind = 'concern'
  ) agency_days
) a"""

    zero_counts = ", ".join(f"0 AS d_{col}" for col in rules.count_columns.values())
    zero_relapse = ", ".join(f"0 AS relapse{p}" for p in range(len(rules.relapse_rules)))
    day_counts = ", ".join(f"d_{col}" for col in rules.count_columns.values())
    day_relapse = ", ".join(f"relapse{p}" for p in range(len(rules.relapse_rules)))
    extra_zero = ", ".join(x for x in (zero_counts, zero_relapse) if x)
    extra_day = ", ".join(x for x in (day_counts, day_relapse) if x)
    sep_zero = ", " + extra_zero if extra_zero else ""
    sep_day = ", " + extra_day if extra_day else ""
    statements["harm_timeline"] = f"""
SELECT child_id, day, 0 AS is_marker, -1 AS eval_day, 0 AS phase, weighted, strength_weighted,
  d_concerns, 0 AS delta{sep_day}
FROM harm_child_day_relapse
UNION ALL
SELECT child_id, start_day, 0, -1, 0, 0.0, 0.0, 0, 1{sep_zero} FROM harm_agency_interval
UNION ALL
SELECT child_id, end_day + 1, 0, -1, 0, 0.0, 0.0, 0, -1{sep_zero} FROM harm_agency_interval
UNION ALL
SELECT child_id, day, 1, day, 1, 0.0, 0.0, 0, 0{sep_zero} FROM harm_child_day
UNION ALL
SELECT child_id, day - 1, 1, day, 0, 0.0, 0.0, 0, 0{sep_zero} FROM harm_child_day
UNION ALL
SELECT child_id, {as_of_day}, 1, {as_of_day}, 2, 0.0, 0.0, 0, 0{sep_zero}
FROM (SELECT DISTINCT child_id FROM harm_child_day) c"""

    window_sums = []
    for (_codes, days), col in rules.count_columns.items():
        window_sums.append(
            f"SUM(d_{col}) OVER (PARTITION BY child_id ORDER BY day RANGE BETWEEN {days} "
            f"PRECEDING AND CURRENT ROW) AS {col}"
        )
    for position, (_kind, rule) in enumerate(rules.relapse_rules):
        window_sums.append(
            f"SUM(relapse{position}) OVER (PARTITION BY child_id ORDER BY day RANGE BETWEEN "
            f"{rule.days} PRECEDING AND CURRENT ROW) AS relapses{position}"
        )
    concern_windows = sorted(
        {
            rule.rule.days
            for rule in model.alerts.patterns
            if isinstance(rule.rule, CodeWithOtherConcern)
        }
    )
    for days in concern_windows:
        window_sums.append(
            f"SUM(d_concerns) OVER (PARTITION BY child_id ORDER BY day RANGE BETWEEN {days} "
            f"PRECEDING AND CURRENT ROW) AS concerns_{days}"
        )
    statements["harm_marker"] = f"""
SELECT * FROM (
  SELECT t.*,
    SUM(weighted) OVER (PARTITION BY child_id ORDER BY day
                        RANGE BETWEEN {horizon} PRECEDING AND CURRENT ROW) AS weighted_sum,
    SUM(strength_weighted) OVER (PARTITION BY child_id ORDER BY day
                        RANGE BETWEEN {horizon} PRECEDING AND CURRENT ROW) AS strength_sum,
    CAST(SUM(delta) OVER (PARTITION BY child_id ORDER BY day
                     RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS INT) AS agencies,
    MIN(CASE WHEN is_marker = 0 THEN day END) OVER (PARTITION BY child_id) AS first_day
    {", " + ", ".join(window_sums) if window_sums else ""}
  FROM harm_timeline t
) w WHERE is_marker = 1"""

    # The base day of the exponent is the child's first incident day (as in engine.py).
    two_one = "CAST(1 AS DOUBLE)"
    multiplier = (
        f"CASE WHEN agencies <= 1 THEN {two_one} ELSE LEAST(CAST({tri.max_multiplier!r} AS DOUBLE), "
        f"{two_one} + CAST({tri.credit_per_extra_agency!r} AS DOUBLE) * (agencies - 1)) END"
    )
    pattern_columns = []
    for position, pattern in enumerate(model.alerts.patterns):
        condition = pattern.rule
        if isinstance(condition, CountWithin):
            col = rules.count_column(condition.codes, condition.days)
            holds, count = f"{col} >= {condition.min_count}", col
        elif isinstance(condition, CodeWithOtherConcern):
            col = rules.count_column(condition.codes, condition.days)
            holds = f"{col} > 0 AND concerns_{condition.days} - {col} > 0"
            count = col
        elif isinstance(condition, CodesTogether):
            first = rules.count_column(condition.first, condition.days)
            second = rules.count_column(condition.second, condition.days)
            holds, count = f"{first} > 0 AND {second} > 0", first
        else:
            index = [k for k, _ in rules.relapse_rules].index(pattern.kind)
            holds = f"relapses{index} >= {condition.min_count}"
            count = f"relapses{index}"
        pattern_columns.append(
            f"CASE WHEN {holds} THEN 1 ELSE 0 END AS p{position}, {count} AS c{position}"
        )
    statements["harm_marker_score"] = f"""
SELECT child_id, eval_day, phase, agencies,
  CASE WHEN weighted_sum = 0.0 THEN 0.0
       ELSE weighted_sum * POWER({two}, -(day - first_day) / {h}.0) END AS concern_points,
  CASE WHEN weighted_sum = 0.0 THEN 0.0
       ELSE (weighted_sum * POWER({two}, -(day - first_day) / {h}.0)) * ({multiplier}) END AS score,
  {multiplier} AS multiplier,
  strength_sum * POWER({two}, -(day - first_day) / {h}.0) AS strength_weight
  {", " + ", ".join(pattern_columns) if pattern_columns else ""}
FROM harm_marker"""

    pivot = [
        "MAX(CASE WHEN phase = 1 THEN score END) AS score",
        "MAX(CASE WHEN phase = 0 THEN score END) AS pre_score",
    ]
    for position in range(len(model.alerts.patterns)):
        pivot.append(f"MAX(CASE WHEN phase = 1 THEN p{position} END) AS p{position}")
        pivot.append(f"MAX(CASE WHEN phase = 0 THEN p{position} END) AS pre_p{position}")
        pivot.append(f"MAX(CASE WHEN phase = 1 THEN c{position} END) AS c{position}")
    threshold = model.alerts.threshold
    statements["harm_eval_day"] = f"""
SELECT e.*,
  SUM(CASE WHEN pre_score < {threshold.reset_below!r} - {TOLERANCE!r} THEN 1 ELSE 0 END)
    OVER (PARTITION BY child_id ORDER BY eval_day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    AS episode
FROM (SELECT child_id, eval_day, {", ".join(pivot)}
      FROM harm_marker_score WHERE phase < 2 GROUP BY child_id, eval_day) e"""

    alert_selects = [
        f"""
SELECT child_id, eval_day AS day, '{THRESHOLD_KIND}' AS kind, score, 0 AS n
FROM (
  SELECT child_id, eval_day, score, hit,
    SUM(hit) OVER (PARTITION BY child_id, episode ORDER BY eval_day
                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS hits
  FROM (SELECT child_id, eval_day, score, episode,
          CASE WHEN score >= {threshold.score!r} - {TOLERANCE!r} THEN 1 ELSE 0 END AS hit
        FROM harm_eval_day) h
) x WHERE hit = 1 AND hits = 1"""
    ]
    for position, pattern in enumerate(model.alerts.patterns):
        alert_selects.append(
            f"""
SELECT child_id, eval_day, '{pattern.kind}', score, c{position}
FROM harm_eval_day WHERE p{position} = 1 AND pre_p{position} = 0"""
        )
    for serious in model.alerts.serious_alone:
        young = serious.young_child
        young_sql = (
            f" OR ({_in('i.code', young.codes)} AND i.birth_day IS NOT NULL "
            f"AND i.day - i.birth_day < {young.age_under_days})"
            if young
            else ""
        )
        alert_selects.append(
            f"""
SELECT DISTINCT i.child_id, i.day, '{serious.kind}', d.score, 0
FROM harm_incident i JOIN harm_eval_day d ON i.child_id = d.child_id AND i.day = d.eval_day
WHERE {_in("i.code", serious.codes)}{young_sql}"""
        )
    statements["harm_raised_alert"] = " UNION ALL ".join(alert_selects)

    statements["harm_score_as_of"] = """
SELECT child_id, score, concern_points, agencies, multiplier, strength_weight
FROM harm_marker_score WHERE phase = 2"""
    return statements


def _evidence_sql(model: HarmModel) -> str:
    """Which events stand behind each raised alert (the alerts are few; this is a small join)."""
    selects = [
        f"""
SELECT a.child_id, a.kind, a.day, e.ref
FROM harm_raised_alert a
JOIN harm_scored_incident i ON i.child_id = a.child_id
JOIN harm_incident_events e ON e.child_id = i.child_id AND e.code = i.code
                          AND e.incident_no = i.incident_no
WHERE a.kind = '{THRESHOLD_KIND}' AND i.kind = 'concern' AND i.points > 0
  AND i.day BETWEEN a.day - {model.decay.horizon_days} AND a.day"""
    ]
    for pattern in model.alerts.patterns:
        rule = pattern.rule
        window = f"i.day BETWEEN a.day - {rule.days} AND a.day"
        if isinstance(rule, CountWithin):
            chosen = f"{window} AND {_in('i.code', rule.codes)}"
        elif isinstance(rule, CodeWithOtherConcern):
            chosen = f"{window} AND i.kind = 'concern'"
        elif isinstance(rule, CodesTogether):
            chosen = f"{window} AND {_in('i.code', rule.first + rule.second)}"
        else:
            # The improvement behind a relapse in the window may itself precede the window.
            index = [
                p.kind for p in model.alerts.patterns if isinstance(p.rule, RelapseCycles)
            ].index(pattern.kind)
            chosen = (
                f"(({window} AND i.kind = 'concern' AND i.severity >= {rule.relapse_min_severity} AND "
                f"EXISTS (SELECT 1 FROM harm_child_day_relapse r WHERE r.child_id = i.child_id "
                f"AND r.day = i.day AND r.relapse{index} = 1)) OR ({_in('i.code', rule.improvement_codes)} "
                f"AND EXISTS (SELECT 1 FROM harm_child_day_relapse r WHERE r.child_id = i.child_id "
                f"AND r.relapse{index} = 1 AND r.last_imp{index} = i.day "
                f"AND r.day BETWEEN a.day - {rule.days} AND a.day)))"
            )
        selects.append(
            f"""
SELECT a.child_id, a.kind, a.day, e.ref
FROM harm_raised_alert a
JOIN harm_scored_incident i ON i.child_id = a.child_id
JOIN harm_incident_events e ON e.child_id = i.child_id AND e.code = i.code
                          AND e.incident_no = i.incident_no
WHERE a.kind = '{pattern.kind}' AND i.day <= a.day AND {chosen}"""
        )
    for serious in model.alerts.serious_alone:
        young = serious.young_child
        young_sql = (
            f" OR ({_in('i.code', young.codes)} AND i.birth_day IS NOT NULL "
            f"AND i.day - i.birth_day < {young.age_under_days})"
            if young
            else ""
        )
        selects.append(
            f"""
SELECT a.child_id, a.kind, a.day, e.ref
FROM harm_raised_alert a
JOIN harm_scored_incident i ON i.child_id = a.child_id AND i.day = a.day
JOIN harm_incident_events e ON e.child_id = i.child_id AND e.code = i.code
                          AND e.incident_no = i.incident_no
WHERE a.kind = '{serious.kind}' AND ({_in("i.code", serious.codes)}{young_sql})"""
        )
    return " UNION ".join(selects)


def codes_table(taxonomy: Taxonomy) -> pa.Table:
    return pa.table(
        {
            "code": [c.code for c in taxonomy.codes],
            "kind": [c.kind.value for c in taxonomy.codes],
            "default_severity": pa.array([c.default_severity for c in taxonomy.codes], pa.int32()),
        }
    )


def _finish(
    model: HarmModel,
    as_of: dt.date,
    scores: pa.Table,
    raised: list[tuple[Any, ...]],
    evidence: list[tuple[Any, ...]],
    threshold_counts: dict[tuple[int, str, int], tuple[int, int]],
) -> BatchResult:
    refs: dict[tuple[int, str, int], set[int]] = defaultdict(set)
    for child_id, kind, day, ref in evidence:
        refs[(int(child_id), str(kind), int(day))].add(int(ref))
    patterns = {p.kind: p for p in model.alerts.patterns}
    serious = {s.kind: s.reason for s in model.alerts.serious_alone}
    alerts = []
    for child_id, day, kind, score, count in raised:
        key = (int(child_id), str(kind), int(day))
        rounded = round(float(score), SCORE_DECIMALS)
        if kind == THRESHOLD_KIND:
            incidents, agencies = threshold_counts[key]
            reason = threshold_reason(
                score=rounded,
                threshold=model.alerts.threshold.score,
                incident_count=incidents,
                agency_count=agencies,
                model=model,
            )
        elif kind in patterns:
            reason = pattern_reason(patterns[kind], int(count))
        else:
            reason = serious[kind]
        alerts.append(
            BatchAlert(
                child_id=key[0],
                kind=key[1],
                day=from_epoch_day(key[2]),
                score=rounded,
                reason=reason,
                evidence=tuple(sorted(refs[key])),
            )
        )
    alerts.sort(key=lambda a: (a.child_id, a.day, a.kind))
    return BatchResult(as_of=as_of, scores=scores, alerts=alerts)


_THRESHOLD_COUNTS_SQL = f"""
SELECT a.child_id, a.kind, a.day,
  COUNT(DISTINCT CASE WHEN i.kind = 'concern' AND i.points > 0 THEN i.code || ':' || CAST(i.incident_no AS VARCHAR) END),
  MAX(m.agencies)
FROM harm_raised_alert a
JOIN harm_scored_incident i ON i.child_id = a.child_id AND i.day <= a.day
JOIN harm_marker_score m ON m.child_id = a.child_id AND m.eval_day = a.day AND m.phase = 1
WHERE a.kind = '{THRESHOLD_KIND}' AND i.day >= a.day - {{horizon}}
GROUP BY a.child_id, a.kind, a.day"""


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
        for name, sql in population_sql(model, epoch_day(as_of)).items():
            materialise = name in {
                "harm_incident_events",
                "harm_incident",
                "harm_scored_incident",
                "harm_marker_score",
                "harm_eval_day",
                "harm_raised_alert",
                "harm_child_day_relapse",
            }
            kind = "TEMP TABLE" if materialise else "TEMP VIEW"
            connection.execute(f"CREATE {kind} {name} AS {sql}")
        scores = connection.sql("SELECT * FROM harm_score_as_of ORDER BY child_id").to_arrow_table()
        raised = connection.execute("SELECT * FROM harm_raised_alert").fetchall()
        evidence = connection.execute(_evidence_sql(model)).fetchall()
        counts = connection.execute(
            _THRESHOLD_COUNTS_SQL.format(horizon=model.decay.horizon_days)
        ).fetchall()
    finally:
        connection.close()
    threshold_counts = {(int(c), str(k), int(d)): (int(n), int(a)) for c, k, d, n, a in counts}
    return _finish(model, as_of, scores, raised, evidence, threshold_counts)


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
    for name, sql in population_sql(model, epoch_day(as_of)).items():
        spark.sql(sql).createOrReplaceTempView(name)
    scores_frame = spark.sql("SELECT * FROM harm_score_as_of ORDER BY child_id").toPandas()
    raised = [tuple(r) for r in spark.sql("SELECT * FROM harm_raised_alert").collect()]
    evidence = [tuple(r) for r in spark.sql(_evidence_sql(model)).collect()]
    counts = spark.sql(
        _THRESHOLD_COUNTS_SQL.replace("AS VARCHAR", "AS STRING").format(
            horizon=model.decay.horizon_days
        )
    ).collect()
    threshold_counts = {(int(c), str(k), int(d)): (int(n), int(a)) for c, k, d, n, a in counts}
    return _finish(
        model, as_of, pa.Table.from_pandas(scores_frame), raised, evidence, threshold_counts
    )
