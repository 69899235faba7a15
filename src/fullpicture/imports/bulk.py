"""Bulk writes inside the session's transaction: executemany on SQLite, COPY on PostgreSQL.

Rows go straight to the DBAPI connection the session is using, so they share its transaction
(all or nothing) without building an ORM object per row. Values are given in the form both
drivers accept: text, numbers, booleans, None, and JSON already serialised to text; dates as
ISO text; timestamps through ``timestamp_value`` so each backend gets its own spelling.

Inserts run on one background thread, in the order they were asked for, so that the next
chunk is read and checked while the database stores the last one (sqlite3 and psycopg let
go of the GIL while the database works). Anything else that uses the connection calls
``wait`` first; ``wait`` also re-raises an insert's error, so the batch fails as a whole.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlalchemy import Connection, Table, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from fullpicture.core.database import Base, UTCDateTime
from fullpicture.core.settings import get_settings


class BulkWriter:
    """Writes many rows at once to one session's connection."""

    def __init__(self, db_session: Session) -> None:
        self.connection: Connection = db_session.connection()
        self.dialect_name = self.connection.dialect.name
        if self.dialect_name not in {"sqlite", "postgresql"}:
            raise NotImplementedError(f"bulk import does not support {self.dialect_name}")
        self._restore_cache_size: int | None = None
        if self.dialect_name == "sqlite":
            # SQLite's default page cache (2 MB) is far smaller than the indexes a large batch
            # touches, and every page it drops mid-batch is spilled and read again: at a
            # million events, 512 MiB imported 18% faster than 64 MiB (docs/benchmarks.md).
            # The connection goes back to the pool afterwards, so its cache is put back.
            self._restore_cache_size = self.connection.exec_driver_sql(
                "PRAGMA cache_size"
            ).scalar_one()
            cache_kib = get_settings().import_sqlite_cache_mib * 1024
            self.connection.exec_driver_sql(f"PRAGMA cache_size = -{cache_kib}")
        # An in-memory SQLite database lives on one thread's connection only.
        in_memory = self.dialect_name == "sqlite" and self.connection.engine.url.database in (
            None,
            "",
            ":memory:",
        )
        self._executor = (
            None if in_memory else ThreadPoolExecutor(1, thread_name_prefix="fullpicture-bulk")
        )
        self._pending: list[Future[None]] = []
        self._next_ids: dict[str, int] = {}

    def wait(self) -> None:
        """Block until every insert asked for is done; raise the first one's error."""
        pending, self._pending = self._pending, []
        errors = [error for future in pending if (error := future.exception()) is not None]
        if errors:
            raise errors[0]

    def close(self) -> None:
        """Wait for the inserts (without raising: the caller is finishing or failing)."""
        for future in self._pending:
            future.exception()
        self._pending = []
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        if self._restore_cache_size is not None:
            # After a failed batch the connection may be unusable; its error is the one to see.
            with contextlib.suppress(DBAPIError):
                self.connection.exec_driver_sql(
                    f"PRAGMA cache_size = {int(self._restore_cache_size)}"
                )
            self._restore_cache_size = None

    def _run(self, work: Callable[[], None]) -> None:
        if self._executor is None:
            work()
            return
        # A failed insert stops the batch at the next call rather than at the end.
        failed = [future for future in self._pending if future.done() and future.exception()]
        if failed:
            self.wait()
        self._pending = [future for future in self._pending if not future.done()]
        self._pending.append(self._executor.submit(work))

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
            self.wait()
            cursor = self._dbapi.cursor()
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                (table_name, count),
            )
            ids = [row[0] for row in cursor.fetchall()]
            cursor.close()
            return ids
        # On SQLite the batch already holds the write lock (its import_batch row is written
        # first), so nobody else can take ids between this read and the insert, nor until
        # the batch ends: after the first read the next id is known without asking.
        start = self._next_ids.get(table_name)
        if start is None:
            self.wait()
            table = _table(table_name)
            highest = self.connection.scalar(select(func.coalesce(func.max(table.c.id), 0)))
            start = int(highest or 0) + 1
        self._next_ids[table_name] = start + count
        return list(range(start, start + count))

    def insert(
        self, table_name: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Insert ``rows`` (in the background: call ``wait`` before using the connection)."""
        if not rows:
            return
        dbapi = self._dbapi
        column_list = ", ".join(columns)
        if self.dialect_name == "postgresql":

            def copy_rows() -> None:
                cursor = dbapi.cursor()
                with cursor.copy(f"COPY {table_name} ({column_list}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                cursor.close()

            self._run(copy_rows)
            return
        placeholders = ", ".join("?" for _ in columns)
        statement = f"INSERT INTO {table_name} ({column_list}) VALUES ({placeholders})"  # noqa: S608 -- names are ours, values are bound

        def insert_rows() -> None:
            cursor = dbapi.cursor()
            cursor.executemany(statement, rows)
            cursor.close()

        self._run(insert_rows)


def _table(table_name: str) -> Table:
    table = Base.metadata.tables[table_name]
    assert isinstance(table, Table)
    return table
