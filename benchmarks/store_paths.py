"""The store's two SQLite paths side by side, in one process: the fast path (`store/sqlite_fast_path.py`,
the default) and the plain SQLAlchemy path (`Store(..., sqlite_fast_path=False)`).

    .venv/bin/python -m benchmarks.store_paths [--blocks 20] [--per-block 100]

Two measurements, each alternating blocks of the two paths (fast first in odd blocks, plain first in even
ones) so that the machine's drift falls on both alike; CPU time of this process per call, medians over
the blocks:
- `store_calls`: `record_call` (an audit row of the large chart's size) and `previous_authorizations`
  alone, each path on its own SQLite file;
- `flask_path`: the whole order-sign call of the large chart (production settings: a signed ES384 JWT
  per call, SQLite replay cache and audit store) through the Flask test client, two apps that differ
  only in their Store's path.
Prints one JSON report. Results: benchmarks/README.md, "The store's speed tricks".
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from cds_service.app import create_app, warm_up
from cds_service.config import from_env
from cds_service.store import AuditEntry, Store, member_ref, patient_hash

from . import chart
from .load import ORDER_SIGN_PATH, service_env
from .tokens import make_key, mint_many, write_jwks

KEY = b"store-paths-benchmark-key-0123456"
T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def _entry() -> AuditEntry:
    """An audit row the size of the large chart's: one order, ~120 clause outcomes, two cards."""
    return AuditEntry(
        service_id="anakinra-crd-order-sign",
        hook_instance="d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        called_at=T0,
        http_status=200,
        latency_ms=8.4,
        patient_hash=patient_hash(KEY, "bench-chart-pat"),
        policy_id="kineret-mcg-09-J0000-45",
        policy_revision="2025-10",
        determinations=[
            {
                "order": "MedicationRequest/mr-1",
                "determination": "covered",
                "paNeeded": "satisfied",
                "pathway": "continuation",
                "indication": "ra",
                "satisfiedPaId": "PA-X",
            }
        ],
        clause_outcomes=[
            {
                "order": "MedicationRequest/mr-1",
                "clauses": {f"ra.initiation.{i}": ("met" if i % 3 else "not-met") for i in range(120)},
            }
        ],
        coverage_assertion_ids=["ca-1111"],
        card_uuids=["card-1", "card-2"],
    )


def _alternate(calls: dict[str, Callable[[], None]], blocks: int, per_block: int) -> dict[str, list[float]]:
    """CPU microseconds per call of each named callable, one figure per block, blocks alternating."""
    names = sorted(calls)
    for name in names:  # warm: first connections, compiled statements
        for _ in range(20):
            calls[name]()
    per_call: dict[str, list[float]] = {name: [] for name in names}
    for block in range(blocks):
        for name in names if block % 2 else list(reversed(names)):
            call = calls[name]
            t0 = time.process_time_ns()
            for _ in range(per_block):
                call()
            per_call[name].append((time.process_time_ns() - t0) / per_block / 1000)
    return per_call


def _summary(per_call: dict[str, list[float]]) -> dict:
    out = {
        name: {"median_us": round(statistics.median(v), 1), "min_us": round(min(v), 1), "max_us": round(max(v), 1)}
        for name, v in per_call.items()
    }
    return out


def store_calls(tmp: Path, blocks: int, per_block: int) -> dict:
    entry = _entry()
    ref = member_ref(KEY, "MBR-1")
    stores = {}
    for name, fast in (("fast", True), ("plain", False)):
        store = Store(f"sqlite:///{tmp / f'store-{name}.sqlite'}", hash_key=KEY, sqlite_fast_path=fast)
        store.ensure_schema()
        store.issue_authorization(ref, "anakinra", "ra", T0.date(), T0.date() + timedelta(days=300), "ca")
        stores[name] = store
    calls = {}
    for name, store in stores.items():
        calls[f"record_call.{name}"] = lambda s=store: s.record_call(entry)
        calls[f"previous_authorizations.{name}"] = lambda s=store: s.previous_authorizations(ref, "anakinra")
    result = _summary(_alternate(calls, blocks, per_block))
    for store in stores.values():
        store.dispose()
    return result


def flask_path(tmp: Path, blocks: int, per_block: int) -> dict:
    key = make_key("ES384")
    jwks = write_jwks(key, tmp / "jwks.json")
    request, _bundle = chart.large_chart()
    request.pop("fhirServer", None)  # the decision from the prefetch alone
    body = orjson.dumps(request)
    calls = {}
    for name, fast in (("fast", True), ("plain", False)):
        settings = from_env(service_env(8080, jwks, "http://127.0.0.1:1", tmp / f"var-{name}"))
        store = Store.from_settings(settings, sqlite_fast_path=fast)  # as create_app opens it, path aside
        store.ensure_schema()
        app = create_app(settings, store=store)
        warm_up(app)
        client = app.test_client()
        audience = settings.external_base_url.rstrip("/") + ORDER_SIGN_PATH
        tokens = mint_many(key, audience, 20 + blocks * per_block)

        def call(client=client, tokens=tokens) -> None:
            resp = client.post(
                ORDER_SIGN_PATH,
                data=body,
                content_type="application/json",
                headers={"Authorization": "Bearer " + tokens.pop()},
            )
            if resp.status_code != 200:
                raise RuntimeError(f"order-sign answered {resp.status_code}")

        calls[name] = call
    return _summary(_alternate(calls, blocks, per_block))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.store_paths", description=__doc__.split("\n")[0])
    p.add_argument("--blocks", type=int, default=20, help="alternating blocks per path (default 20)")
    p.add_argument("--per-block", type=int, default=100, help="calls per block (default 100)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="store-paths-") as tmp:
        report = {
            "store_calls": store_calls(Path(tmp), args.blocks, args.per_block),
            "flask_path": flask_path(Path(tmp), args.blocks, max(10, args.per_block // 2)),
        }
    for section in report.values():
        if "fast" in section:
            section["plain_over_fast"] = round(section["plain"]["median_us"] / section["fast"]["median_us"], 3)
        for call in ("record_call", "previous_authorizations"):
            if f"{call}.fast" in section:
                section[f"{call}.plain_over_fast"] = round(
                    section[f"{call}.plain"]["median_us"] / section[f"{call}.fast"]["median_us"], 3
                )
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
