"""The plain-file interface: PERSONS.csv in, CLUSTERS.csv out; bad input rejected whole."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from fullpicture.cli.main import app
from fullpicture.linkage.files import (
    CLUSTER_FILE_COLUMNS,
    PERSON_FILE_COLUMNS,
    link_person_file,
    read_feed_records,
)
from fullpicture.linkage.rules import default_rules
from tests.linkage.population import build_population, pairwise_scores

runner = CliRunner()
HEADER = ",".join(PERSON_FILE_COLUMNS)


def write_persons(path: Path, records: pl.DataFrame) -> Path:
    records.select(
        "source",
        "record_id",
        "given_name",
        "family_name",
        pl.col("date_of_birth").dt.strftime("%Y-%m-%d"),
        "sex",
        "postcode",
        "address",
        "nhs_number",
    ).write_csv(path)
    return path


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 5,300 source records from the synthetic population generator, with its truth."""
    from fullpicture.synth.service import generate

    out = tmp_path_factory.mktemp("synth")
    generate(children=1200, seed=7, out=out)
    return out


def test_links_a_generated_population_accurately(generated: Path, tmp_path: Path) -> None:
    records = read_feed_records(generated / "feeds")
    assert records.height > 5000
    persons = write_persons(tmp_path / "persons.csv", records)
    out = tmp_path / "clusters.csv"
    model_path = tmp_path / "model.json"
    result = runner.invoke(
        app, ["link", str(persons), "--out", str(out), "--save-model", str(model_path)]
    )
    assert result.exit_code == 0, result.output
    clusters = pl.read_csv(out, infer_schema=False)
    assert clusters.columns == CLUSTER_FILE_COLUMNS
    assert clusters.height == records.height
    truth = {
        f"{a}:{r}": p
        for a, r, p in pl.read_csv(generated / "truth/identity.csv", infer_schema=False).iter_rows()
    }
    predicted = {
        f"{s}:{r}": p for s, r, p in clusters.select("source", "record_id", "person_id").iter_rows()
    }
    precision, recall, f1 = pairwise_scores(truth, predicted)
    assert f1 >= 0.97, (precision, recall)
    confidence = clusters["cluster_confidence"].cast(pl.Float64)
    assert ((confidence >= 0) & (confidence <= 1)).all()

    # A saved model reused on the same file gives the same people.
    again = tmp_path / "again.csv"
    result = runner.invoke(
        app, ["link", str(persons), "--out", str(again), "--model", str(model_path)]
    )
    assert result.exit_code == 0, result.output
    assert pl.read_csv(again, infer_schema=False).equals(clusters)
    assert json.loads(model_path.read_text())["comparisons"]


def test_explain_from_the_file(tmp_path: Path) -> None:
    training = write_persons(
        tmp_path / "training.csv", build_population(people=400, seed=9).records
    )
    model_path = tmp_path / "model.json"
    result = runner.invoke(
        app,
        ["link", str(training), "--out", str(tmp_path / "c.csv"), "--save-model", str(model_path)],
    )
    assert result.exit_code == 0, result.output
    persons = tmp_path / "persons.csv"
    persons.write_text(
        HEADER
        + "\n"
        + "school,S1,Katherine,Smith-Jones,2015-03-07,F,SE25 4AB,12 Oak Road,\n"
        + "gp,G1,Kate,Jones,2015-07-03,F,SE25 4AB,12 Oak Rd,9434765919\n"
        + "police,P1,Tom,Brown,1980-01-01,M,CR0 1AA,3 Elm Street,\n"
        + "police,P2,Thomas,Brown,1980-01-01,M,CR0 1AA,3 Elm Street,\n"
    )
    result = runner.invoke(
        app,
        [
            "link",
            "explain",
            "school:S1",
            "gp:G1",
            "--file",
            str(persons),
            "--model",
            str(model_path),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    explanation = json.loads(result.output)
    levels = {step["comparison"]: step["level"] for step in explanation["steps"]}
    assert levels["given_name"] == "known variant (nickname / short form)"
    assert levels["family_name"] == "part of a hyphenated name, or a previous family name"
    assert levels["date_of_birth"] == "day and month swapped"
    assert levels["residence"] == "same current address and postcode"
    total = explanation["prior_match_weight"] + sum(s["match_weight"] for s in explanation["steps"])
    assert total == pytest.approx(explanation["match_weight"], abs=1e-3)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        (HEADER + "\n", "no records"),
        ("source,record_id,given_name\nschool,1,Ann\n", "missing column(s) family_name"),
        (
            HEADER + "\nschool,1,Ann,Lee,2015-01-02,F,,,\nschool,1,Anne,Lee,2015-01-02,F,,,\n",
            "duplicate (source, record_id): lines 2, 3",
        ),
        (
            HEADER + "\nschool,1,Ann,Lee,2015-01-02,F,,,\nschool,2,Bo,Lee,02/01/2015,M,,,\n",
            "date_of_birth is not a YYYY-MM-DD date ('02/01/2015'): line 3",
        ),
        (HEADER + "\n,1,Ann,Lee,2015-01-02,F,,,\n", "source and record_id are required: line 2"),
    ],
)
def test_bad_input_names_the_rows_and_writes_nothing(
    tmp_path: Path, content: str, message: str
) -> None:
    persons = tmp_path / "persons.csv"
    persons.write_text(content)
    out = tmp_path / "clusters.csv"
    result = runner.invoke(app, ["link", str(persons), "--out", str(out)])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [persons]


def test_an_existing_output_is_untouched_when_input_is_bad(tmp_path: Path) -> None:
    persons = tmp_path / "persons.csv"
    persons.write_text(HEADER + "\nschool,1,Ann,Lee,2015-13-45,F,,,\n")
    out = tmp_path / "clusters.csv"
    out.write_text("earlier output\n")
    with pytest.raises(ValueError, match="line 2"):
        link_person_file(persons, out, rules=default_rules())
    assert out.read_text() == "earlier output\n"


def test_the_clusters_file_never_hands_a_spreadsheet_a_formula(tmp_path: Path) -> None:
    # CLUSTERS.csv is opened in a spreadsheet by analysts; its source and record_id come from
    # the feed, so a record id "=HYPERLINK(...)" must arrive as text, never as a formula.
    records = build_population(people=150, seed=9).records
    hostile = ['=HYPERLINK("http://x.example")', "+1", "-2", "@SUM(1)", "\uff1d1+1"]
    records = records.with_columns(
        pl.when(pl.int_range(pl.len()) < len(hostile))
        .then(pl.Series(hostile + [""] * (records.height - len(hostile))))
        .otherwise(pl.col("record_id"))
        .alias("record_id"),
        pl.when(pl.int_range(pl.len()) == len(hostile))
        .then(pl.lit("=cmd|' /C calc'!A0"))
        .otherwise(pl.col("source"))
        .alias("source"),
    )
    persons = write_persons(tmp_path / "persons.csv", records)
    out = tmp_path / "clusters.csv"
    result = runner.invoke(app, ["link", str(persons), "--out", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == CLUSTER_FILE_COLUMNS
    assert not [cell for row in rows for cell in row if cell[:1] in set("=+-@\t\r\uff1d")]
    ids = {row[1] for row in rows[1:]}
    assert {"'" + value for value in hostile} <= ids
    assert "'=cmd|' /C calc'!A0" in {row[0] for row in rows[1:]}
    assert len(rows) - 1 == records.height
