"""The decision alone, in process: no HTTP server, no network, no load generator.

For each request kind, repeated `iterations` times (medians reported):
- `parse_ms`: `load_json` (orjson + depth check) and `parse_hook_request`;
- `decision_ms`: `cds_service.core.hook_call.run_hook` with the request's prefetch only
  (`fhirServer` removed: the decision from what was sent) - gather, facts, policy, response;
- `serialise_ms`: `orjson.dumps` of the answer;
- `json_parse_share`: the share of parse + decision + serialise spent parsing the request (the FHIR
  JSON: orjson, the nesting bound and the CDS Hooks request checks);
- `explain_validation_ms`: fhir.resources (R4B) validation of the request's draft orders, which runs
  for explanations only (`POST /explain/{id}`), not on the hook path: reported so that its cost is
  visible, and not part of `total_ms`.

Then the whole Flask path with production settings (auth ON, a signed JWT per call, SQLite replay
cache) through the Flask test client, the JWT check alone, and a cProfile of that path (top
functions by own time, with file:line).
"""

from __future__ import annotations

import cProfile
import dataclasses
import pstats
import statistics
import time
from datetime import datetime
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent


def _median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 3)


def measure_request(raw: bytes, settings, now: datetime, iterations: int) -> dict:
    from cds_service.core.hook_call import run_hook
    from cds_service.protocol.request import load_json, parse_hook_request

    hook = orjson.loads(raw).get("hook", "order-sign")
    from cds_service.facts.fhir_validation import validation_notes

    parse_t, decide_t, dump_t, valid_t, total_t = [], [], [], [], []
    for _ in range(iterations):
        t0 = time.perf_counter()
        data = load_json(raw, settings.max_json_depth)
        req = parse_hook_request(data, hook, settings.max_draft_orders)
        t1 = time.perf_counter()
        result = run_hook(
            dataclasses.replace(req, fhir_server=None, access_token=None), settings, now, b"benchmark-hash-key"
        )
        t2 = time.perf_counter()
        orjson.dumps(result.body)
        t3 = time.perf_counter()
        for case in result.cases:
            validation_notes(case.order.raw)
        t4 = time.perf_counter()
        parse_t.append(t1 - t0)
        decide_t.append(t2 - t1)
        dump_t.append(t3 - t2)
        valid_t.append(t4 - t3)
        total_t.append(t3 - t0)
    total = statistics.median(total_t)
    return {
        "iterations": iterations,
        "status": result.status,
        "parse_ms": _median_ms(parse_t),
        "decision_ms": _median_ms(decide_t),
        "serialise_ms": _median_ms(dump_t),
        "total_ms": _median_ms(total_t),
        "explain_validation_ms": _median_ms(valid_t),
        "explain_validation_orders": len(result.cases),
        "json_parse_share": round(statistics.median(parse_t) / total, 3) if total else None,
    }


def decision_signature(raw: bytes, settings, now: datetime) -> dict:
    """Determinations, PA flags, card kinds and clauses of one request (for the large-chart check)."""
    from cds_service.core.hook_call import run_hook
    from cds_service.protocol.request import load_json, parse_hook_request

    from .chart import decision_signature as signature

    data = load_json(raw, settings.max_json_depth)
    req = parse_hook_request(data, data["hook"], settings.max_draft_orders)
    result = run_hook(dataclasses.replace(req, fhir_server=None, access_token=None), settings, now, b"sig")
    return signature(result.body, result.decisions)


def _short(path: str) -> str:
    root = str(ROOT) + "/"
    if path.startswith(root):
        return path[len(root) :]
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1]
    return path


def profile_top(pr: cProfile.Profile, per: int, top: int) -> list[dict]:
    stats = pstats.Stats(pr)
    rows = []
    for (filename, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append(
            {
                "function": f"{_short(filename)}:{line}({func})",
                "own_ms_per_request": round(tt / per * 1000, 3),
                "cumulative_ms_per_request": round(ct / per * 1000, 3),
                "calls_per_request": round(nc / per, 1),
            }
        )
    rows.sort(key=lambda r: r["own_ms_per_request"], reverse=True)
    return rows[:top]


def measure_flask_path(raw: bytes, settings, key, iterations: int, profile_iterations: int, top: int) -> dict:
    """The full handler in process: Flask routing, JWT check, replay cache, parse, decision, orjson."""
    from cds_service.app import create_app, warm_up

    from .tokens import mint_many

    app = create_app(settings)
    warm_up(app)
    client = app.test_client()
    path = "/cds-services/anakinra-order-sign"
    audience = settings.external_base_url.rstrip("/") + path
    tokens = mint_many(key, audience, iterations + profile_iterations + 5)

    def call() -> int:
        resp = client.post(
            path, data=raw, content_type="application/json", headers={"Authorization": "Bearer " + tokens.pop()}
        )
        return resp.status_code

    for _ in range(5):
        status = call()
        if status != 200:
            raise RuntimeError(f"in-process Flask call answered {status} (expected 200)")
    times = []
    for _ in range(iterations):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)

    verifier = app.extensions["cds_jwt_verifier"]
    verify_times = []
    for tok in mint_many(key, audience, min(iterations, 200)):
        t = time.perf_counter()
        verifier.verify("Bearer " + tok, audience)
        verify_times.append(time.perf_counter() - t)

    pr = cProfile.Profile()
    pr.enable()
    for _ in range(profile_iterations):
        call()
    pr.disable()
    return {
        "iterations": iterations,
        "flask_request_ms": _median_ms(times),
        "jwt_verify_ms": _median_ms(verify_times),
        "jwt_alg": key.alg,
        "profile_iterations": profile_iterations,
        "profile_top_own_time": profile_top(pr, profile_iterations, top),
    }
