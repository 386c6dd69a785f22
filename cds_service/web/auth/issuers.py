"""Which CDS Clients are trusted, and where each one's keys come from (settings.trusted_issuers, plus
the public CDS Hooks Sandbox when settings.allow_sandbox_issuer, answered from a pinned file)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cds_service.config import Settings, TrustedIssuer

from .errors import log
from .keys import KeySource, RemoteKeySource, StaticKeySource

SANDBOX_ISSUER = "https://sandbox.cds-hooks.org"
SANDBOX_JKU = "https://sandbox.cds-hooks.org/.well-known/jwks.json"
SANDBOX_JWKS_FILE = Path(__file__).parent.parent / "keys" / "sandbox-jwks.json"


@dataclass
class IssuerTrust:
    """One trusted issuer: its default key source (None when it only names jku URLs) and the key
    source of each allow-listed `jku`."""

    iss: str
    default: KeySource | None
    by_jku: dict[str, KeySource] = field(default_factory=dict)


def build_issuer(ti: TrustedIssuer, timeout: float) -> IssuerTrust:
    if ti.jwks_file and ti.jwks_url:
        raise ValueError(f"trusted issuer {ti.iss}: set jwks_file or jwks_url, not both")
    default: StaticKeySource | RemoteKeySource | None = None
    if ti.jwks_file:
        default = StaticKeySource.from_file(ti.jwks_file)
    elif ti.jwks_url:
        default = RemoteKeySource(ti.jwks_url, timeout)
    by_jku: dict[str, KeySource] = {}
    for url in ti.jku_allow:
        if isinstance(default, RemoteKeySource) and url == default.url:
            by_jku[url] = default
        else:
            by_jku[url] = RemoteKeySource(url, timeout)
    if default is None and not by_jku:
        raise ValueError(f"trusted issuer {ti.iss}: no key source (jwks_file, jwks_url or jku_allow)")
    return IssuerTrust(ti.iss, default, by_jku)


def build_issuers(
    settings: Settings, *, sandbox_jwks_file: str | Path, jwks_timeout_seconds: float
) -> dict[str, IssuerTrust]:
    """The trusted issuers by `iss`. Raises ValueError on a configuration error."""
    issuers: dict[str, IssuerTrust] = {}
    for ti in settings.trusted_issuers:
        if ti.iss in issuers:
            raise ValueError(f"trusted issuer {ti.iss} is configured twice")
        issuers[ti.iss] = build_issuer(ti, jwks_timeout_seconds)
    if settings.allow_sandbox_issuer and SANDBOX_ISSUER not in issuers:
        pinned = StaticKeySource.from_file(sandbox_jwks_file)
        # The sandbox names its jku; we accept that value and answer it from the pinned file.
        issuers[SANDBOX_ISSUER] = IssuerTrust(SANDBOX_ISSUER, pinned, {SANDBOX_JKU: pinned})
        log.warning(
            "JWTs from the public CDS Hooks Sandbox (%s) are accepted. Its private key is "
            "public: anyone can mint such tokens. Demo use only.",
            SANDBOX_ISSUER,
        )
    return issuers
