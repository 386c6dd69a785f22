"""Everything gathered for one hook call: resources by type, and what could not be had."""

from __future__ import annotations

from dataclasses import dataclass, field


def _version_order(a: dict, b: dict) -> int:
    """1 when `a` is a later version than `b` by meta.versionId (numbers) or meta.lastUpdated, -1 when earlier,
    0 when meta cannot tell."""
    ma = a.get("meta") if isinstance(a.get("meta"), dict) else {}
    mb = b.get("meta") if isinstance(b.get("meta"), dict) else {}
    va, vb = ma.get("versionId"), mb.get("versionId")
    if isinstance(va, str) and isinstance(vb, str) and va.isdigit() and vb.isdigit() and int(va) != int(vb):
        return 1 if int(va) > int(vb) else -1
    la, lb = ma.get("lastUpdated"), mb.get("lastUpdated")
    if isinstance(la, str) and isinstance(lb, str) and la != lb and la[:4].isdigit() and lb[:4].isdigit():
        return 1 if la > lb else -1
    return 0


@dataclass
class PatientRecord:
    patient_id: str
    resources: dict[str, dict[str, dict]] = field(default_factory=dict)   # type -> id -> resource
    unavailable: set[str] = field(default_factory=set)                     # data-need keys we could not obtain
    technical_errors: list[str] = field(default_factory=list)              # human text, never tokens
    sources: dict[str, str] = field(default_factory=dict)                  # need key -> prefetch | fhir | null

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
        order = _version_order(resource, existing)
        if order > 0:
            bucket[key] = resource
        elif order == 0:
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

    @property
    def technical_failure(self) -> bool:
        return bool(self.technical_errors)
