"""One settings object, read from the environment (prefix ``FULLPICTURE_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("var")


class Settings(BaseSettings):
    """Operator-facing configuration. Secrets come from the environment, never from the repo."""

    model_config = SettingsConfigDict(env_prefix="FULLPICTURE_", extra="ignore")

    database_url: str = Field(
        default="",
        description="SQLAlchemy URL. Blank means an embedded SQLite file under data_dir.",
    )
    data_dir: Path = Field(default=DEFAULT_DATA_DIR, description="Where embedded data lives.")
    import_chunk_rows: int = Field(default=50_000, ge=1_000, description="Rows per import chunk.")
    import_sqlite_cache_mib: int = Field(
        default=512,
        ge=2,
        description=(
            "SQLite page cache for an import's connection while it runs (restored afterwards)."
        ),
    )
    max_upload_bytes: int = Field(
        default=512 * 1024 * 1024, ge=1024, description="Largest feed file the API accepts."
    )
    max_request_header_bytes: int = Field(
        default=64 * 1024,
        ge=8 * 1024,
        le=1024 * 1024,
        description=(
            "Largest request head (request line and headers) the server reads; a larger one "
            "is refused (400 by the server, 431 by the app) before sign-in is checked."
        ),
    )

    frontend_packages_dir: Path | None = Field(
        default=None,
        description=(
            "Where npm installed the web app's front-end packages (node_modules). "
            "Blank means the checkout's own, which scripts/bootstrap fills with npm ci."
        ),
    )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'fullpicture.sqlite3').as_posix()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
