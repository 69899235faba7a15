"""One settings object, read from the environment (prefix ``FULLPICTURE_``); every variable is
in the README's table (tests/core/test_settings.py checks)."""

from __future__ import annotations

import logging
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("var")

log = logging.getLogger(__name__)


class AccessSettings(BaseSettings):
    """The access part of the settings: sessions, lock-out, tokens, break-glass, OIDC
    (docs/security.md). ``Settings`` holds these and the rest; use ``get_settings()``."""

    model_config = SettingsConfigDict(env_prefix="FULLPICTURE_", extra="ignore")

    session_secret: SecretStr = Field(
        default=SecretStr(""),
        description=(
            "Key that signs session and CSRF cookies. Blank means a random key per process "
            "(sessions end when the server restarts); set it in production."
        ),
    )
    session_hours: float = Field(default=8, gt=0, le=24, description="Absolute session lifetime.")
    session_idle_minutes: float = Field(
        default=30, gt=0, le=24 * 60, description="A session unused this long ends."
    )
    lockout_threshold: int = Field(
        default=5, ge=1, le=100, description="Failed sign-ins in a row before the account locks."
    )
    lockout_minutes: float = Field(default=15, gt=0, description="How long a lock-out lasts.")
    sign_in_throttle_failures: int = Field(
        default=20,
        ge=1,
        le=10_000,
        description="Refused sign-ins from one client address (an IPv6 /64), whatever the "
        "usernames, within the window before further attempts from it are answered 429.",
    )
    sign_in_throttle_minutes: float = Field(
        default=15, gt=0, le=24 * 60, description="The window refused sign-ins are counted in."
    )
    password_min_length: int = Field(default=12, ge=8)
    api_token_max_days: int = Field(default=90, ge=1, le=366)
    break_glass_max_minutes: int = Field(
        default=60, ge=5, le=24 * 60, description="Longest break-glass grant."
    )
    force_secure_cookies: bool = Field(
        default=False,
        description="Mark cookies Secure and send HSTS even when TLS ends at a proxy "
        "that does not forward the scheme.",
    )
    concurrent_database_requests: int = Field(
        default=0,
        ge=0,
        le=64,
        description="Requests let into the database at once, per server process; 0 means 1 on "
        "SQLite, 8 on PostgreSQL. The connection pool keeps as many connections (keep it below "
        "the worker threads and the database's max_connections over all processes).",
    )
    web_workers: int = Field(
        default=0,
        ge=0,
        le=32,
        description="Server processes `fullpicture serve` runs (each with its own threads and "
        "connection pool); 0 means one per core on PostgreSQL and one on SQLite (which takes "
        "one writer at a time).",
    )
    audit_checkpoint_key: str = Field(
        default="",
        description="Path of the Ed25519 private key that signs audit checkpoints (made by "
        "`fullpicture audit keygen`); outside the repository and the database. Blank: no "
        "checkpoints, and `audit verify` cannot tell a chain cut at its end.",
    )
    audit_checkpoint_file: str = Field(
        default="",
        description="Append-only file of signed checkpoints; blank means "
        "<FULLPICTURE_DATA_DIR>/audit-checkpoints.jsonl.",
    )
    audit_checkpoint_every: int = Field(
        default=1000,
        ge=0,
        description="The application writes a checkpoint after every this many audit entries "
        "(0: only `audit checkpoint` and `audit verify` write them).",
    )
    oidc_issuer: str = Field(default="", description="OpenID Connect issuer URL; blank disables.")
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr = SecretStr("")
    oidc_redirect_url: str = Field(
        default="", description="This app's callback, e.g. https://fp.example/sign-in/oidc/callback"
    )

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id and self.oidc_redirect_url)


class Settings(AccessSettings):
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
    import_max_row_bytes: int = Field(
        default=1024 * 1024,
        ge=4096,
        description=(
            "Longest line (and CSV field) a feed file may hold: a longer JSON Lines row is "
            "quarantined, a CSV file with one is refused (its rows cannot be told apart)."
        ),
    )
    import_max_parquet_column_chunk_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=4096,
        description=(
            "Largest column of one Parquet row group (uncompressed, from the file's metadata) "
            "an import reads: pyarrow decodes a column chunk whole, so a larger one is refused "
            "before it is read; re-export with smaller row groups."
        ),
    )
    import_max_quarantined_rows: int = Field(
        default=50_000,
        ge=1,
        description=(
            "More quarantined rows than this in one batch and the batch is refused as a whole: "
            "its files are not feeds, or are too broken to repair row by row."
        ),
    )
    import_max_seconds: int = Field(
        default=3600,
        ge=1,
        description="Time budget of one import; a batch still running after it is rolled back.",
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


@lru_cache(maxsize=1)
def session_signing_key() -> str:
    configured = get_settings().session_secret.get_secret_value()
    if configured:
        return configured
    log.warning(
        "FULLPICTURE_SESSION_SECRET is not set: using a random key; sessions end on restart."
    )
    return secrets.token_urlsafe(48)
