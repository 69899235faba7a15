"""Train and run the splink model on DuckDB (one machine) or Spark (local or a cluster).

The engine only sees prepared columns (``preparation.prepare``) and returns polars frames, so
everything above it is the same whichever engine ran.
"""

from __future__ import annotations

import copy
import enum
import logging
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Literal

import polars as pl
from splink import DuckDBAPI, Linker, block_on

from fullpicture.linkage.comparisons import (
    COMPARISON_FIELDS,
    TERM_FREQUENCY_COLUMNS,
    linkage_settings,
)
from fullpicture.linkage.rules import BudgetedBlocking, LinkageRules

logger = logging.getLogger(__name__)


class Engine(enum.StrEnum):
    DUCKDB = "duckdb"
    SPARK = "spark"


class LinkageInputError(ValueError):
    """Records a user supplied cannot be linked as given; the message says which and why."""


@lru_cache(maxsize=1)
def spark_session() -> Any:
    """A small local Spark session: the same SQL as on a cluster, sized for a shared 2-core box."""
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    os.environ.setdefault("PYSPARK_PYTHON", "python3")
    return (
        SparkSession.builder.master(os.environ.get("FULLPICTURE_SPARK_MASTER", "local[2]"))
        .appName("fullpicture-linkage")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.driver.memory", "1g")
        .config("spark.ui.enabled", "false")
        # splink's string-similarity functions (Jaro-Winkler, Damerau-Levenshtein) for Spark SQL.
        .config("spark.jars", similarity_jar_location())
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )


def _database_api(engine: Engine) -> Any:
    if engine is Engine.SPARK:
        from splink import SparkAPI

        spark = spark_session()
        spark.sparkContext.setCheckpointDir("/tmp/fullpicture-spark-checkpoints")
        return SparkAPI(  # type: ignore[no-untyped-call]
            spark_session=spark, num_partitions_on_repartition=1, break_lineage_method="persist"
        )
    return DuckDBAPI()


class LinkageModelNotTrained(LinkageInputError):
    """Training could not estimate a comparison whose fields hold values: the model would score
    with made-up starting values, so it is refused and the message says which and why."""


def _linker(
    prepared: pl.DataFrame,
    settings: Any,
    engine: Engine,
    *,
    term_frequencies: dict[str, dict[str, float]] | None = None,
) -> Linker:
    db_api = _database_api(engine)
    table: Any = prepared.to_pandas() if engine is Engine.SPARK else prepared.to_arrow()
    linker = Linker(
        db_api.register(table), settings, log_level=logging.ERROR, validate_settings=False
    )
    _register_term_frequencies(linker, db_api, engine, term_frequencies)
    return linker


def _register_term_frequencies(
    linker: Linker,
    db_api: Any,
    engine: Engine,
    term_frequencies: dict[str, dict[str, float]] | None,
) -> None:
    """Hand splink the model's saved name frequencies, so it never recomputes them from
    whatever records happen to be scored (a handful, in an incremental run)."""
    for column in TERM_FREQUENCY_COLUMNS:
        frequencies = (term_frequencies or {}).get(column) or {"": 1.0}
        lookup = pl.DataFrame(
            {column: list(frequencies), f"tf_{column}": list(frequencies.values())},
            schema={column: pl.String, f"tf_{column}": pl.Float64},
        )
        table: Any = lookup.to_pandas() if engine is Engine.SPARK else lookup.to_arrow()
        linker.table_management.register_term_frequency_lookup(db_api.register(table), column)


def term_frequencies(prepared: pl.DataFrame) -> dict[str, dict[str, float]]:
    """Each name's share of the records that hold a name (rounded: it is saved in the model)."""
    frequencies: dict[str, dict[str, float]] = {}
    for column in TERM_FREQUENCY_COLUMNS:
        counts = prepared[column].drop_nulls().value_counts()
        total = int(counts["count"].sum()) or 1
        frequencies[column] = {
            value: round(count / total, 8) for value, count in counts.iter_rows()
        }
    return frequencies


