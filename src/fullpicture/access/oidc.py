"""OpenID Connect sign-in (authorisation code flow with PKCE), configured by settings alone.

The ID token comes straight from the issuer's token endpoint over TLS in exchange for the
code and the client secret, so — as OpenID Connect Core 1.0 §3.1.3.7 (6) allows — TLS
authenticates the issuer in place of checking the token's signature; every claim the spec
requires (iss, aud, azp, exp, iat, nonce) is still checked. Plain http is accepted only for
an issuer on the loopback interface (local testing). Users are never created here: an
administrator links an account to ``issuer|sub`` with ``fullpicture user create --oidc-subject``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from fullpicture.core.settings import Settings

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
CLOCK_SKEW = dt.timedelta(minutes=2)


class OidcError(Exception):
    """Sign-in through the organisation's identity provider failed; the message says how."""


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str


@dataclass(frozen=True)
class OidcAttempt:
    """What the browser carries (signed) between the redirect out and the callback."""

    state: str
    nonce: str
    code_verifier: str
    next_path: str

    @classmethod
    def new(cls, next_path: str) -> OidcAttempt:
        return cls(
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            code_verifier=secrets.token_urlsafe(48),
            next_path=next_path,
        )

    @property
    def code_challenge(self) -> str:
        digest = hashlib.sha256(self.code_verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _require_secure(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS):
        return
    raise OidcError(f"{url} must use https")


def discover(settings: Settings, client: httpx.Client) -> ProviderMetadata:
    issuer = settings.oidc_issuer.rstrip("/")
    _require_secure(issuer)
    response = client.get(f"{issuer}/.well-known/openid-configuration")
    if response.status_code != 200:
        raise OidcError(f"the identity provider's configuration answered {response.status_code}")
    document = response.json()
    if document.get("issuer", "").rstrip("/") != issuer:
        raise OidcError("the identity provider reports a different issuer than configured")
    metadata = ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=str(document["authorization_endpoint"]),
        token_endpoint=str(document["token_endpoint"]),
    )
    _require_secure(metadata.authorization_endpoint)
    _require_secure(metadata.token_endpoint)
    return metadata


def authorisation_url(settings: Settings, metadata: ProviderMetadata, attempt: OidcAttempt) -> str:
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.oidc_client_id,
            "redirect_uri": settings.oidc_redirect_url,
            "scope": "openid email profile",
            "state": attempt.state,
            "nonce": attempt.nonce,
            "code_challenge": attempt.code_challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"{metadata.authorization_endpoint}?{query}"


def _decode_segment(segment: str) -> dict[str, Any]:
    padded = segment + "=" * (-len(segment) % 4)
    value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    if not isinstance(value, dict):
        raise OidcError("the ID token is malformed")
    return value


def exchange_code(
    *,
    settings: Settings,
    metadata: ProviderMetadata,
    attempt: OidcAttempt,
    code: str,
    client: httpx.Client,
    now: dt.datetime,
) -> str:
    """Swap the code for an ID token, check its claims, and return ``issuer|sub``."""
    response = client.post(
        metadata.token_endpoint,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": settings.oidc_redirect_url,
            "code_verifier": attempt.code_verifier,
        },
        auth=(settings.oidc_client_id, settings.oidc_client_secret.get_secret_value()),
    )
    if response.status_code != 200:
        raise OidcError(f"the identity provider refused the code ({response.status_code})")
    id_token = response.json().get("id_token")
    if not isinstance(id_token, str) or id_token.count(".") != 2:
        raise OidcError("the identity provider sent no ID token")
    try:
        claims = _decode_segment(id_token.split(".")[1])
    except (ValueError, UnicodeError) as exc:
        raise OidcError("the ID token is malformed") from exc
    check_claims(claims, settings=settings, metadata=metadata, nonce=attempt.nonce, now=now)
    return f"{metadata.issuer}|{claims['sub']}"


def check_claims(
    claims: dict[str, Any],
    *,
    settings: Settings,
    metadata: ProviderMetadata,
    nonce: str,
    now: dt.datetime,
) -> None:
    """The ID token checks of OpenID Connect Core 1.0 §3.1.3.7 (bar the signature; see above)."""
    if str(claims.get("iss", "")).rstrip("/") != metadata.issuer:
        raise OidcError("the ID token is from another issuer")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if settings.oidc_client_id not in audiences:
        raise OidcError("the ID token is for another client")
    if len(audiences) > 1 and claims.get("azp") != settings.oidc_client_id:
        raise OidcError("the ID token's authorised party is another client")
    if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
        raise OidcError("the ID token does not answer this sign-in (nonce)")
    try:
        expires = dt.datetime.fromtimestamp(int(claims["exp"]), dt.UTC)
        issued = dt.datetime.fromtimestamp(int(claims["iat"]), dt.UTC)
    except (KeyError, TypeError, ValueError) as exc:
        raise OidcError("the ID token has no valid exp/iat") from exc
    if expires + CLOCK_SKEW < now or issued - CLOCK_SKEW > now:
        raise OidcError("the ID token has expired or is not yet valid")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise OidcError("the ID token names no subject")
