"""The signed form link: binding, tampering, expiry (pinned clock), wrong context, and the CSRF nonce."""

from __future__ import annotations

import json
import zlib
from base64 import urlsafe_b64decode, urlsafe_b64encode
from datetime import UTC, datetime, timedelta

import pytest

from cds_service.forms.links import (
    FormLinkContext,
    FormLinkExpired,
    FormLinkInvalid,
    FormLinks,
    FormLinkWrongContext,
    form_url,
)

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
KEY = b"k" * 32
CTX = FormLinkContext(
    context_id="caid-123",
    order_ref="MedicationRequest/mr-1",
    patient_ref="Patient/pat-1",
    practitioner_ref="Practitioner/prac-1",
)


def _payload(token: str) -> str:
    """The token's readable payload (itsdangerous compresses it when that is shorter: a leading dot)."""
    compressed = token.startswith(".")
    part = token.lstrip(".").split(".")[0]
    raw = urlsafe_b64decode(part + "=" * (-len(part) % 4))
    return (zlib.decompress(raw) if compressed else raw).decode()


def test_round_trip_binds_the_context():
    links = FormLinks(KEY)
    token = links.issue(CTX, NOW)
    link = links.verify(token, NOW + timedelta(minutes=29))
    assert link.context_id == "caid-123" and link.practitioner_ref == "Practitioner/prac-1"
    assert link.expires_at == NOW + timedelta(minutes=30)
    links.check_binding(link, "MedicationRequest/mr-1", "Patient/pat-1")  # no exception


def test_no_clear_patient_or_order_in_the_url():
    token = FormLinks(KEY).issue(CTX, NOW)
    decoded = _payload(token)
    assert "pat-1" not in decoded and "mr-1" not in decoded and "Patient" not in decoded
    assert "pat-1" not in token and "mr-1" not in token
    assert json.loads(decoded)["c"] == "caid-123"


def test_expiry_with_a_pinned_clock_and_configurable_lifetime():
    links = FormLinks(KEY)
    token = links.issue(CTX, NOW)
    with pytest.raises(FormLinkExpired):
        links.verify(token, NOW + timedelta(minutes=30))
    short = FormLinks(KEY, lifetime_minutes=5)
    with pytest.raises(FormLinkExpired):
        short.verify(short.issue(CTX, NOW), NOW + timedelta(minutes=5, seconds=1))
    with pytest.raises(ValueError):
        FormLinks(KEY, lifetime_minutes=0)


def _flip(text: str, at: int) -> str:
    return text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1 :]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: _flip(t, 5),  # payload changed
        lambda t: _flip(t, len(t) - 3),  # signature changed
        lambda t: t.split(".")[0],  # signature removed
        lambda t: t + "x",
        lambda t: "",
        lambda t: "a" * 5000,
        lambda t: "not.a.token",
    ],
)
def test_tampered_tokens_are_invalid(mangle):
    links = FormLinks(KEY)
    with pytest.raises(FormLinkInvalid):
        links.verify(mangle(links.issue(CTX, NOW)), NOW)


def test_a_forged_payload_with_a_longer_expiry_is_invalid():
    links = FormLinks(KEY)
    token = links.issue(CTX, NOW)
    sig = token.rsplit(".", 1)[1]
    data = json.loads(_payload(token))
    data["exp"] += 86400
    forged = urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")
    with pytest.raises(FormLinkInvalid):
        links.verify(f"{forged}.{sig}", NOW)


def test_another_key_cannot_issue_links():
    with pytest.raises(FormLinkInvalid):
        FormLinks(KEY).verify(FormLinks(b"z" * 32).issue(CTX, NOW), NOW)


@pytest.mark.parametrize(
    "order,patient",
    [
        ("MedicationRequest/mr-2", "Patient/pat-1"),
        ("MedicationRequest/mr-1", "Patient/pat-2"),
        (None, "Patient/pat-1"),
        ("MedicationRequest/mr-1", None),
    ],
)
def test_other_context_is_refused(order, patient):
    links = FormLinks(KEY)
    link = links.verify(links.issue(CTX, NOW), NOW)
    with pytest.raises(FormLinkWrongContext):
        links.check_binding(link, order, patient)


def test_issue_needs_every_part_of_the_context():
    with pytest.raises(ValueError):
        FormLinks(KEY).issue(FormLinkContext("caid", "MedicationRequest/1", "", "Practitioner/1"), NOW)


def test_nonce_is_bound_to_its_token():
    links = FormLinks(KEY)
    token = links.issue(CTX, NOW)
    other = links.issue(FormLinkContext("caid-999", "MedicationRequest/9", "Patient/9", "Practitioner/9"), NOW)
    nonce = links.form_nonce(token)
    assert links.nonce_matches(token, nonce)
    assert links.form_nonce(token) != nonce  # fresh per render
    assert not links.nonce_matches(other, nonce)
    assert not links.nonce_matches(token, None)
    assert not links.nonce_matches(token, _flip(nonce, len(nonce) - 2))
    assert not FormLinks(b"z" * 32).nonce_matches(token, nonce)


def test_form_url():
    assert form_url("https://cds.example.org/", "abc.def") == "https://cds.example.org/documentation/abc.def"