# Every Linker here is built with validate_settings=False: splink's settings validation only
# logs warnings, which _quiet_splink drops, and it parses every comparison's SQL with sqlglot
# (most of a second per Linker; an incremental link builds one per record).
def _quiet_splink() -> None:
    for name in ("splink", "py4j"):
        logging.getLogger(name).setLevel(logging.ERROR)


def field_shares(prepared: pl.DataFrame) -> dict[str, float]:
    """The share of records holding a value, for every prepared column."""
    if prepared.is_empty():
        return {column: 0.0 for column in prepared.columns}
    counts = prepared.select(pl.all().is_not_null().sum()).row(0, named=True)
    return {column: counts[column] / prepared.height for column in prepared.columns}


def comparisons_with_data(prepared: pl.DataFrame) -> list[str]:
    """The comparisons whose input fields hold at least one value in these records."""
    shares = field_shares(prepared)
    return [
        name
        for name, fields in COMPARISON_FIELDS.items()
        if any(shares.get(field, 0.0) > 0 for field in fields)
    ]


def _blocked_columns(columns: list[str]) -> list[str]:
    """The prepared columns a blocking pass names (``substr(x, …)`` blocks on ``x``)."""
    names = []
    for column in columns:
        inner = column.split("(", 1)[1].split(",", 1)[0] if "(" in column else column
        names.append(inner.strip())
    return names


def _trained_state(linker: Linker) -> dict[str, dict[str, Any]]:
    """Per comparison: which levels EM estimated m for, and which kept their starting value."""
    state: dict[str, dict[str, Any]] = {}
    for comparison in linker._settings_obj.comparisons:
        levels = [lv for lv in comparison.comparison_levels if not lv.is_null_level]
        trained = [lv.label_for_charts for lv in levels if lv._has_estimated_m_values]
        untrained = [lv.label_for_charts for lv in levels if not lv._has_estimated_m_values]
        no_u = [lv.label_for_charts for lv in levels if not lv._has_estimated_u_values]
        state[comparison.output_column_name] = {
            "m_trained_levels": trained,
            "m_untrained_levels": untrained,
            "u_untrained_levels": no_u,
        }
    return state


@contextmanager
def _one_thread(linker: Linker) -> Iterator[None]:
    """Run the enclosed training steps on one DuckDB thread.

    EM sums floating-point shares over the agreement patterns; with several threads DuckDB
    adds them in whatever order the threads finish, so two trainings of the same file could
    differ in the last bit of an m probability (seen in CI under load). On one thread the
    order, and so the model, is the same every time. Scoring keeps every thread.
    """
    db_api = linker._db_api
    if not isinstance(db_api, DuckDBAPI):
        yield
        return
    connection = db_api._con
    # fetchall: DuckDB refuses other work on a connection while a result is half read.
    ((threads,),) = connection.execute("SELECT current_setting('threads')").fetchall()
    connection.execute("SET threads = 1")
    try:
        yield
    finally:
        connection.execute(f"SET threads = {int(threads)}")


