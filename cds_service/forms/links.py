"""The signed, short-lived link to the documentation form (itsdangerous, HMAC-SHA256).

A link token binds:
- the context id (the CRD coverage-assertion-id: opaque, made by this service) in clear, so the
  form can find the package it belongs to;
- the order and the patient as keyed digests only (no clear identifier in the URL): the form checks
  them against the pre-filled QuestionnaireResponse the server holds for that context;
- the practitioner the link was issued to (the answers' author);
- an expiry (settings.form_link_minutes, 30 by default), checked against the caller's clock.

The key is the service's secret key (settings.patient_hash_key, or the per-install key file), with a
salt of its own so a link can never be confused with any other signed value. Tokens are never logged.

`form_nonce` / `nonce_matches`: a per-render hidden field bound to the token (CSRF, beside the
secret token in the URL).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from base64 import urlsafe_b64encode
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadData, URLSafeSerializer

MAX_TOKEN_CHARS = 2048
_LINK_SALT = "anakinra-cds documentation-form link"
_NONCE_SALT = "anakinra-cds documentation-form nonce"
_SIGNER = {"key_derivation": "hmac", "digest_method": hashlib.sha256}


class FormLinkError(Exception):
    """The link cannot open the form. `message` is for the page; `reason` for the log (never the token)."""

    message = "This link is not valid. Open the form again from the card on the order."

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FormLinkInvalid(FormLinkError):
    pass


class FormLinkExpired(FormLinkError):
    message = "This link has expired. Sign the order again to get a new link to the form."


class FormLinkWrongContext(FormLinkError):
    message = "This link belongs to another order or patient. Open the form from the card on this order."


@dataclass(frozen=True)
class FormLinkContext:
    """What a link is issued for."""

    context_id: str  # the CRD coverage-assertion-id
    order_ref: str  # e.g. "MedicationRequest/123"
    patient_ref: str  # e.g. "Patient/abc"
    practitioner_ref: str  # e.g. "Practitioner/xyz": the answers' author


@dataclass(frozen=True)
class VerifiedFormLink:
    context_id: str
    practitioner_ref: str
    expires_at: datetime
    order_digest: str
    patient_digest: str


def _epoch(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


class FormLinks:
    def __init__(self, secret_key: bytes | str, lifetime_minutes: int = 30) -> None:
        if not secret_key:
            raise ValueError("the form links need a secret key")
        if lifetime_minutes <= 0:
            raise ValueError("the form link lifetime must be positive")
        key = secret_key.encode("utf-8") if isinstance(secret_key, str) else secret_key
        self.lifetime = timedelta(minutes=lifetime_minutes)
        self._links = URLSafeSerializer(key, salt=_LINK_SALT, signer_kwargs=_SIGNER)
        self._nonces = URLSafeSerializer(key, salt=_NONCE_SALT, signer_kwargs=_SIGNER)
        self._digest_key = hmac.new(key, b"anakinra-cds documentation-form binding", hashlib.sha256).digest()

    def digest(self, kind: str, reference: str) -> str:
        mac = hmac.new(self._digest_key, f"{kind}\0{reference}".encode(), hashlib.sha256).digest()
        return urlsafe_b64encode(mac[:16]).decode("ascii").rstrip("=")

    def issue(self, context: FormLinkContext, now: datetime) -> str:
        for name in ("context_id", "order_ref", "patient_ref", "practitioner_ref"):
            if not getattr(context, name):
                raise ValueError(f"a form link needs {name}")
        return self._links.dumps(
            {
                "v": 1,
                "c": context.context_id,
                "a": context.practitioner_ref,
                "o": self.digest("order", context.order_ref),
                "p": self.digest("patient", context.patient_ref),
                "exp": _epoch(now + self.lifetime),
            }
        )

    def verify(self, token: str, now: datetime) -> VerifiedFormLink:
        """The link's binding; raises FormLinkInvalid (malformed, tampered, other key) or FormLinkExpired."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
            raise FormLinkInvalid("malformed token")
        try:
            data = self._links.loads(token)
        except BadData:
            raise FormLinkInvalid("bad signature or payload") from None
        fields = ("c", "a", "o", "p")
        if (
            not isinstance(data, dict)
            or data.get("v") != 1
            or not isinstance(data.get("exp"), int)
            or not all(isinstance(data.get(k), str) and data[k] for k in fields)
        ):
            raise FormLinkInvalid("unexpected payload")
        if _epoch(now) >= data["exp"]:
            raise FormLinkExpired("expired")
        return VerifiedFormLink(
            context_id=data["c"],
            practitioner_ref=data["a"],
            order_digest=data["o"],
            patient_digest=data["p"],
            expires_at=datetime.fromtimestamp(data["exp"], tz=UTC),
        )

    def check_binding(self, link: VerifiedFormLink, order_ref: str | None, patient_ref: str | None) -> None:
        """Raises FormLinkWrongContext unless the order and patient are the ones the link was issued for."""
        ok_order = bool(order_ref) and hmac.compare_digest(self.digest("order", order_ref or ""), link.order_digest)
        ok_patient = bool(patient_ref) and hmac.compare_digest(
            self.digest("patient", patient_ref or ""), link.patient_digest
        )
        if not (ok_order and ok_patient):
            raise FormLinkWrongContext("order or patient differs from the link's")

    # -- CSRF nonce ------------------------------------------------------------------------------
    def _token_digest(self, token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()[:32]

    def form_nonce(self, token: str) -> str:
        return self._nonces.dumps({"t": self._token_digest(token), "r": secrets.token_urlsafe(9)})

    def nonce_matches(self, token: str, nonce: str | None) -> bool:
        if not isinstance(nonce, str) or not nonce or len(nonce) > 512:
            return False
        try:
            data = self._nonces.loads(nonce)
        except BadData:
            return False
        return (
            isinstance(data, dict)
            and isinstance(data.get("t"), str)
            and hmac.compare_digest(data["t"], self._token_digest(token))
        )


def form_url(base_url: str, token: str) -> str:
    """The absolute link a card offers (settings.external_base_url + /documentation/<token>)."""
    return f"{base_url.rstrip('/')}/documentation/{token}"
