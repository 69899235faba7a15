"""``fullpicture synth``: write a synthetic multi-agency population (feeds and truth)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Literal

import typer

from fullpicture.cli.console import console, err_console, progress_bar
from fullpicture.synth import service as synth_service
from fullpicture.synth.schemas import apply_profile, default_settings


def synth(
    children: int = typer.Option(
        ..., "--children", min=1, help="How many children aged 0-17 (the unborn come on top)."
    ),
    seed: int = typer.Option(
        ..., "--seed", help="Random seed: the same seed gives the same bytes."
    ),
    out: Path = typer.Option(
        ...,
        "--out",
        file_okay=False,
        help="Directory to write into (empty, or an earlier population).",
    ),
    fmt: str = typer.Option("csv", "--format", help="Feed file format: csv or parquet."),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Date the data is drawn up to, YYYY-MM-DD (default 2026-10-31)."
    ),
    profile: str | None = typer.Option(
        None,
        "--profile",
        help="A variant population from synthesis.yaml profiles (no_identifiers, other_names).",
    ),
) -> None:
    """Generate a synthetic population: one feed per agency, plus truth/ and manifest.json.

    Example: fullpicture synth --children 2000 --seed 7 --out var/demo-feeds
    """
    if fmt not in ("csv", "parquet"):
        err_console.print(f"[red]--format must be csv or parquet, not {fmt!r}.[/red]")
        raise typer.Exit(code=2)
    feed_format: Literal["csv", "parquet"] = "csv" if fmt == "csv" else "parquet"
    try:
        as_of_date = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError as exc:
        err_console.print(f"[red]--as-of must be a date YYYY-MM-DD, not {as_of!r}.[/red]")
        raise typer.Exit(code=2) from exc
    settings = default_settings()
    if profile is not None:
        try:
            settings = apply_profile(settings, profile)
        except ValueError as exc:
            err_console.print(f"[red]{exc}[/red]")
            raise typer.Exit(code=2) from exc
    started = time.perf_counter()
    with progress_bar() as progress:
        tasks: dict[str, object] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)  # type: ignore[arg-type]

        try:
            manifest = synth_service.generate(
                children=children,
                seed=seed,
                out=out,
                fmt=feed_format,
                as_of=as_of_date,
                settings=settings,
                progress=report,
            )
        except synth_service.SynthesisError as exc:
            err_console.print(f"[red]Nothing written.[/red] {exc}")
            raise typer.Exit(code=2) from exc
    counts = manifest["counts"]
    assert isinstance(counts, dict)
    console.print(
        f"Wrote {counts['source_records']:,} source records, {counts['events']:,} events and "
        f"{counts['truth_trajectories']:,} planted trajectories for {counts['agencies']} agencies "
        f"to {out} in {time.perf_counter() - started:.1f}s."
    )
