"""Command line: `anakinra-cds serve | fhir-server | explain | ...`."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from . import __version__, embedded_fhir
from .config import demo_settings, from_env
from .core.explain import explanation
from .core.explain_table import render_table
from .core.hook_call import DataUnavailable, run_hook
from .core.services import SERVICES
from .demo_state import DemoResetRefused, demo_reset_settings, reset_demo_state
from .protocol.request import RequestError, load_json, parse_hook_request
from .serve import serve
from .store import commands as store_commands


def _serve(args) -> int:
    return serve(args.host, args.port, profile=args.profile, fhir_port=args.fhir_port, no_fhir=args.no_fhir)


def _fhir_server(args) -> int:
    url = embedded_fhir.base_url(args.port)
    proc = embedded_fhir.start(args.var_dir, args.port)
    loaded = embedded_fhir.load_charts(url)
    print(f"FHIR server at {url} with {loaded.bundles} chart bundles (pid {proc.pid})", flush=True)
    if args.detach:
        Path(args.pid_file).write_text(str(proc.pid))
        return 0
    signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        return 0


def _demo_reset(args) -> int:
    try:
        report = reset_demo_state(demo_reset_settings())
    except DemoResetRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    return 0


def _explain(args) -> int:
    path = Path(args.request)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        print(f"error: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        data = load_json(raw, 64)
        hook = data.get("hook") if isinstance(data, dict) else None
        service = next((s for s in SERVICES if s.hook == hook), None)
        if service is None:
            print(f"error: {path}: `hook` must be one of {', '.join(s.hook for s in SERVICES)}", file=sys.stderr)
            return 2
        req = parse_hook_request(data, service.hook)
    except RequestError as exc:
        print(f"error: {path}: {exc.message}", file=sys.stderr)
        return 2
    if not args.online:
        # Offline: never contact a FHIR server; what is not prefetched is unavailable.
        req = replace(req, fhir_server=None, access_token=None)
    now = datetime.fromisoformat(args.now).replace(tzinfo=UTC) if args.now else datetime.now(UTC)
    settings = demo_settings()
    try:
        result = run_hook(req, settings, now, b"explain-offline-key-not-for-storage", explain=True)
    except DataUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    doc = explanation(req, result)
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print(render_table(doc))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="anakinra-cds", description="Anakinra (Kineret) coverage CDS Hooks service")
    p.add_argument("--version", action="version", version=f"anakinra-cds {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run the service (demo configuration unless --profile production)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8080)
    s.add_argument("--profile", choices=("demo", "production"), default="demo")
    s.add_argument("--fhir-port", type=int, default=8913, help="port of the embedded demo FHIR server")
    s.add_argument("--no-fhir", action="store_true", help="do not start the embedded FHIR server")
    s.set_defaults(func=_serve)

    f = sub.add_parser("fhir-server", help="run only the embedded FHIR server, loaded with the fixture patients")
    f.add_argument("--port", type=int, default=8913)
    f.add_argument("--var-dir", default="var")
    f.add_argument("--detach", action="store_true", help="start it and return (writes --pid-file)")
    f.add_argument("--pid-file", default="var/fhir-server.pid")
    f.set_defaults(func=_fhir_server)

    d = sub.add_parser("demo", help="the demo's own state")
    d_sub = d.add_subparsers(dest="demo_command", metavar="{reset}", required=True)
    r = d_sub.add_parser(
        "reset",
        help="clear the demo's stored approvals, feedback and audit rows (demo only)",
        description="Empty the demo's SQLite database in CDS_VAR_DIR (default ./var) so that the "
        "demo patients show the cards of a first run again. Refuses unless the "
        "profile is demo and DATABASE_URL is unset.",
    )
    r.set_defaults(func=_demo_reset)

    e = sub.add_parser("explain", help="explain the decision for a CDS Hooks request file (offline)")
    e.add_argument("request", help="a CDS Hooks request JSON file")
    e.add_argument("--json", action="store_true", help="print JSON instead of a table")
    e.add_argument("--now", help="evaluate as of this date (YYYY-MM-DD) when the order has no authoredOn")
    e.add_argument("--online", action="store_true", help="allow fetching from the request's fhirServer")
    e.set_defaults(func=_explain)

    store_commands.add_subcommands(sub, get_settings=from_env)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:  # ConfigError, HashKeyError, a bad DATABASE_URL ...
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
