"""Bulk writes inside the session's transaction: executemany on SQLite, COPY on PostgreSQL.

Rows go straight to the DBAPI connection the session is using, so they share its transaction
(all or nothing) without building an ORM object per row. Values are given in the form both
drivers accept: text, numbers, booleans, None, and JSON already serialised to text; dates as
ISO text; timestamps through ``timestamp_value`` so each backend gets its own spelling.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, func, select
from sqlalchemy.orm import Session

from fullpicture.core.database import Base, UTCDateTime

SQLITE_CACHE_KIB = 64 * 1024


class BulkWriter:
    """Writes many rows at once to one session's connection."""

    def __init__(self, db_session: Session) -> None:
        self.connection: Connection = db_session.connection()
        self.dialect_name = self.connection.dialect.name
        if self.dialect_name not in {"sqlite", "postgresql"}:
            raise NotImplementedError(f"bulk import does not support {self.dialect_name}")
        if self.dialect_name == "sqlite":
            # SQLite's default page cache (2 MB) is smaller than the indexes a large batch
            # touches; a bigger one for this connection saves re-reading pages per row.
            self.connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")

    @property
    def _dbapi(self) -> Any:
        return self.connection.connection.dbapi_connection

    def timestamp_value(self, moment: dt.datetime) -> Any:
        """A UTC timestamp as the backend stores it (SQLite keeps SQLAlchemy's text form)."""
        processor = UTCDateTime().dialect_impl(self.connection.dialect)
        bind = processor.bind_processor(self.connection.dialect)
        return bind(moment) if bind else moment

    def reserve_ids(self, table_name: str, count: int) -> list[int]:
        """Primary keys for ``count`` new rows, so child rows can point at them before insert."""
        if count == 0:
            return []
        if self.dialect_name == "postgresql":
            cursor = self._dbapi.cursor()
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                (table_name, count),
            )
            ids = [row[0] for row in cursor.fetchall()]
            cursor.close()
            return ids
        # On SQLite the batch already holds the write lock (its import_batch row is written
        # first), so nobody else can take ids between this read and the insert.
        table = _table(table_name)
        highest = self.connection.scalar(select(func.coalesce(func.max(table.c.id), 0)))
        start = int(highest or 0) + 1
        return list(range(start, start + count))

    def insert(
        self, table_name: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        if not rows:
            return
        column_list = ", ".join(columns)
        if self.dialect_name == "postgresql":
            cursor = self._dbapi.cursor()
            with cursor.copy(f"COPY {table_name} ({column_list}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.close()
            return
        placeholders = ", ".join("?" for _ in columns)
        cursor = self._dbapi.cursor()
        cursor.executemany(
            f"INSERT INTO {table_name} ({column_list}) VALUES ({placeholders})",  # noqa: S608 -- names are ours, values are bound
            rows,
        )
        cursor.close()


def _table(table_name: str) -> Table:
    table = Base.metadata.tables[table_name]
    assert isinstance(table, Table)
    return table
