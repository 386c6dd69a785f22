"""Processes the benchmark runs: gunicorn (the service and the baseline) and the FHIR server.

Everything binds to 127.0.0.1. Every process started here is stopped by its own pid.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


class ServerError(Exception):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# -- /proc ------------------------------------------------------------------------------------------


def child_pids(pid: int) -> list[int]:
    out: list[int] = []
    task_dir = Path(f"/proc/{pid}/task")
    try:
        tasks = list(task_dir.iterdir())
    except OSError:
        return out
    for task in tasks:
        try:
            out.extend(int(x) for x in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return sorted(set(out))


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (peak resident) of a process, in kB."""
    out = {}
    with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                out[key] = int(value.split()[0])
    return out


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes (own threads included), in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / tick


def machine_cpu_seconds() -> dict[str, float]:
    """Machine-wide CPU time from /proc/stat: `busy` (every non-idle state, steal excluded) and
    `steal` (time the hypervisor gave to other VMs), in seconds summed over all CPUs."""
    tick = os.sysconf("SC_CLK_TCK")
    with open("/proc/stat", encoding="ascii") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal guest guest_nice
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    steal = fields[7] if len(fields) > 7 else 0
    return {"busy": (user + nice + system + irq + softirq) / tick, "steal": steal / tick}


# -- gunicorn ---------------------------------------------------------------------------------------


class Gunicorn:
    """`gunicorn -w N --preload -b 127.0.0.1:PORT <app>` with the given environment."""

    def __init__(
        self, name: str, app_spec: str, env: dict[str, str], log_dir: Path, workers: int = 2, port: int | None = None
    ) -> None:
        self.name = name
        self.app_spec = app_spec
        self.env = env
        self.workers = workers
        self.port = port or free_port()
        self.log_path = log_dir / f"{name}-{self.port}.log"
        self.proc: subprocess.Popen | None = None
        self.started_at: float | None = None  # time.perf_counter() just before the process was spawned

    @property
    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(self.workers),
            "--preload",
            "-b",
            f"127.0.0.1:{self.port}",
            self.app_spec,
        ]

    def start(self) -> Gunicorn:
        with open(self.log_path, "ab") as log:  # the child keeps its own copy of the descriptor
            self.started_at = time.perf_counter()
            self.proc = subprocess.Popen(
                self.command, cwd=str(ROOT), env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        return self

    def check_alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            code = None if self.proc is None else self.proc.returncode
            raise ServerError(
                f"{self.name} (gunicorn) exited with code {code}; log {self.log_path}:\n{_tail(self.log_path)}"
            )

    def worker_pids(self, expect: int | None = None, timeout: float = 10.0) -> list[int]:
        if self.proc is None:
            raise ServerError(f"{self.name} was not started")
        deadline = time.monotonic() + timeout
        while True:
            pids = child_pids(self.proc.pid)
            if len(pids) >= (expect or self.workers) or time.monotonic() > deadline:
                return pids
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # gunicorn: graceful stop of master and workers
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


def post_once(port: int, path: str, body: bytes, headers: dict[str, str], timeout: float = 10.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", path, body, headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def time_to_first_answer(server: Gunicorn, path: str, body: bytes, make_headers, timeout: float = 60.0) -> float:
    """Seconds from spawning the process to the first 200 answer to `body` (polled every 5 ms).

    `make_headers()` gives the headers of one attempt; a fresh token is taken only after the
    server answered (a refused connection never reaches the replay cache)."""
    if server.started_at is None:
        raise ServerError(f"{server.name} was not started")
    deadline = time.monotonic() + timeout
    headers = make_headers()
    last = "no answer"
    while time.monotonic() < deadline:
        server.check_alive()
        try:
            status, data = post_once(server.port, path, body, headers, timeout=10)
        except OSError as exc:  # not listening yet
            last = type(exc).__name__
            time.sleep(0.005)
            continue
        if status == 200:
            return time.perf_counter() - server.started_at
        last = f"HTTP {status}: {data[:200]!r}"
        headers = make_headers()
        time.sleep(0.005)
    raise ServerError(
        f"{server.name} gave no 200 answer within {timeout:.0f} s (last: {last}); "
        f"log {server.log_path}:\n{_tail(server.log_path)}"
    )


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")  # a zombie has exited (its new parent reaps it)


# -- the FHIR server ---------------------------------------------------------------------------------


class FhirServer:
    """The embedded FHIR server (sekmet-fhir), started detached by `anakinra-cds fhir-server`."""

    def __init__(self, var_dir: Path, port: int | None = None) -> None:
        self.var_dir = var_dir
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}/fhir"
        self.pid_file = var_dir / "fhir-server.pid"
        self.pid: int | None = None
        self.load_seconds: float | None = None

    def start(self) -> FhirServer:
        # `python -m cds_service.cli` from the repository root: the same code as the service under test.
        cmd = [
            sys.executable,
            "-m",
            "cds_service.cli",
            "fhir-server",
            "--port",
            str(self.port),
            "--var-dir",
            str(self.var_dir),
            "--detach",
            "--pid-file",
            str(self.pid_file),
        ]
        t0 = time.perf_counter()
        done = subprocess.run(cmd, cwd=str(ROOT), check=False, capture_output=True, text=True, timeout=300)
        self.load_seconds = time.perf_counter() - t0
        if self.pid_file.exists():
            self.pid = int(self.pid_file.read_text().strip())
        if done.returncode != 0:
            self.stop()
            raise ServerError(f"`{' '.join(cmd)}` failed ({done.returncode}): {done.stderr[-2000:]}")
        return self

    def load(self, bundle: dict) -> None:
        resp = requests.post(
            self.base,
            json=bundle,
            timeout=120,
            headers={"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"},
        )
        if resp.status_code >= 300:
            raise ServerError(
                f"loading {bundle.get('id')} into the FHIR server failed: HTTP {resp.status_code} {resp.text[:500]}"
            )

    def stop(self) -> None:
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            self.pid = None
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if not _running(self.pid):
                break
            time.sleep(0.1)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        self.pid = None
