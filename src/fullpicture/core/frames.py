"""A query's rows as a polars frame, read the quick way for the backend.

An authority's aggregates join hundreds of thousands of narrow rows (``bench/dashboard.py``).
PostgreSQL's hash joins over them cost about a microsecond a row per step, and fetching them
row by row into Python costs as much again; streamed out by ``COPY ... TO STDOUT`` as CSV and
parsed by polars (in Rust, on every core) they arrive in a fraction of either, and polars joins
them in milliseconds. SQLite (an embedded database of a few thousand children) is read
directly.
"""

from __future__ import annotations

import io
from typing import Any

import polars as pl
from sqlalchemy import Select, TextClause
from sqlalchemy.orm import Session


def read_frame(
    db_session: Session, statement: Select[*tuple[Any, ...]] | TextClause, schema: dict[str, Any]
) -> pl.DataFrame:
    """The rows of ``statement`` (a SELECT, its values bound in it) with ``schema``'s column
    names and types, in order.

    Read in the session's own transaction, so it sees what the session has flushed."""
    connection = db_session.connection()
    if connection.dialect.name != "postgresql":
        rows = [tuple(row) for row in db_session.execute(statement)]
        return pl.DataFrame(rows, schema=schema, orient="row")
    compiled = statement.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    raw = connection.connection.driver_connection
    assert raw is not None  # an open session's connection
    buffer = io.BytesIO()
    with (
        raw.cursor() as cursor,
        # The statement is ours, compiled by SQLAlchemy; its values stay bound parameters.
        cursor.copy(f"COPY ({compiled.string}) TO STDOUT (FORMAT csv)", compiled.params) as copy,
    ):
        for chunk in copy:
            buffer.write(chunk)
    if buffer.tell() == 0:
        return pl.DataFrame(schema=schema)
    buffer.seek(0)
    return pl.read_csv(
        buffer,
        has_header=False,
        schema=schema,
    )
