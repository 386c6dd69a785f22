"""What every part of inbound authentication shares: `AuthError`, the package's logger, and `safe()`
(a log-safe rendering of an untrusted value)."""

from __future__ import annotations

import logging
from typing import Any

#: One logger for the whole package, named as it was before the package was split into modules
#: (operators' log filters and the tests select on this name).
log = logging.getLogger("cds_service.web.auth")


class AuthError(Exception):
    """The request is not authenticated. `reason` is for the log only, never for the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        # Filled in by JwtVerifier.verify from the (unverified) token, for the log line.
        self.iss: Any = None
        self.kid: Any = None
        self.jti: Any = None


def safe(value: Any, limit: int = 120) -> str:
    """A log-safe rendering of an untrusted value (repr: no control characters; truncated)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"
