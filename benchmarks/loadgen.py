"""Closed-loop HTTP load generator: N client PROCESSES, each sending one request at a time.

Why processes and `http.client`: on a 2-core machine the load generator shares the CPU with the
server. Threads in one Python process would serialise on the GIL (and so under-load the server);
`requests` costs several times more client CPU per call than the standard library's
`http.client`. Each client opens a new connection per request, as gunicorn's sync workers close
the connection after every answer (no keep-alive) for every client alike.

Every client signs its own JWTs BEFORE the start signal (so signing is not timed); if a client
runs out during the phase it signs more on the fly, outside the latency window of the request,
and the count is reported (`tokens_signed_during_run`).

The client CPU time is measured and reported, so a reader can see how much of the machine the
load generator took.
"""

from __future__ import annotations

import http.client
import math
import multiprocessing as mp
import os
import queue
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field

from .servers import cpu_seconds, machine_cpu_seconds
from .tokens import SigningKey, mint, mint_many


@dataclass
class Workload:
    """What one phase sends: request bodies (cycled) to one path."""

    name: str
    path: str
    bodies: list[bytes]
    description: str = ""


@dataclass
class PhaseResult:
    workload: str
    target: str
    clients: int
    duration: float
    starts: list[float] = field(default_factory=list)  # seconds after the start signal
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests only
    statuses: Counter = field(default_factory=Counter)
    client_cpu_seconds: float = 0.0
    server_cpu_seconds: float | None = None
    tokens_signed_during_run: int = 0
    machine_busy_seconds: float | None = None  # every process on the machine, all CPUs
    steal_seconds: float | None = None
    side_cpu_seconds: float = 0.0  # helper processes of the test (the FHIR server)
    other_cpu_seconds: float | None = None  # busy - servers - helpers - clients: other work

    @property
    def completed_in_window(self) -> int:
        return sum(1 for s, lat in zip(self.starts, self.latencies, strict=True) if s + lat <= self.duration)

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != 200)


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(p / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summarize(phases: list[PhaseResult]) -> dict:
    """One summary over several phases of the same workload and target (rounds pooled)."""
    lat = sorted(x for ph in phases for x in ph.latencies)
    duration = sum(ph.duration for ph in phases)
    completed = sum(ph.completed_in_window for ph in phases)
    statuses: Counter = Counter()
    for ph in phases:
        statuses.update(ph.statuses)
    requests_total = sum(statuses.values())
    errors = sum(n for s, n in statuses.items() if s != 200)
    server_cpu = [ph.server_cpu_seconds for ph in phases if ph.server_cpu_seconds is not None]
    ms = 1000.0
    out = {
        "clients": phases[0].clients if phases else None,
        "duration_s": round(duration, 2),
        "requests": requests_total,
        "ok": requests_total - errors,
        "errors": errors,
        "error_statuses": {str(k): v for k, v in statuses.items() if k != 200},
        "throughput_rps": round(completed / duration, 1) if duration else None,
        "mean_ms": round(sum(lat) / len(lat) * ms, 2) if lat else None,
        "p50_ms": round(percentile(lat, 50) * ms, 2) if lat else None,
        "p95_ms": round(percentile(lat, 95) * ms, 2) if lat else None,
        "p99_ms": round(percentile(lat, 99) * ms, 2) if lat else None,
        "max_ms": round(lat[-1] * ms, 2) if lat else None,
        "client_cpu_ms_per_request": (
            round(sum(ph.client_cpu_seconds for ph in phases) / requests_total * ms, 3) if requests_total else None
        ),
        "server_cpu_ms_per_request": (
            round(sum(server_cpu) / requests_total * ms, 3) if server_cpu and requests_total else None
        ),
        "tokens_signed_during_run": sum(ph.tokens_signed_during_run for ph in phases),
        "helper_cpu_ms_per_request": (
            round(sum(ph.side_cpu_seconds for ph in phases) / requests_total * ms, 3) if requests_total else None
        ),
        # Share of the machine (all CPUs, the whole window) used by anything but the server under
        # test and the load clients (loopback networking in softirq shows up here a little).
        # Well above 0.1 means other work competed for the CPUs: the figures are not representative.
        "other_cpu_share": _share([ph.other_cpu_seconds for ph in phases], phases),
        "steal_share": _share([ph.steal_seconds for ph in phases], phases),
    }
    if len(phases) > 1:
        out["rounds"] = [summarize([ph]) for ph in phases]
        for r in out["rounds"]:
            r.pop("error_statuses", None)
    return out


def _share(values: list[float | None], phases: list[PhaseResult]) -> float | None:
    if not phases or any(v is None for v in values):
        return None
    capacity = sum(ph.duration for ph in phases) * (os.cpu_count() or 1)
    return round(sum(values) / capacity, 3) if capacity else None


def _client(
    idx: int,
    port: int,
    workload: Workload,
    offset: int,
    n_tokens: int,
    key: SigningKey | None,
    audience: str,
    static_authorization: str | None,
    ready_q,
    start_evt,
    t0_value,
    duration: float,
    result_q,
) -> None:
    tokens = mint_many(key, audience, n_tokens) if key is not None else []
    ready_q.put(idx)
    start_evt.wait()
    t0 = t0_value.value
    t_end = t0 + duration
    while time.perf_counter() < t0:
        time.sleep(0.0005)
    cpu0 = time.process_time()
    starts, lats = array("d"), array("d")
    statuses: Counter = Counter()
    signed = 0
    bodies = workload.bodies
    i = offset
    base_headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if static_authorization:
        base_headers["Authorization"] = static_authorization
    while True:
        headers = dict(base_headers)
        if key is not None:
            if tokens:
                token = tokens.pop()
            else:
                token = mint(key, audience)
                signed += 1
            headers["Authorization"] = "Bearer " + token
        body = bodies[i % len(bodies)]
        i += 1
        ts = time.perf_counter()
        if ts >= t_end:
            break
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("POST", workload.path, body, headers)
            resp = conn.getresponse()
            resp.read()
            status: int | str = resp.status
        except (OSError, http.client.HTTPException) as exc:
            status = type(exc).__name__
        finally:
            conn.close()
        te = time.perf_counter()
        statuses[status] += 1
        starts.append(ts - t0)
        lats.append(te - ts if status == 200 else -1.0)
    result_q.put((idx, starts.tobytes(), lats.tobytes(), dict(statuses), time.process_time() - cpu0, signed))


def _get(q, procs, timeout: float):
    """q.get(), but fail fast when a client process died instead of waiting for the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return q.get(timeout=0.25)
        except queue.Empty:
            dead = [p for p in procs if p.exitcode not in (None, 0)]
            if dead:
                raise RuntimeError(f"a load client exited with code {dead[0].exitcode}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"load clients gave no result within {timeout:.0f} s") from None


def run_phase(
    port: int,
    workload: Workload,
    *,
    target: str,
    clients: int,
    duration: float,
    key: SigningKey | None = None,
    audience: str = "",
    tokens_per_client: int = 0,
    static_authorization: str | None = None,
    server_pids: list[int] | None = None,
    side_pids: list[int] | None = None,
) -> PhaseResult:
    """Run `clients` closed-loop clients against 127.0.0.1:port for `duration` seconds.

    With `key`, every request carries a fresh JWT (`tokens_per_client` signed up front)."""
    ctx = mp.get_context("fork")
    ready_q, result_q = ctx.Queue(), ctx.Queue()
    start_evt = ctx.Event()
    t0_value = ctx.Value("d", 0.0)
    n = max(1, len(workload.bodies))
    procs = [
        ctx.Process(
            target=_client,
            daemon=True,
            args=(
                i,
                port,
                workload,
                (i * n) // clients,
                tokens_per_client,
                key,
                audience,
                static_authorization,
                ready_q,
                start_evt,
                t0_value,
                duration,
                result_q,
            ),
        )
        for i in range(clients)
    ]
    for p in procs:
        p.start()
    try:
        for _ in procs:
            _get(ready_q, procs, 600)
        cpu_before = cpu_seconds(server_pids) if server_pids else None
        side_before = cpu_seconds(side_pids) if side_pids else 0.0
        machine_before = machine_cpu_seconds()
        t0_value.value = time.perf_counter() + 0.05
        start_evt.set()
        raw = [_get(result_q, procs, duration + 120) for _ in procs]
        machine_after = machine_cpu_seconds()
        cpu_after = cpu_seconds(server_pids) if server_pids else None
        side_after = cpu_seconds(side_pids) if side_pids else 0.0
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()
    result = PhaseResult(workload=workload.name, target=target, clients=clients, duration=duration)
    for _idx, starts_b, lats_b, statuses, cpu, signed in raw:
        starts, lats = array("d"), array("d")
        starts.frombytes(starts_b)
        lats.frombytes(lats_b)
        for s, lat in zip(starts, lats, strict=True):
            if lat >= 0:
                result.starts.append(s)
                result.latencies.append(lat)
        result.statuses.update(statuses)
        result.client_cpu_seconds += cpu
        result.tokens_signed_during_run += signed
    if cpu_before is not None and cpu_after is not None:
        result.server_cpu_seconds = cpu_after - cpu_before
    result.machine_busy_seconds = machine_after["busy"] - machine_before["busy"]
    result.steal_seconds = machine_after["steal"] - machine_before["steal"]
    result.side_cpu_seconds = side_after - side_before
    if result.server_cpu_seconds is not None:
        result.other_cpu_seconds = max(
            0.0,
            result.machine_busy_seconds
            - result.server_cpu_seconds
            - result.side_cpu_seconds
            - result.client_cpu_seconds,
        )
    return result
