"""Render an explanation (`core.explain`) as a readable table for a pharmacist (`anakinra-cds explain`)."""

from __future__ import annotations


def _rows(node: dict, depth: int, out: list[tuple[str, str, str, str]]) -> None:
    evidence = "; ".join(
        e["description"] + (f" [{e['reference']}]" if e.get("reference") else "") for e in node.get("evidence", [])[:3]
    )
    label = ("  " * depth) + node["clause"] + (f" ({node['combinator']})" if node.get("combinator") else "")
    out.append((label, node["outcome"], node.get("note", ""), evidence))
    for child in node.get("children", []):
        _rows(child, depth + 1, out)


def render_table(doc: dict) -> str:
    lines = [
        f"Guideline {doc['policy']['id']} revision {doc['policy']['revision']}: {doc['policy']['title']}",
        f"hook {doc['hook']}  hookInstance {doc['hookInstance']}",
    ]
    if not doc["orders"]:
        lines.append("No anakinra order to evaluate (the service answers with no cards).")
    for order in doc["orders"]:
        lines.append("")
        lines.append(
            f"Order {order['order']} ({order['orderLabel']}): {order['determination'].upper()}"
            f"  pathway {order['pathway']}  indication {order.get('indication', 'unknown')}"
            f"  as of {order.get('asOf', '?')}"
        )
        extra = []
        if order.get("paNeeded"):
            extra.append(f"prior authorization: {order['paNeeded']}")
        if order.get("approvalMonths"):
            extra.append(f"approval duration: {order['approvalMonths']} month(s)")
        if order.get("program"):
            extra.append(f"program: {order['program']}")
        if extra:
            lines.append("  " + "  |  ".join(extra))
        for r in order.get("reasons", []):
            lines.append(f"  reason: {r}")

        rows: list[tuple[str, str, str, str]] = []
        for top in order["clauses"]:
            _rows(top, 0, rows)
        w0 = max(len(r[0]) for r in rows)
        w1 = max(len(r[1]) for r in rows)
        lines.append(f"  {'clause'.ljust(w0)}  {'outcome'.ljust(w1)}  why / evidence")
        for clause, outcome, note, ev in rows:
            text = note + (f" -- {ev}" if ev else "")
            lines.append(f"  {clause.ljust(w0)}  {outcome.ljust(w1)}  {text[:160]}")
        for m in order.get("missing", []):
            lines.append(f"  needed ({m['need']}): {m['text']}")
    return "\n".join(lines)
