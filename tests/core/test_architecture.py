"""The dependency direction is enforced for every package, not only those that existed when the
contracts were written: a new package must be placed in a layer of ``pyproject.toml``."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path

import fullpicture

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _contracts() -> list[dict[str, object]]:
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    contracts: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def test_every_package_is_in_a_layer() -> None:
    layers = next(c for c in _contracts() if c["type"] == "layers")["layers"]
    assert isinstance(layers, list)
    named = {name.strip() for layer in layers for name in layer.replace("|", ":").split(":")}
    root = Path(fullpicture.__file__).resolve().parent
    packages = {f"fullpicture.{p.parent.name}" for p in root.glob("*/__init__.py")}
    assert packages - named == set(), "place each new package in a layer in pyproject.toml"
    assert named - packages == set(), "a layer names a package that no longer exists"


def test_no_contract_ignores_an_import() -> None:
    assert [c["name"] for c in _contracts() if c.get("ignore_imports")] == []


def test_the_committed_dependency_picture_matches_the_code() -> None:
    script = PYPROJECT.parent / "scripts" / "architecture_diagram.py"
    spec = importlib.util.spec_from_file_location("architecture_diagram", script)
    assert spec is not None and spec.loader is not None
    diagram = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(diagram)
    committed = diagram.DOCUMENT.read_text(encoding="utf-8")
    assert diagram.with_picture(committed, diagram.mermaid()) == committed, (
        "docs/architecture.md is stale: run python scripts/architecture_diagram.py"
    )