def train_model(
    prepared: pl.DataFrame,
    *,
    rules: LinkageRules,
    engine: Engine = Engine.DUCKDB,
    when_untrained: Literal["refuse", "neutral"] = "refuse",
) -> dict[str, Any]:
    """Estimate the model on the records themselves: u from (seeded) random pairs, m by EM on
    blocking passes chosen from the columns that hold values, the prior from deterministic
    rules. Returns splink's model JSON, with ``fullpicture_training`` saying what was trained,
    how, and what was not.

    Raises ``LinkageModelNotTrained`` when a comparison whose fields hold values got no EM
    estimate at all: such a model would score with splink's starting values, silently. With
    ``when_untrained="neutral"`` (the database linkage, which must still link an agency's few
    records) such a comparison is scored as neutral instead, adding nothing, and the training
    record lists it under ``untrained_with_data`` so the model report says so.
    """
    _quiet_splink()
    if prepared.height < 2:
        raise LinkageInputError("at least two records are needed to train a linkage model")
    training = rules.training
    shares = field_shares(prepared)
    with_data = comparisons_with_data(prepared)
    frequencies = term_frequencies(prepared)
    linker = _linker(
        prepared,
        linkage_settings(rules.comparison_cutoffs),
        engine,
        term_frequencies=frequencies,
    )
    prior_rules: list[Any] = [
        block_on(*columns)
        for columns in training.prior_rules
        if all(shares.get(c, 0.0) >= training.min_field_share for c in _blocked_columns(columns))
    ]
    prior_estimated = False
    if prior_rules:
        try:
            linker.training.estimate_probability_two_random_records_match(
                prior_rules, recall=training.prior_recall
            )
            prior_estimated = True
        except Exception as exc:  # splink refuses when no pair meets the rules
            logger.info("prior not estimated (%s); using the default", exc)
    linker.training.estimate_u_using_random_sampling(
        max_pairs=training.u_max_pairs, seed=training.u_seed
    )
    passes: list[dict[str, Any]] = []

    def untrained_with_data() -> list[str]:
        state = _trained_state(linker)
        return [name for name in with_data if not state[name]["m_trained_levels"]]

    candidates = [(columns, False) for columns in training.em_blocking_passes] + [
        (columns, True) for columns in training.em_fallback_passes
    ]
    for columns, fallback in candidates:
        record: dict[str, Any] = {"blocked_on": columns, "fallback": fallback}
        passes.append(record)
        if fallback and not untrained_with_data():
            record["skipped"] = "every comparison with data was already trained"
            continue
        empty = [
            c for c in _blocked_columns(columns) if shares.get(c, 0.0) < training.min_field_share
        ]
        if empty:
            record["skipped"] = (
                f"{', '.join(empty)} holds a value in under {training.min_field_share:.0%} "
                "of records"
            )
            continue
        # A failed pass can leave splink's settings half-updated (comparisons dropped), so
        # each pass starts from a copy and a failure puts the copy back.
        before = copy.deepcopy(linker._settings_obj)
        try:
            with _one_thread(linker):
                session = linker.training.estimate_parameters_using_expectation_maximisation(
                    block_on(*columns), estimate_without_term_frequencies=True
                )
        except Exception as exc:  # no pairs in the block: this pass teaches nothing
            linker._settings_obj = before
            record["skipped"] = f"EM could not run: {str(exc).splitlines()[0]}"
            continue
        history = session._core_model_settings_history
        iterations = len(history) - 1
        record["iterations"] = iterations
        record["converged"] = iterations < training.max_em_iterations
        record["trained"] = [
            c.output_column_name
            for c in session.core_model_settings.comparisons
            if c.output_column_name in with_data
        ]
        record["estimated_match_share"] = round(
            float(history[-1].probability_two_random_records_match), 6
        )
    prior_recall = _prior_recall_from_model(linker, training.prior_rules, shares)
    if prior_rules and prior_recall is not None:
        # Again, with the rules' recall as the trained model estimates it, not as assumed.
        try:
            linker.training.estimate_probability_two_random_records_match(
                prior_rules, recall=prior_recall
            )
            prior_estimated = True
        except Exception as exc:  # splink refuses when no pair meets the rules
            logger.info("prior not re-estimated (%s); keeping the first estimate", exc)
    state = _trained_state(linker)
    missing = untrained_with_data()
    if missing and when_untrained == "refuse":
        ran = [p["blocked_on"] for p in passes if "iterations" in p]
        raise LinkageModelNotTrained(
            "the model could not be trained for "
            + ", ".join(f"{name} ({', '.join(COMPARISON_FIELDS[name])})" for name in missing)
            + f": no EM pass could estimate it (passes that ran: {ran or 'none'}). "
            "These fields hold values, so scoring them with untrained starting values would "
            "be guesswork; nothing was linked. Give more records, or a saved model (--model)."
        )
    model: dict[str, Any] = linker.misc.save_model_to_json()
    bounded = bound_levels(
        _neutral_where_unobserved(model, state, [c for c in with_data if c not in missing]),
        m_floor=training.m_probability_floor,
        u_floor=1.0 / training.u_max_pairs,
    )
    bounded["fullpicture_term_frequencies"] = frequencies
    bounded["fullpicture_training"] = {
        "records": prepared.height,
        "field_shares": {
            field: round(shares.get(field, 0.0), 4)
            for fields in COMPARISON_FIELDS.values()
            for field in fields
            if field in shares
        },
        "comparisons_with_data": with_data,
        "prior_estimated": prior_estimated,
        "prior_recall_assumed": training.prior_recall,
        "prior_recall_from_model": (round(prior_recall, 4) if prior_recall is not None else None),
        "u_max_pairs": training.u_max_pairs,
        "u_seed": training.u_seed,
        "em_passes": passes,
        "levels": state,
        "untrained_with_data": missing,
    }
    return bounded


