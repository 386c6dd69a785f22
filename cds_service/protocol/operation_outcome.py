"""FHIR OperationOutcome bodies for error responses (CDS Hooks 3.0 SHOULD, harmless under 2.0)."""

from __future__ import annotations


def operation_outcome(
    message: str, code: str = "invalid", severity: str = "error", expression: str | None = None
) -> dict:
    issue: dict = {"severity": severity, "code": code, "details": {"text": message}, "diagnostics": message}
    if expression:
        issue["expression"] = [expression]
    return {"resourceType": "OperationOutcome", "issue": [issue]}
