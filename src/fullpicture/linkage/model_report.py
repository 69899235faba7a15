"""What a linkage model learned, what it could not, and how its scores fall around the threshold.

Built from the model JSON (with the ``fullpicture_training`` record ``engine.train_model``
writes) and the scored pairs of a run; the command line prints it, ``docs/linkage.md`` says how
to read it. ``write_charts`` saves splink's own charts beside a run's output.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import polars as pl

from fullpicture.linkage import engine as linkage_engine
from fullpicture.linkage.comparisons import COMPARISON_FIELDS
from fullpicture.linkage.relatives import (
    relative_names,
    relatives_step,
    second_pass_words,
    was_read,
)
from fullpicture.linkage.rules import LinkageRules
from fullpicture.linkage.threshold import LinkThreshold


@dataclass(frozen=True)
class LevelRow:
    label: str
    m_probability: float
    u_probability: float
    match_weight: float
    trained: bool


@dataclass(frozen=True)
class ComparisonRow:
    name: str
    fields: tuple[str, ...]
    field_share: float | None  # share of records holding a value (None: not recorded)
    trained: bool
    levels: list[LevelRow]


@dataclass(frozen=True)
class WeightBin:
    lower: float
    upper: float
    pairs: int


@dataclass
class ModelReport:
    prior_match_weight: float
    comparisons: list[ComparisonRow]
    em_passes: list[dict[str, Any]]
    threshold: float
    review_lower: float
    # The share of true pairs the prior's exact-match rules catch, as the trained model
    # estimates it (None: the assumed share was used, or an older model).
    prior_rules_recall: float | None = None
    # How the threshold was set (chosen from the model, or given) and the model's estimate.
    link_threshold: LinkThreshold | None = None
    histogram: list[WeightBin] = field(default_factory=list)
    pairs_linked: int = 0
    pairs_for_review: int = 0
    warnings: list[str] = field(default_factory=list)


def _weight(m: float | None, u: float | None) -> float:
    return math.log2(m / u) if m and u else 0.0


def weight_histogram(weights: pl.Series, *, width: float = 2.0) -> list[WeightBin]:
    """Scored pairs counted in bins of ``width`` match weight."""
    values = weights.drop_nulls()
    if values.is_empty():
        return []
    low = math.floor(float(values.min()) / width) * width  # type: ignore[arg-type]
    high = math.floor(float(values.max()) / width) * width + width  # type: ignore[arg-type]
    counts = (
        pl.DataFrame({"w": values})
        .with_columns(bin=((pl.col("w") - low) / width).floor().cast(pl.Int64))
        .group_by("bin")
        .len()
    )
    by_bin = dict(counts.iter_rows())
    bins = round((high - low) / width)
    return [
        WeightBin(low + i * width, low + (i + 1) * width, int(by_bin.get(i, 0)))
        for i in range(bins)
    ]


def build_report(
    model: dict[str, Any],
    *,
    rules: LinkageRules,
    pairs: pl.DataFrame | None = None,
    threshold: LinkThreshold | None = None,
) -> ModelReport:
    training = model.get("fullpicture_training") or {}
    shares: dict[str, float] = training.get("field_shares", {})
    states: dict[str, dict[str, Any]] = training.get("levels", {})
    with_data = set(training.get("comparisons_with_data", COMPARISON_FIELDS))
    warnings: list[str] = []
    if not training:
        warnings.append(
            "This model was saved without a training record (an older version): which "
            "levels were trained cannot be shown. Retrain to see it."
        )
    rows = []
    for comparison in model["comparisons"]:
        name = comparison["output_column_name"]
        fields = COMPARISON_FIELDS.get(name, (name,))
        state = states.get(name, {})
        levels = [
            LevelRow(
                label=level.get("label_for_charts") or level["sql_condition"],
                m_probability=float(level.get("m_probability") or 0.0),
                u_probability=float(level.get("u_probability") or 0.0),
                match_weight=_weight(level.get("m_probability"), level.get("u_probability")),
                trained=not level.get("fullpicture_untrained"),
            )
            for level in comparison["comparison_levels"]
            if not level.get("is_null_level")
        ]
        share = max((shares[f] for f in fields if f in shares), default=None)
        trained = bool(state.get("m_trained_levels")) if state else True
        rows.append(ComparisonRow(name, fields, share, trained and name in with_data, levels))
        neutral = sorted(level.label for level in levels if not level.trained)
        if name in with_data and neutral:
            warnings.append(
                f"{name}: {len(neutral)} level(s) never seen in training, scored as neutral "
                f"(weight 0): {', '.join(neutral)}"
            )
        if name not in with_data:
            warnings.append(
                f"{name}: no values in {' or '.join(fields)}; this comparison adds nothing"
            )
    for name in training.get("untrained_with_data", []):
        warnings.append(
            f"{name}: holds values but no EM pass could train it on these records; "
            "it is scored as neutral (adds nothing) until a run with more records trains it"
        )
    for record in training.get("em_passes", []):
        if record.get("iterations") is not None and not record.get("converged"):
            warnings.append(
                f"EM blocked on {', '.join(record['blocked_on'])} stopped at "
                f"{record['iterations']} iterations without converging: its estimates may be off"
            )
    line = threshold.match_weight if threshold else rules.link_threshold_match_weight
    report = ModelReport(
        prior_match_weight=linkage_engine.probability_to_weight(
            model["probability_two_random_records_match"]
        ),
        comparisons=rows,
        em_passes=list(training.get("em_passes", [])),
        prior_rules_recall=training.get("prior_recall_from_model"),
        threshold=line,
        review_lower=min(rules.review_band.lower_match_weight, line),
        link_threshold=threshold,
        warnings=warnings,
    )
    if pairs is not None and not pairs.is_empty():
        weights = pairs["match_weight"]
        report.histogram = weight_histogram(weights)
        held_back = len(threshold.held_back) if threshold else 0
        # Held-back pairs (a generation apart, or two people already formed) are above the
        # line but not linked: a practitioner's to look at, like the review band's.
        report.pairs_linked = int((weights >= line).sum()) - held_back
        report.pairs_for_review = (
            int(((weights >= report.review_lower) & (weights < line)).sum()) + held_back
        )
    return report


def fields_missing(
    prepared: pl.DataFrame,
    model: dict[str, Any],
    *,
    rules: LinkageRules,
    file_name: str,
    threshold: float | None = None,
) -> list[str]:
    """Say which fields the model weighs that these records never hold, and what it can and
    cannot do without them. Raises ``LinkageInputError`` when without them no pair could
    reach the link threshold (nothing could be linked): ``threshold`` when one is given, else
    the lowest a chosen threshold can be."""
    line = rules.threshold_choice.lowest_match_weight if threshold is None else threshold
    shares = linkage_engine.field_shares(prepared)
    levels = linkage_engine.level_weights(model)
    absent, present_best = [], {}
    for name, options in levels.items():
        fields = COMPARISON_FIELDS.get(name, (name,))
        # The strongest agreement level (value 0 is "nothing agrees").
        strongest = max((w for value, _l, w in options if value >= 1), default=0.0)
        if any(shares.get(f, 0.0) > 0 for f in fields):
            present_best[name] = strongest
        elif strongest > 1.0:  # the model relies on this comparison
            absent.append((name, fields, strongest))
    if not absent:
        return []
    prior = linkage_engine.probability_to_weight(model["probability_two_random_records_match"])
    best = prior + sum(w for w in present_best.values() if w > 0)
    missing = ", ".join(" / ".join(fields) for _n, fields, _w in absent)
    if best < line:
        raise linkage_engine.LinkageInputError(
            f"{file_name}: {missing} is blank in every record, and the model needs it: with "
            f"only {', '.join(present_best) or 'no other field'} the strongest possible pair "
            f"weighs {best:.1f}, below the lowest link threshold {line:g}, "
            "so no one could be linked. Nothing was written. Supply the field, or train on "
            "this file (without --model)."
        )
    messages = []
    for name, fields, strongest in absent:
        messages.append(
            f"{file_name}: {' / '.join(fields)} is blank in every record. The model can still "
            f"link on {', '.join(present_best)} (a pair agreeing on all of them reaches "
            f"{best:.1f}, threshold at least {line:g}), but cannot use "
            f"{name} (worth up to {strongest:+.1f}): records that agree on the rest but differ "
            f"in {name} cannot be told apart, and a pair with a slip elsewhere is more likely "
            "to be missed."
        )
    return messages


def write_charts(
    *,
    model: dict[str, Any],
    prepared: pl.DataFrame,
    pairs: pl.DataFrame,
    rules: LinkageRules,
    out_dir: Path,
    threshold: float | None = None,
) -> list[Path]:
    """splink's match-weights and m/u charts for the model, and the waterfall of the weakest
    linked pair (the one nearest the threshold), as HTML files in ``out_dir``. When the
    relatives' comparison of the second pass weighed a linked pair, the waterfall holds the
    weakest such pair too (its second record), and every pair it weighed shows it as a bar
    of its own (``relatives.relatives_step``)."""
    linker = linkage_engine.charting_linker(prepared, model)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    charts: list[tuple[str, Any]] = [
        ("match-weights.html", linker.visualisations.match_weights_chart()),
        ("m-u-parameters.html", linker.visualisations.m_u_parameters_chart()),
    ]
    line = rules.link_threshold_match_weight if threshold is None else threshold
    linked = pairs.filter(pl.col("match_weight") >= line)
    if not linked.is_empty():
        shown = [linked.sort("match_weight").row(0, named=True)]
        # The weakest linked pair the relatives weighed, when that pair is not already it.
        if "gamma_relatives" in linked.columns and not was_read(shown[0]):
            weighed = linked.filter(pl.col("gamma_relatives") >= 0)
            if not weighed.is_empty():
                order = ["match_weight", "unique_id_l", "unique_id_r"]
                shown.append(weighed.sort(order).row(0, named=True))
        ids = {pair[side] for pair in shown for side in ("unique_id_l", "unique_id_r")}
        rows = prepared.filter(pl.col("unique_id").is_in(sorted(ids)))
        by_id = {row["unique_id"]: row for row in rows.iter_rows(named=True)}
        records = [
            record
            for pair in shown
            for record in linker.inference.score_pair(
                by_id[pair["unique_id_l"]], by_id[pair["unique_id_r"]]
            ).as_record_list()
        ]
        waterfall = linker.visualisations.waterfall_chart(records)
        # splink's waterfall draws the model's comparisons only: the relatives' bar is put in
        # its data before the final score, which then adds up to the batch's weight.
        waterfall.raw_records = with_relatives_bars(
            # splink types its chart records as a bare protocol; the waterfall's are dicts.
            cast("Sequence[dict[str, Any]]", waterfall.raw_records),
            shown,
            relative_names(prepared, shown),
            below=rules.link_threshold_match_weight,
            line=line,
        )
        charts.append(("waterfall.html", waterfall))
    for file_name, chart in charts:
        path = out_dir / file_name
        # Offline: splink embeds the chart libraries it ships, no CDN needed to view it.
        chart.save_offline_chart(str(path), overwrite=True, print_msg=False)
        written.append(path)
    return written


def with_relatives_bars(
    bars: Sequence[dict[str, Any]],
    pairs: Sequence[Mapping[str, Any]],
    names: Mapping[str, str],
    *,
    below: float,
    line: float | None = None,
) -> list[dict[str, Any]]:
    """splink's waterfall data (``bars``, record ``n`` for ``pairs[n]``) with a bar for the
    relatives' comparison before the final score of each pair it weighed, the final score
    moved by its weight and the second pass said in words on the bar."""
    out: list[dict[str, Any]] = []
    for number, pair in enumerate(pairs):
        own = [dict(bar) for bar in bars if bar["record_number"] == number]
        step = relatives_step(pair, names)
        if step is not None:
            final = own[-1]
            if final["column_name"] != "Final score":
                raise ValueError(f"splink's waterfall ends with {final['column_name']!r}")
            first_pass = float(final["log2_bayes_factor"])
            total = first_pass + step.match_weight
            own.insert(
                -1,
                {
                    "column_name": step.comparison,
                    "label_for_charts": step.level,
                    "sql_condition": None,
                    "log2_bayes_factor": step.match_weight,
                    "bayes_factor": 2.0**step.match_weight,
                    "comparison_vector_value": pair["gamma_relatives"],
                    "m_probability": None,
                    "u_probability": None,
                    "bayes_factor_description": second_pass_words(
                        first_pass=first_pass,
                        relatives=step.match_weight,
                        below=below,
                        line=line,
                    ),
                    "value_l": step.value_left or "",
                    "value_r": step.value_right or "",
                    "term_frequency_adjustment": False,
                    "record_number": number,
                },
            )
            own[-1] = {**final, "log2_bayes_factor": total, "bayes_factor": 2.0**total}
        for order, bar in enumerate(own):
            bar["bar_sort_order"] = order
        out.extend(own)
    return out
