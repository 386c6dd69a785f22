"""Everything gathered for one hook call: resources by type, and what could not be had."""

from __future__ import annotations

from dataclasses import dataclass, field


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
        bucket.setdefault(key, resource)

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
