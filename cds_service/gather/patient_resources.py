"""The patient's FHIR resources gathered for one hook call (by type and id), and what could not be had."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class PatientResources:
    patient_id: str
    resources: dict[str, dict[str, dict]] = field(default_factory=dict)  # type -> id -> resource
    unavailable: set[str] = field(default_factory=set)  # data-need keys we could not obtain
    technical_errors: list[str] = field(default_factory=list)  # human text, never tokens
    sources: dict[str, str] = field(default_factory=dict)  # need key -> prefetch | fhir | null

    def add(self, resource: dict) -> None:
        if not isinstance(resource, dict):
            return
        rtype = resource.get("resourceType")
        if not isinstance(rtype, str):
            return
        if rtype == "OperationOutcome":
            return
        rid = resource.get("id")
        bucket = self.resources.setdefault(rtype, {})
        key = rid if isinstance(rid, str) and rid else f"_anon{len(bucket)}"
        existing = bucket.get(key)
        if existing is None:
            bucket[key] = resource
            return
        if existing == resource:
            return
        # Two different resources under one id (a Bundle against bdl-7, or prefetch and search disagreeing):
        # the newer version wins when meta says which it is; otherwise both are kept, since dropping either
        # could drop the evidence, or the refutation, the chart holds.
        newer = _newer(resource, existing)
        if newer is resource:
            bucket[key] = resource
        elif newer is None:
            n = 2
            while f"{key}#{n}" in bucket:
                if bucket[f"{key}#{n}"] == resource:
                    return
                n += 1
            bucket[f"{key}#{n}"] = resource

    def of(self, rtype: str) -> list[dict]:
        return list(self.resources.get(rtype, {}).values())

    def get(self, reference: str | None) -> dict | None:
        if not reference or "/" not in reference:
            return None
        parts = reference.rstrip("/").split("/")
        rtype, rid = parts[-2], parts[-1]
        return self.resources.get(rtype, {}).get(rid)


def _when(res: dict) -> datetime | None:
    meta = res.get("meta")
    value = meta.get("lastUpdated") if isinstance(meta, dict) else None
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def _version(res: dict) -> int | None:
    meta = res.get("meta")
    value = meta.get("versionId") if isinstance(meta, dict) else None
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _newer(a: dict, b: dict) -> dict | None:
    """The newer of two versions of one resource (meta.lastUpdated, else a numeric meta.versionId), or None when
    their metadata do not order them."""
    wa, wb = _when(a), _when(b)
    if wa is not None and wb is not None and wa != wb:
        return a if wa > wb else b
    va, vb = _version(a), _version(b)
    if va is not None and vb is not None and va != vb:
        return a if va > vb else b
    return None
