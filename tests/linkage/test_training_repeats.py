"""The same records train the same model, bit for bit, however busy the machine is.

CI once saw two DuckDB trainings of one file differ in the fifteenth digit of an m
probability: EM's sums over agreement patterns ran on several threads, which add in whatever
order they finish. Training's EM now runs on one DuckDB thread; scoring keeps them all.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb
import pytest
from splink.internals.linker_components.training import LinkerTraining

from fullpicture.linkage.engine import train_model
from fullpicture.linkage.preparation import prepare
from fullpicture.linkage.rules import default_rules
from tests.linkage.population import build_population


def _threads(training: LinkerTraining) -> int:
    connection = training._linker._db_api._con
    ((threads,),) = connection.execute("SELECT current_setting('threads')").fetchall()
    return int(threads)


def test_em_runs_on_one_thread_and_the_connection_gets_its_threads_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = LinkerTraining.estimate_parameters_using_expectation_maximisation
    during: list[int] = []
    trainers: list[LinkerTraining] = []

    def watched(self: LinkerTraining, *args: Any, **kwargs: Any) -> Any:
        during.append(_threads(self))
        trainers.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(
        LinkerTraining, "estimate_parameters_using_expectation_maximisation", watched
    )
    records = build_population(people=80, seed=5).records
    train_model(prepare(records), rules=default_rules())

    assert during, "no EM pass ran"
    assert set(during) == {1}
    ((default,),) = duckdb.connect().execute("SELECT current_setting('threads')").fetchall()
    assert _threads(trainers[-1]) == int(default)


def test_two_trainings_of_one_file_give_one_model() -> None:
    prepared = prepare(build_population(people=120, seed=23).records)

    def trained() -> str:
        model = train_model(prepared, rules=default_rules())
        model.pop("linker_uid")
        return json.dumps(model, sort_keys=True)

    assert trained() == trained()
