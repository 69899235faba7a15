"""Migrations go up from empty, match the models, and come down again, on both backends."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from fullpicture.core import migrations
from fullpicture.core.database import Base, make_engine
from fullpicture.migrations import tables as _all_tables  # noqa: F401
from tests.conftest import TestDatabase


def test_upgrade_from_empty_reaches_every_head(fresh_database: TestDatabase) -> None:
    assert migrations.is_up_to_date(fresh_database.engine)
    tables = set(inspect(fresh_database.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_models_and_migrations_agree(fresh_database: TestDatabase) -> None:
    with fresh_database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = compare_metadata(context, Base.metadata)
    assert differences == [], f"models differ from migrations: {differences}"


def test_downgrade_to_base_and_up_again(fresh_database: TestDatabase) -> None:
    migrations.downgrade(fresh_database.engine, "base")
    assert not (set(inspect(fresh_database.engine).get_table_names()) & set(Base.metadata.tables))
    migrations.upgrade(fresh_database.engine)
    assert migrations.is_up_to_date(fresh_database.engine)


def test_a_url_with_percent_escapes_is_accepted(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'odd%20name.sqlite3'}")
    migrations.upgrade(engine)
    assert migrations.is_up_to_date(engine)
    config = migrations.alembic_config(engine)
    assert config.get_main_option("sqlalchemy.url") == engine.url.render_as_string(
        hide_password=False
    )


def test_every_capability_with_models_has_its_tables_registered() -> None:
    # core imports no capability: the migrations package finds every models module instead.
    from fullpicture.migrations.tables import MODEL_MODULES

    package_root = Path(migrations.__file__).resolve().parent.parent
    with_models = {path.parent.name for path in package_root.glob("*/models.py")}
    assert {module.__name__.split(".")[1] for module in MODEL_MODULES} == with_models
    assert "core" not in with_models
