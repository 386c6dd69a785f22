"""Settings, read once from the environment into a frozen dataclass.

Two profiles:
- `demo` (the embedded default of `anakinra-cds serve`): auth off (with a loud log line), the
  CDS Hooks Sandbox issuer accepted when auth is turned on, the embedded FHIR server on
  loopback allowed, SQLite in ./var.
- `production` (the default for gunicorn through `cds_service.wsgi`): auth on, nothing trusted
  unless configured.

Every variable is documented in docs/configuration.md.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _list(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(v.strip() for v in value.split(",") if v.strip())


@dataclass(frozen=True)
class TrustedIssuer:
    iss: str
    jwks_file: str | None = None  # a local JWKS file (pinned keys)
    jwks_url: str | None = None  # fetched (cached) from this URL only
    jku_allow: tuple[str, ...] = ()  # jku header values accepted for this issuer
    # A jku in a token is only ever fetched when it is in jku_allow.


@dataclass(frozen=True)
class Settings:
    profile: str = "production"  # production | demo
    # Public identity
    external_base_url: str = "http://127.0.0.1:8080"  # what EHRs call; JWT aud is checked against it
    plan_name: str = ""  # source.label; empty -> the policy data's plan name
    # Auth (CDS Hooks "Trusting CDS Clients")
    auth_enabled: bool = True
    trusted_issuers: tuple[TrustedIssuer, ...] = ()
    allow_sandbox_issuer: bool = False  # https://sandbox.cds-hooks.org, pinned JWKS (demo only)
    jwt_algorithms: tuple[str, ...] = ("ES384", "RS384", "ES256", "RS256", "PS384")
    jwt_leeway_seconds: int = 60
    tenant_allow: tuple[str, ...] = ()
    replay_cache_url: str = ""  # redis://... or sqlite path; empty -> var/replay.sqlite
    # Outbound FHIR (fhirServer is untrusted input)
    fhir_allow: tuple[str, ...] = ()  # allowed FHIR base URLs (prefix match on scheme://host:port/path)
    fhir_timeout_seconds: float = 2.0  # per request
    fhir_budget_seconds: float = 3.0  # total per hook call
    fhir_max_bytes: int = 5_000_000  # per response body
    fhir_max_pages: int = 10  # per search
    fhir_max_workers: int = 8
    # Inbound limits
    max_body_bytes: int = 2_000_000
    max_json_depth: int = 64
    max_draft_orders: int = 50
    # Persistence
    database_url: str = ""  # empty -> sqlite:///var/anakinra-cds.sqlite
    patient_hash_key: str = ""  # HMAC key for patient/member hashes; empty -> per-install random file
    audit_spool_max_bytes: int = 64 * 1024 * 1024  # local spool for audit rows while the database is down
    # The documentation form's signed link (issue 21): minutes it stays valid
    form_link_minutes: int = 30
    # Demo
    demo_draft_card: bool = False  # offer "Draft Kineret order" when a draft has no medication
    embedded_fhir_url: str = ""  # set by `serve` when it starts the embedded FHIR server
    var_dir: str = "var"
    log_level: str = "INFO"
    extra: dict = field(default_factory=dict)

    @property
    def is_demo(self) -> bool:
        return self.profile == "demo"

    def with_overrides(self, **kw) -> Settings:
        return replace(self, **kw)


class ConfigError(ValueError):
    """An environment variable has a value the service cannot use (the message names it)."""


def _num(env: dict, name: str, kind):
    raw = env[name]
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a valid {'integer' if kind is int else 'number'}") from None
    if value < 0:
        raise ConfigError(f"{name} must not be negative")
    return value


def _issuers_from_env(raw: str | None) -> tuple[TrustedIssuer, ...]:
    """CDS_TRUSTED_ISSUERS is a JSON list: [{"iss": ..., "jwks_file"| "jwks_url": ..., "jku_allow": [...]}]."""
    if not raw:
        return ()
    try:
        items = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"CDS_TRUSTED_ISSUERS is not valid JSON: {exc}") from None
    if not isinstance(items, list):
        raise ConfigError("CDS_TRUSTED_ISSUERS must be a JSON list of issuer objects")
    out = []
    seen: set[str] = set()
    for i, it in enumerate(items):
        if not isinstance(it, dict) or not isinstance(it.get("iss"), str) or not it["iss"]:
            raise ConfigError(f'CDS_TRUSTED_ISSUERS[{i}] needs an "iss" string')
        where = f"CDS_TRUSTED_ISSUERS[{i}] ({it['iss']})"
        if it["iss"] in seen:
            raise ConfigError(f"{where} is listed more than once")
        seen.add(it["iss"])
        jku_allow = it.get("jku_allow", [])
        if not isinstance(jku_allow, list) or not all(isinstance(u, str) and u for u in jku_allow):
            raise ConfigError(f'{where}: "jku_allow" must be a list of URLs')
        if it.get("jwks_file") and it.get("jwks_url"):
            raise ConfigError(f'{where}: give "jwks_file" or "jwks_url", not both')
        # The key sources: a pinned file, one JWKS URL, or only the `jku` values allowed for this issuer.
        if not (it.get("jwks_file") or it.get("jwks_url") or jku_allow):
            raise ConfigError(f'{where} needs a key source: "jwks_file", "jwks_url" or "jku_allow"')
        out.append(
            TrustedIssuer(
                iss=it["iss"],
                jwks_file=it.get("jwks_file"),
                jwks_url=it.get("jwks_url"),
                jku_allow=tuple(jku_allow),
            )
        )
    return tuple(out)


def demo_settings(host: str = "127.0.0.1", port: int = 8080, **overrides) -> Settings:
    base = Settings(
        profile="demo",
        external_base_url=f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}",  # noqa: S104  (a comparison, not a bind)
        auth_enabled=False,
        allow_sandbox_issuer=True,
        demo_draft_card=True,
        fhir_allow=("http://127.0.0.1:8913/fhir", "http://localhost:8913/fhir"),
    )
    return replace(base, **overrides)


def from_env(env: dict[str, str] | None = None, profile: str | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    prof = profile or env.get("CDS_PROFILE", "production")
    base = demo_settings() if prof == "demo" else Settings()
    kw: dict = {}
    if "CDS_EXTERNAL_BASE_URL" in env:
        kw["external_base_url"] = env["CDS_EXTERNAL_BASE_URL"].rstrip("/")
    if "CDS_PLAN_NAME" in env:
        kw["plan_name"] = env["CDS_PLAN_NAME"]
    if "CDS_AUTH" in env:
        kw["auth_enabled"] = _bool(env["CDS_AUTH"], base.auth_enabled)
    if "CDS_TRUSTED_ISSUERS" in env:
        kw["trusted_issuers"] = _issuers_from_env(env["CDS_TRUSTED_ISSUERS"])
    if "CDS_ALLOW_SANDBOX_ISSUER" in env:
        kw["allow_sandbox_issuer"] = _bool(env["CDS_ALLOW_SANDBOX_ISSUER"], base.allow_sandbox_issuer)
    if "CDS_JWT_ALGORITHMS" in env:
        kw["jwt_algorithms"] = _list(env["CDS_JWT_ALGORITHMS"])
    if "CDS_JWT_LEEWAY_SECONDS" in env:
        kw["jwt_leeway_seconds"] = _num(env, "CDS_JWT_LEEWAY_SECONDS", int)
    if "CDS_TENANT_ALLOW" in env:
        kw["tenant_allow"] = _list(env["CDS_TENANT_ALLOW"])
    if "CDS_REPLAY_CACHE_URL" in env:
        kw["replay_cache_url"] = env["CDS_REPLAY_CACHE_URL"]
    if "CDS_FHIR_ALLOW" in env:
        kw["fhir_allow"] = _list(env["CDS_FHIR_ALLOW"])
    if "CDS_FHIR_TIMEOUT_SECONDS" in env:
        kw["fhir_timeout_seconds"] = _num(env, "CDS_FHIR_TIMEOUT_SECONDS", float)
    if "CDS_FHIR_BUDGET_SECONDS" in env:
        kw["fhir_budget_seconds"] = _num(env, "CDS_FHIR_BUDGET_SECONDS", float)
    if "CDS_FHIR_MAX_BYTES" in env:
        kw["fhir_max_bytes"] = _num(env, "CDS_FHIR_MAX_BYTES", int)
    if "CDS_FHIR_MAX_PAGES" in env:
        kw["fhir_max_pages"] = _num(env, "CDS_FHIR_MAX_PAGES", int)
    if "CDS_MAX_BODY_BYTES" in env:
        kw["max_body_bytes"] = _num(env, "CDS_MAX_BODY_BYTES", int)
    if "DATABASE_URL" in env:
        kw["database_url"] = env["DATABASE_URL"]
    if "CDS_AUDIT_SPOOL_MAX_BYTES" in env:
        kw["audit_spool_max_bytes"] = _num(env, "CDS_AUDIT_SPOOL_MAX_BYTES", int)
    if "CDS_PATIENT_HASH_KEY" in env:
        kw["patient_hash_key"] = env["CDS_PATIENT_HASH_KEY"]
    if "CDS_FORM_LINK_MINUTES" in env:
        kw["form_link_minutes"] = _num(env, "CDS_FORM_LINK_MINUTES", int)
        if kw["form_link_minutes"] == 0:
            raise ConfigError("CDS_FORM_LINK_MINUTES must be at least 1")
    if "CDS_DEMO_DRAFT_CARD" in env:
        kw["demo_draft_card"] = _bool(env["CDS_DEMO_DRAFT_CARD"], base.demo_draft_card) and prof == "demo"
    if "CDS_VAR_DIR" in env:
        kw["var_dir"] = env["CDS_VAR_DIR"]
    if "CDS_LOG_LEVEL" in env:
        kw["log_level"] = env["CDS_LOG_LEVEL"]
    settings = replace(base, **kw)
    if not settings.is_demo:
        # Never in production: the demo draft card and the public Sandbox key (its private key is published).
        settings = replace(settings, demo_draft_card=False, allow_sandbox_issuer=False)
    return settings


def var_path(settings: Settings, name: str) -> Path:
    p = Path(settings.var_dir)
    p.mkdir(parents=True, exist_ok=True)
    return p / name
