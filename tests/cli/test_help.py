"""Every command says what it does and shows an example in its --help."""

from __future__ import annotations

import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner

from fullpicture.cli.main import app


def _leaf_commands(group: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    # typer carries its own copy of click, so look for subcommands rather than a click class.
    subcommands = getattr(group, "commands", None)
    if subcommands:
        found: list[tuple[str, ...]] = []
        for name, command in subcommands.items():
            found.extend(_leaf_commands(command, (*path, name)))
        return found
    return [path]


COMMANDS = _leaf_commands(get_command(app))


def test_the_cli_has_commands() -> None:
    assert ("db", "upgrade") in COMMANDS
    assert ("serve",) in COMMANDS


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p))
def test_help_explains_and_gives_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output, f"fullpicture {' '.join(path)} --help has no example"
    assert "fullpicture" in result.output.split("Example:", 1)[1]


def test_typer_is_the_cli_framework() -> None:
    assert isinstance(app, typer.Typer)