# The comparison whose "same value" level a prior rule's column agrees on.
_EXACT_COMPARISON = {
    "given_name": "given_name",
    "family_name": "family_name",
    "date_of_birth": "date_of_birth",
    "nhs_number": "nhs_number",
    "upn": "upn",
}


def _prior_recall_from_model(
    linker: Linker, rules: list[list[str]], shares: dict[str, float]
) -> float | None:
    """How many true pairs the prior's deterministic rules catch, by the trained model.

    The prior (the chance two random records are one person) is the count of pairs meeting the
    rules divided by the rules' recall. An assumed recall is right for one kind of file only:
    on a file without identifiers, where a duplicate's name or birth date is often mistyped,
    far fewer true pairs agree exactly on all three than on our own population, the prior
    comes out too low and every pair looks less likely than it is (FEBRL2: a prior of 6e-5
    against a true 1.5e-4). EM has estimated, among true pairs, how often each field agrees
    exactly (the m of its "same" level): a rule's recall is the product, over its columns, of
    that m and the chance both records hold the field; the rules together catch a pair that
    any one of them does. None when a rule's column has no trained "same" level (the assumed
    recall is kept)."""
    comparisons = {c.output_column_name: c for c in linker._settings_obj.comparisons}
    missed_by_all = 1.0
    counted = False
    for columns in rules:
        recall = 1.0
        for column in _blocked_columns(columns):
            share = shares.get(column, 0.0)
            if share <= 0.0:
                recall = 0.0
                break
            comparison = comparisons.get(_EXACT_COMPARISON.get(column, ""))
            if comparison is None:
                return None
            same = next(lv for lv in comparison.comparison_levels if not lv.is_null_level)
            if not same._has_estimated_m_values or same.m_probability is None:
                return None
            recall *= share * share * float(same.m_probability)
        missed_by_all *= 1.0 - recall
        counted = counted or recall > 0.0
    if not counted:
        return None
    return min(max(1.0 - missed_by_all, 0.01), 1.0)


def _neutral_where_unobserved(
    model: dict[str, Any], state: dict[str, dict[str, Any]], with_data: list[str]
) -> dict[str, Any]:
    """A level EM never saw among its pairs has no m estimate, only splink's starting value;
    against a tiny u that would read as strong evidence it never earned. Such a level is made
    neutral (m = u, weight 0) and the report lists it."""
    neutral = copy.deepcopy(model)
    for comparison in neutral["comparisons"]:
        untrained = set(state[comparison["output_column_name"]]["m_untrained_levels"])
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level") or level.get("label_for_charts") not in untrained:
                continue
            is_else = str(level.get("sql_condition", "")).strip().upper() == "ELSE"
            if is_else and comparison["output_column_name"] in with_data:
                # "Nothing agrees" unseen among EM's (mostly matching) pairs means it is rare
                # among matches: the m floor below keeps it strong evidence against, bounded.
                level["m_probability"] = 0.0
                continue
            level["fullpicture_untrained"] = True
    return neutral


