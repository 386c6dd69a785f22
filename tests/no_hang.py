"""A bound on a wait, not a measure of speed: the fault tests run a call that a broken protection would leave
hanging (a silent or dripping server, a database that never answers) and assert what stopped it (the error kind,
the technical reason, the connections made). A call still running after NO_HANG_SECONDS fails as hung."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

NO_HANG_SECONDS = 60.0


def finishes(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """fn(*args, **kwargs) in a daemon thread: its result, or the exception it raised, re-raised here."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = fn(*args, **kwargs)
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(NO_HANG_SECONDS)
    if thread.is_alive():
        raise AssertionError(f"{getattr(fn, '__name__', fn)} still running after {NO_HANG_SECONDS:.0f} s: it hangs")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
