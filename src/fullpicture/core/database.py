"""Engine, sessions and the declarative base shared by every capability."""

from __future__ import annotations

import datetime as dt
import enum
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Enum,
    MetaData,
    any_,
    bindparam,
    create_engine,
    event,
    exc,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute, Session, sessionmaker
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Date, DateTime, Integer, TypeDecorator

# Explicit constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC timestamps on both backends (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC timestamp is required")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class utc_date(FunctionElement[dt.date]):
    """SQL: the UTC calendar day of a ``UTCDateTime`` column, as ``value.date()`` gives in
    Python (PostgreSQL would otherwise take the day in the session's time zone)."""

    type = Date()
    inherit_cache = True


@compiles(utc_date, "postgresql")
def _utc_date_postgresql(element: utc_date, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC' AS DATE)"


@compiles(utc_date, "sqlite")
def _utc_date_sqlite(element: utc_date, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps a UTCDateTime as UTC text ("2026-03-04 10:00:00.000000").
    return f"date({compiler.process(element.clauses, **kw)})"


class days_between(FunctionElement[int]):
    """SQL: whole calendar days from the first date to the second (``(end - start).days``)."""

    type = Integer()
    inherit_cache = True


@compiles(days_between, "postgresql")
def _days_between_postgresql(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"(({end}) - ({start}))"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(julianday({end}) - julianday({start}) AS INTEGER)"


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web app read while an import writes; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the settings each backend needs to behave the same way."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _tune_sqlite)
        # pysqlite's own transaction handling defers BEGIN; take control so that
        # SAVEPOINT and all-or-nothing batches behave as on PostgreSQL.
        event.listen(engine, "connect", _disable_pysqlite_autobegin)
        event.listen(engine, "begin", _emit_begin)
        return engine
    engine = create_engine(url, **kwargs)
    ping_when_idle(engine)
    return engine


#: A pooled connection unused for longer than this is pinged before it is handed out.
IDLE_PING_SECONDS = 1.0
_IDLE_SINCE = "fullpicture.idle_since"


def ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection with a ping before use if it has lain idle in the pool for
    more than ``IDLE_PING_SECONDS``; one found gone is replaced (the whole pool with it, as
    after a database restart) before anything runs on it.

    SQLAlchemy's ``pool_pre_ping`` pinged on every checkout: one more round trip and
    statement for the database on every API request (issue 14, docs/benchmarks.md). A
    connection used within the last second was alive then; a busy server's connections
    come back within milliseconds, so they go unpinged, and a quiet one's are pinged."""

    @event.listens_for(engine, "checkin")
    def idle_from(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop(_IDLE_SINCE, None)
        if idle_since is None or time.monotonic() - idle_since <= IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            if engine.dialect.is_disconnect(error, dbapi_connection, None):
                raise exc.InvalidatePoolError() from error
            raise


def _disable_pysqlite_autobegin(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None


def _emit_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")


def is_postgresql(engine_or_session: Engine | Session) -> bool:
    bind = (
        engine_or_session.get_bind()
        if isinstance(engine_or_session, Session)
        else engine_or_session
    )
    return bind.dialect.name == "postgresql"


_PARALLEL_WORKERS = "max_parallel_workers_per_gather"


@contextmanager
def without_parallel_workers(db_session: Session) -> Iterator[None]:
    """Plan the statements run inside without parallel workers (PostgreSQL; the setting as
    it was afterwards). For a request's small statements the planner's parallel plans cost
    more than they save: starting two workers for a few thousand index rows, on a server
    whose cores are busy with other requests, made find a child's close-spelling statement
    2-3x slower (18.7-24.3 ms against 8.5-14.2 ms, EXPLAIN ANALYZE, load 8)."""
    if not is_postgresql(db_session):
        yield
        return
    previous = db_session.execute(
        text(
            f"SELECT current_setting('{_PARALLEL_WORKERS}'), "
            f"set_config('{_PARALLEL_WORKERS}', '0', true)"
        )
    ).scalar()
    restore = text(f"SELECT set_config('{_PARALLEL_WORKERS}', :previous, true)")
    try:
        yield
    except Exception:
        # After a failed statement the transaction can only roll back (the setting with it,
        # being local to it): the failure, not the restoring, is what the caller hears of.
        with suppress(exc.SQLAlchemyError):
            db_session.execute(restore, {"previous": previous})
        raise
    db_session.execute(restore, {"previous": previous})


def among(
    db_session: Session,
    column: ColumnElement[int] | InstrumentedAttribute[int],
    ids: Iterable[int],
) -> ColumnElement[bool]:
    """SQL: ``column`` is one of ``ids``. On PostgreSQL the ids go as one array parameter:
    thousands of ids as as many parameters cost the driver more to prepare than the query
    costs to run (find a child on a surname, issue 14); the plan is the same."""
    values = sorted(set(ids))
    if is_postgresql(db_session):
        return column == any_(bindparam(None, values, type_=ARRAY(Integer)))
    return column.in_(values)


def among_parameter(
    *,
    postgresql: bool,
    column: ColumnElement[int] | InstrumentedAttribute[int],
    name: str,
) -> ColumnElement[bool]:
    """SQL: ``column`` is one of the ids given later as the parameter ``name`` (as ``among``
    writes it: one array on PostgreSQL, an expanding ``IN`` on SQLite). The statement is the
    same whatever the ids, so it can be built once and given its ids at each use."""
    if postgresql:
        return column == any_(bindparam(name, type_=ARRAY(Integer)))
    return column.in_(bindparam(name, expanding=True, type_=Integer()))


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A transaction boundary: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def string_enum(cls: type[enum.Enum], length: int = 32) -> Enum:
    """Store an enum by its value as plain text, so the same migration runs on both backends."""
    return Enum(
        cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )
