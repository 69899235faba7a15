"""Access settings, from the environment (prefix ``FULLPICTURE_``). No secret has a default."""

from __future__ import annotations

import logging
import secrets
from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)


class AccessSettings(BaseSettings):
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
        description="Requests let into the database at once; 0 means 1 on SQLite, 8 on PostgreSQL "
        "(keep it below the connection pool and the worker threads).",
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


@lru_cache(maxsize=1)
def get_access_settings() -> AccessSettings:
    return AccessSettings()


@lru_cache(maxsize=1)
def session_signing_key() -> str:
    configured = get_access_settings().session_secret.get_secret_value()
    if configured:
        return configured
    log.warning(
        "FULLPICTURE_SESSION_SECRET is not set: using a random key; sessions end on restart."
    )
    return secrets.token_urlsafe(48)