def bound_levels(model: dict[str, Any], *, m_floor: float, u_floor: float) -> dict[str, Any]:
    """No single field may veto or prove a match on its own.

    EM on clean-looking data can learn that a disagreement "never" happens among true matches
    (m near 0), which makes one mistyped NHS number or sex outweigh everything else. A floor
    on m (and on u, for levels never seen among random pairs) keeps every level's weight
    finite; identifiers stay strong but not absolute (existing-systems §5).
    """
    bounded = copy.deepcopy(model)
    # On a tiny file the prior can come out as 0 or 1; keep it a probability odds can use.
    prior = float(bounded.get("probability_two_random_records_match") or 0.0001)
    bounded["probability_two_random_records_match"] = min(max(prior, 1e-9), 0.5)
    for comparison in bounded["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        for level in levels:
            if level.get("fullpicture_untrained"):
                level["m_probability"] = 0.0  # set to u below, outside the normalisation
            else:
                level["m_probability"] = max(level.get("m_probability") or 0.0, m_floor)
            level["u_probability"] = max(level.get("u_probability") or 0.0, u_floor)
        for key in ("m_probability", "u_probability"):
            total = sum(level[key] for level in levels)
            for level in levels:
                level[key] = level[key] / total if total else level[key]
        for level in levels:
            if level.get("fullpicture_untrained"):
                level["m_probability"] = level["u_probability"]  # weight 0: no evidence
    return bounded


class LinkageModelMismatch(ValueError):
    """A saved model was trained with comparisons other than the ones in this code."""


_DIALECTS = {Engine.DUCKDB: "duckdb", Engine.SPARK: "spark"}


def _settings_for(model: dict[str, Any], engine: Engine) -> dict[str, Any]:
    """The model's trained parameters on this code's comparisons, in the engine's SQL.

    A saved model carries SQL in the dialect it was trained on; rebuilding the comparisons for
    the target engine and copying the trained m and u values across lets a model trained on
    DuckDB score on Spark (and the reverse) with the same weights.
    """
    settings: dict[str, Any] = linkage_settings().create_settings_dict(_DIALECTS[engine])
    trained = {c["output_column_name"]: c for c in model["comparisons"]}
    for comparison in settings["comparisons"]:
        name = comparison["output_column_name"]
        source = trained.get(name)
        labels = [lv.get("label_for_charts") for lv in comparison["comparison_levels"]]
        if source is None:
            raise LinkageModelMismatch(
                f"the saved model has no {name!r} comparison (it was trained by an earlier "
                "version, before this one weighed it); retrain (fullpicture link --retrain, "
                "or without --model)"
            )
        if labels != [lv.get("label_for_charts") for lv in source["comparison_levels"]]:
            raise LinkageModelMismatch(
                f"the saved model's {name!r} comparison differs from this version's; "
                "retrain (fullpicture link --retrain, or without --model)"
            )
        for level, trained_level in zip(
            comparison["comparison_levels"], source["comparison_levels"], strict=True
        ):
            for key in ("m_probability", "u_probability"):
                if trained_level.get(key) is not None:
                    level[key] = trained_level[key]
    settings["probability_two_random_records_match"] = model["probability_two_random_records_match"]
    settings["linker_uid"] = None
    # The comparison levels (gamma columns) are the evidence each link keeps.
    settings["retain_intermediate_calculation_columns"] = True
    return settings


def blocked_pair_count(prepared: pl.DataFrame, columns: list[str]) -> int:
    """How many pairs an exact-match blocking rule on ``columns`` makes (nulls never match)."""
    keyed = prepared.select(columns).drop_nulls()
    if keyed.is_empty():
        return 0
    sizes = keyed.group_by(columns).len()["len"]
    return int((sizes * (sizes - 1) // 2).sum())


def affordable_blocking(prepared: pl.DataFrame, budget: BudgetedBlocking) -> list[list[str]]:
    """The budgeted rules that make few enough pairs on these records to be scored."""
    return [
        columns
        for columns in budget.rules
        if blocked_pair_count(prepared, columns) <= budget.max_pairs
    ]


def predict_pairs(
    prepared: pl.DataFrame,
    *,
    model: dict[str, Any],
    minimum_match_weight: float,
    engine: Engine = Engine.DUCKDB,
    extra_blocking: list[list[str]] | None = None,
) -> pl.DataFrame:
    """Score every blocked pair within the records; keep pairs at or above the minimum weight.

    Columns: unique_id_l, unique_id_r (ordered l < r), match_weight, match_probability and one
    ``gamma_<comparison>`` level per comparison.
    """
    _quiet_splink()
    if prepared.height < 2:
        return empty_pairs(model)
    settings = _settings_for(model, engine)
    for columns in extra_blocking or []:
        settings["blocking_rules_to_generate_predictions"].append(
            block_on(*columns).create_blocking_rule_dict(_DIALECTS[engine])
        )
    linker = _linker(
        prepared,
        settings,
        engine,
        term_frequencies=model.get("fullpicture_term_frequencies"),
    )
    predictions = linker.inference.predict(
        threshold_match_weight=minimum_match_weight, warning_mode="never"
    )
    return _normalise_pairs(_to_polars(predictions), model)


def predict_between(
    new: pl.DataFrame,
    existing: pl.DataFrame,
    *,
    model: dict[str, Any],
    minimum_match_weight: float,
    extra_blocking: list[list[str]] | None = None,
) -> pl.DataFrame:
    """Score new records against existing ones and among themselves, with the saved model and
    the same blocking rules as a full run, so a record added later gets the pairs it would
    have had in a batch. ``extra_blocking`` (the budgeted rules) is always affordable here:
    a few new records against their candidates."""
    _quiet_splink()
    if new.is_empty():
        return empty_pairs(model)
    db_api = DuckDBAPI()
    settings = _settings_for(model, Engine.DUCKDB)
    for columns in extra_blocking or []:
        settings["blocking_rules_to_generate_predictions"].append(
            block_on(*columns).create_blocking_rule_dict("duckdb")
        )
    linker = Linker(
        db_api.register(new.to_arrow(), table_name="fp_new_records"),
        settings,
        log_level=logging.ERROR,
        validate_settings=False,
    )
    _register_term_frequencies(
        linker, db_api, Engine.DUCKDB, model.get("fullpicture_term_frequencies")
    )
    frames = []
    if not existing.is_empty():
        existing_df = db_api.register(existing.to_arrow(), table_name="fp_existing_records")
        new_df = db_api.register(new.to_arrow(), table_name="fp_new_records_right")
        between = linker.inference.predict_between(
            existing_df,
            new_df,
            threshold_match_weight=minimum_match_weight,
            warning_mode="never",
            link_type="link_only",
        )
        frames.append(_to_polars(between))
    if new.height > 1:
        within_df = db_api.register(new.to_arrow(), table_name="fp_new_records_within")
        within = linker.inference.predict_within(
            within_df, threshold_match_weight=minimum_match_weight, warning_mode="never"
        )
        frames.append(_to_polars(within))
    if not frames:
        return empty_pairs(model)
    return _normalise_pairs(pl.concat(frames, how="diagonal"), model)


def score_pair(left: pl.DataFrame, right: pl.DataFrame, *, model: dict[str, Any]) -> dict[str, Any]:
    """Score one prepared record against another, whatever the blocking rules would say."""
    _quiet_splink()
    db_api = DuckDBAPI()
    linker = Linker(
        db_api.register(left.to_arrow(), table_name="fp_explain_left"),
        _settings_for(model, Engine.DUCKDB),
        log_level=logging.ERROR,
        validate_settings=False,
    )
    _register_term_frequencies(
        linker, db_api, Engine.DUCKDB, model.get("fullpicture_term_frequencies")
    )
    scored = linker.inference.score_pairs(
        db_api.register(left.to_arrow(), table_name="fp_explain_l"),
        db_api.register(right.to_arrow(), table_name="fp_explain_r"),
    )
    frame = _to_polars(scored)
    row: dict[str, Any] = _normalise_pairs(frame, model).row(0, named=True)
    return row


def _to_polars(splink_frame: Any) -> pl.DataFrame:
    return _as_frame(pl.from_arrow(splink_frame.as_pyarrow_table()))


def _as_frame(value: Any) -> pl.DataFrame:
    if isinstance(value, pl.DataFrame):
        return value
    raise TypeError(f"expected a polars DataFrame, got {type(value).__name__}")


def comparison_names(model: dict[str, Any]) -> list[str]:
    return [comparison["output_column_name"] for comparison in model["comparisons"]]


def level_weights(model: dict[str, Any]) -> dict[str, list[tuple[int, str, float]]]:
    """Per comparison, each level as (comparison vector value, label, match weight)."""
    table: dict[str, list[tuple[int, str, float]]] = {}
    for comparison in model["comparisons"]:
        levels = comparison["comparison_levels"]
        non_null = [level for level in levels if not level.get("is_null_level")]
        rows: list[tuple[int, str, float]] = []
        value = len(non_null) - 1
        for level in levels:
            label = level.get("label_for_charts") or level["sql_condition"]
            if level.get("is_null_level"):
                rows.append((-1, label, 0.0))
                continue
            m, u = level.get("m_probability"), level.get("u_probability")
            weight = math.log2(m / u) if m and u else 0.0
            rows.append((value, label, weight))
            value -= 1
        table[comparison["output_column_name"]] = rows
    return table


def empty_pairs(model: dict[str, Any]) -> pl.DataFrame:
    schema: dict[str, Any] = {
        "unique_id_l": pl.String,
        "unique_id_r": pl.String,
        "match_weight": pl.Float64,
        "match_probability": pl.Float64,
    }
    for name in comparison_names(model):
        schema[f"gamma_{name}"] = pl.Int8
        schema[f"mw_{name}"] = pl.Float64
    return pl.DataFrame(schema=schema)


def _gamma_from_weight(column: str, levels: list[tuple[int, str, float]]) -> pl.Expr:
    """splink reports each comparison's weight; the level is the one with that weight (the
    most specific one when two levels weigh the same)."""
    expr: pl.Expr = pl.lit(None, dtype=pl.Int8)
    for value, _label, weight in reversed(levels):
        expr = (
            pl.when((pl.col(column) - weight).abs() < 1e-6)
            .then(pl.lit(value, dtype=pl.Int8))
            .otherwise(expr)
        )
    return expr


def _normalise_pairs(raw: Any, model: dict[str, Any]) -> pl.DataFrame:
    frame = _as_frame(raw)
    weights = level_weights(model)
    swap = pl.col("unique_id_l") > pl.col("unique_id_r")
    columns: list[pl.Expr] = []
    for name, levels in weights.items():
        # splink's own comparison vector value when it kept it (two levels can weigh the
        # same, e.g. two that training never saw); else read back from the weight.
        gamma = (
            pl.col(f"gamma_{name}").cast(pl.Int8)
            if f"gamma_{name}" in frame.columns
            else _gamma_from_weight(f"mw_{name}", levels)
        )
        columns.append(gamma.alias(f"gamma_{name}"))
        weight = pl.col(f"mw_{name}").cast(pl.Float64)
        if f"mw_tf_adj_{name}" in frame.columns:
            # A comparison's weight includes how common the agreeing name is, so the
            # comparison weights still add up to the pair's match weight.
            weight = weight + pl.col(f"mw_tf_adj_{name}").cast(pl.Float64).fill_null(0.0)
        columns.append(weight.alias(f"mw_{name}"))
    return (
        frame.select(
            pl.when(swap).then("unique_id_r").otherwise("unique_id_l").alias("unique_id_l"),
            pl.when(swap).then("unique_id_l").otherwise("unique_id_r").alias("unique_id_r"),
            pl.col("match_weight").cast(pl.Float64),
            pl.col("match_probability").cast(pl.Float64),
            *columns,
        )
        .unique(subset=["unique_id_l", "unique_id_r"], keep="first")
        .sort(["unique_id_l", "unique_id_r"])
    )


def probability_from_weight(match_weight: float) -> float:
    return 1.0 / (1.0 + math.pow(2.0, -match_weight))


def probability_to_weight(probability: float) -> float:
    """A probability as a match weight (log2 of the odds)."""
    return math.log2(probability / (1.0 - probability))


def charting_linker(prepared: pl.DataFrame, model: dict[str, Any]) -> Linker:
    """A DuckDB linker holding the trained model, for splink's charts."""
    _quiet_splink()
    settings = _settings_for(model, Engine.DUCKDB)
    settings["retain_matching_columns"] = True  # the waterfall shows each record's values
    return _linker(
        prepared,
        settings,
        Engine.DUCKDB,
        term_frequencies=model.get("fullpicture_term_frequencies"),
    )
