"""Outbound FHIR client. The FHIR server named in a hook call is untrusted input.

Guarantees:
- No SSRF: a base URL, a `next` link or a relative path is used only when it is on the
  allow-list (`is_allowed`, scheme + host + port exact, path prefix) AND under the client's own base
  URL (so the bearer token only ever goes to the server it was issued for). Redirects are never
  followed (a 3xx is an error). A refused URL gets no connection at all.
- No hangs: one `Budget` (a monotonic deadline) per hook call; each request's connect/read
  timeout is min(settings.fhir_timeout_seconds, budget.remaining()); the status line and headers
  are bounded in total by a watchdog that shuts the socket down at the budget's deadline (a server
  that drips its headers a byte at a time would otherwise reset the per-read timeout forever); the
  body is read in `read1` steps with the deadline re-checked (and the socket timeout shrunk) before
  each step.
- Bounded size: at most settings.fhir_max_bytes per response (wire and decoded; gzip is decoded
  with a bounded decompressor), at most settings.fhir_max_pages pages per search.
- Bad answers are `FhirAccessError(kind, message)`; messages name the host and the resource type,
  never the token, ids or query strings. The token is never logged.

Thread-safe: share one client (or one Session) between the threads of a ThreadPoolExecutor.
"""

from __future__ import annotations

import contextlib
import heapq
import http.cookiejar
import itertools
import logging
import os
import re
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import orjson
import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import HTTPError as Urllib3HTTPError
from urllib3.exceptions import ProtocolError, ReadTimeoutError

from cds_service.config import Settings

log = logging.getLogger(__name__)

KINDS = frozenset(
    {"not-allowed", "timeout", "budget", "http-status", "malformed", "too-large", "redirect", "connection"}
)

_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNSAFE_URL_CHARS = re.compile(r"[\s\\\x00-\x1f\x7f]")
_ENCODED_SEPARATOR = re.compile(r"%(2f|5c)", re.IGNORECASE)
_READ_STEP = 65_536


class FhirAccessError(Exception):
    """Reading from the FHIR server failed. `kind` is one of KINDS; `message` is for humans and
    logs (no token, no patient identifiers); `status` is the HTTP status when there was one."""

    def __init__(self, kind: str, message: str, *, status: int | None = None, dropped: bool = False) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown FhirAccessError kind {kind!r}")
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message
        self.status = status
        self.dropped = dropped  # the connection was dropped (reset, closed mid-answer): worth one retry


# -- the allow-list ----------------------------------------------------------------------------


def _normalised(url: Any) -> tuple[str, str, int, str] | None:
    """(scheme, host, port, path without trailing slash), or None when the URL is unusable."""
    if not isinstance(url, str) or not url or _UNSAFE_URL_CHARS.search(url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        return None
    if "@" in parts.netloc:  # userinfo: never
        return None
    host = (parts.hostname or "").rstrip(".")
    if not host:
        return None
    path = parts.path
    if _ENCODED_SEPARATOR.search(path):  # %2F / %5C: servers disagree on what they mean
        return None
    if any(unquote(seg) in (".", "..") for seg in path.split("/")):  # no dot segments
        return None
    return scheme, host, port or _DEFAULT_PORTS[scheme], path.rstrip("/")


def is_allowed(url: str, allow: Iterable[str]) -> bool:
    """True when url's scheme, host and port equal an allow-list entry's and its path starts with
    that entry's path (on a segment boundary). Default ports, host case and trailing slashes are
    normalised; userinfo, non-http(s) schemes, dot segments and encoded slashes are refused."""
    target = _normalised(url)
    if target is None:
        return False
    for entry in allow:
        base = _normalised(entry)
        if base is None:
            continue
        if target[:3] != base[:3]:
            continue
        if target[3] == base[3] or target[3].startswith(base[3] + "/"):
            return True
    return False


def _where(url: str) -> str:
    """host[:port] of a URL, for messages (no path, no query: they may carry identifiers)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        return f"{host}:{parts.port}" if parts.port else host
    except ValueError:
        return "an unparsable URL"


# -- time budget -------------------------------------------------------------------------------


class Budget:
    """The total time allowed for FHIR reads during one hook call: a monotonic deadline.
    Immutable after construction, so sharing it between threads is safe."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = float(seconds)
        self._clock = clock
        self._deadline = clock() + self.seconds

    @classmethod
    def from_settings(cls, settings: Settings) -> Budget:
        return cls(settings.fhir_budget_seconds)

    def remaining(self) -> float:
        return max(0.0, self._deadline - self._clock())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0


# -- the deadline of the status line and headers -------------------------------------------------


class _Watchdog:
    """One thread per process that shuts down the socket of a request still waiting for its status line
    and headers when the call's budget runs out. (A socket timeout bounds each recv, not the total: a
    server sending one header byte per second would hold the request, and a worker, indefinitely.)"""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[list] = []  # [deadline, seq, socket, armed]
        self._seq = itertools.count()
        self._pid: int | None = None

    def watch(self, sock: socket.socket, deadline: float) -> list:
        ticket = [deadline, next(self._seq), sock, True]
        with self._cond:
            if self._pid != os.getpid():  # first use, or a forked child: the thread is not inherited
                self._pid = os.getpid()
                self._heap = []
                threading.Thread(target=self._run, name="fhir-header-watchdog", daemon=True).start()
            heapq.heappush(self._heap, ticket)
            self._cond.notify()
        return ticket

    def release(self, ticket: list) -> None:
        with self._cond:
            ticket[3] = False

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and not self._heap[0][3]:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                ticket = heapq.heappop(self._heap)
                ticket[3] = False
                with contextlib.suppress(OSError):
                    ticket[2].shutdown(socket.SHUT_RDWR)


_WATCHDOG = _Watchdog()
_header_deadline = threading.local()  # .value: the monotonic deadline of this thread's current request


class _WatchedHTTPConnection(HTTPConnection):
    def getresponse(self, *args, **kwargs):
        deadline = getattr(_header_deadline, "value", None)
        ticket = _WATCHDOG.watch(self.sock, deadline) if deadline is not None and self.sock is not None else None
        try:
            return super().getresponse(*args, **kwargs)
        finally:
            if ticket is not None:
                _WATCHDOG.release(ticket)


class _WatchedHTTPSConnection(HTTPSConnection):
    getresponse = _WatchedHTTPConnection.getresponse


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _WatchedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


# -- sessions ----------------------------------------------------------------------------------


def make_session(pool_size: int = 8) -> requests.Session:
    """A Session for untrusted FHIR servers: a connection pool sized for the gather threads, no
    retries, no cookies kept between calls, no proxy/.netrc credentials from the environment
    (REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE are still honoured for private CAs)."""
    session = requests.Session()
    session.trust_env = False
    ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if ca_bundle:
        session.verify = ca_bundle
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    adapter = _WatchedAdapter(pool_connections=16, pool_maxsize=max(1, int(pool_size)), max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


_shared_lock = threading.Lock()
_shared: tuple[int, requests.Session] | None = None


def shared_session(settings: Settings | None = None) -> requests.Session:
    """One Session per process (re-created after a fork, e.g. gunicorn --preload)."""
    global _shared  # noqa: PLW0603  (one Session per process)
    with _shared_lock:
        if _shared is None or _shared[0] != os.getpid():
            pool = settings.fhir_max_workers if settings is not None else 8
            _shared = (os.getpid(), make_session(pool))
        return _shared[1]


# -- results -----------------------------------------------------------------------------------


class SearchResult(list):
    """The resources of a searchset (all pages read), plus how it went.
    `truncated` is True when paging stopped early (page limit hit, or a `next` link repeated): the
    list is then incomplete, and `stop_reason` says why (for messages; no ids, no query)."""

    def __init__(
        self, resources: Iterable[dict] = (), *, pages: int = 0, truncated: bool = False, stop_reason: str | None = None
    ) -> None:
        super().__init__(resources)
        self.pages = pages
        self.truncated = truncated
        self.stop_reason = stop_reason


def _entries(bundle: dict) -> list[dict]:
    out = []
    for entry in bundle.get("entry") or ():
        if not isinstance(entry, dict):
            continue
        resource = entry.get("resource")
        if not isinstance(resource, dict):
            continue
        search = entry.get("search")
        if isinstance(search, dict) and search.get("mode") == "outcome":
            continue  # an OperationOutcome about the search, not a result
        out.append(resource)
    return out


def _next_link(bundle: dict) -> str | None:
    for link in bundle.get("link") or ():
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            return url if isinstance(url, str) and url else None
    return None


def _self_link(bundle: dict) -> str | None:
    for link in bundle.get("link") or ():
        if isinstance(link, dict) and link.get("relation") == "self" and isinstance(link.get("url"), str):
            return link["url"]
    return None


def _resource_type_of(url: str, base_url: str) -> str:
    """'Condition' for base/Condition?…, 'Patient' for base/Patient/123: for messages and logs."""
    rest = urlsplit(url).path[len(urlsplit(base_url).path) :].strip("/")
    first = rest.split("/", 1)[0] if rest else ""
    return first if re.fullmatch(r"[A-Za-z]{1,64}", first or "") else "resource"


# -- the client --------------------------------------------------------------------------------


class FhirClient:
    def __init__(
        self,
        base_url: str,
        access_token: str | None,
        settings: Settings,
        budget: Budget,
        session: requests.Session | None = None,
    ) -> None:
        if not is_allowed(base_url, settings.fhir_allow):
            raise FhirAccessError(
                "not-allowed", f"FHIR server {_where(base_url)} is not on the allow-list (CDS_FHIR_ALLOW)"
            )
        self.base_url = base_url.rstrip("/")
        self._token = access_token or None
        self._settings = settings
        self._budget = budget
        self._session = session if session is not None else shared_session(settings)

    def __repr__(self) -> str:  # never the token
        return f"FhirClient({_where(self.base_url)}, token={'yes' if self._token else 'no'})"

    @property
    def budget(self) -> Budget:
        return self._budget

    # -- public API --

    def read(self, relative: str) -> dict | None:
        """GET base/relative (e.g. 'Patient/123'); None on 404 or 410."""
        url = self._resolve(relative)
        doc = self._get_json(url, missing_ok=True)
        if doc is not None and not isinstance(doc.get("resourceType"), str):
            raise FhirAccessError("malformed", f"{self._what(url)} is not a FHIR resource (no resourceType)")
        return doc

    def search(self, query: str) -> SearchResult:
        """GET base/query (e.g. 'Condition?patient=123'); the resources of every page."""
        url = self._resolve(query)
        first = self._get_json(url, missing_ok=False)
        return self._collect(first, first_url=url, seen={url})

    def expand_bundle(self, bundle: dict) -> SearchResult:
        """The resources of an already received (prefetch) Bundle, following its `next` links."""
        seen: set[str] = set()
        self_url = _self_link(bundle) if isinstance(bundle, dict) else None
        if self_url:
            seen.add(urljoin(self.base_url + "/", self_url))
        return self._collect(bundle, first_url=self.base_url, seen=seen)

    # -- internals --

    def _what(self, url: str) -> str:
        return f"{_resource_type_of(url, self.base_url)} request to {_where(url)}"

    def _resolve(self, relative: str) -> str:
        if not isinstance(relative, str) or not relative:
            raise FhirAccessError("not-allowed", "empty FHIR request path")
        if urlsplit(relative).scheme or relative.startswith("//"):
            url = relative
        else:
            url = f"{self.base_url}/{relative.lstrip('/')}"
        self._check_allowed(url)
        return url

    def _check_allowed(self, url: str) -> None:
        if not is_allowed(url, self._settings.fhir_allow) or not is_allowed(url, (self.base_url,)):
            raise FhirAccessError(
                "not-allowed",
                f"refusing a {_resource_type_of(url, self.base_url)} request to {_where(url)}: "
                f"not under the FHIR base URL {_where(self.base_url)} or not on the allow-list",
            )

    def _collect(self, bundle: Any, *, first_url: str, seen: set[str]) -> SearchResult:
        self._require_bundle(bundle, first_url)
        resources = _entries(bundle)
        pages, stop_reason = 1, None
        max_pages = max(1, int(self._settings.fhir_max_pages))
        while True:
            link = _next_link(bundle)
            if link is None:
                break
            url = urljoin(self.base_url + "/", link)
            if url in seen:
                log.warning(
                    "FHIR %s: next link repeats an earlier page; stopping after %d page(s)", self._what(url), pages
                )
                stop_reason = (
                    f"{self._what(url)}: a next link repeated an earlier page; "
                    f"stopped after {pages} page(s), the rest was not read"
                )
                break
            if pages >= max_pages:
                log.warning(
                    "FHIR %s: stopping at the page limit (%d); results are incomplete", self._what(url), max_pages
                )
                stop_reason = (
                    f"{self._what(url)}: stopped at the page limit ({max_pages} pages, "
                    "CDS_FHIR_MAX_PAGES); later pages were not read"
                )
                break
            self._check_allowed(url)
            seen.add(url)
            bundle = self._get_json(url, missing_ok=False)
            self._require_bundle(bundle, url)
            resources.extend(_entries(bundle))
            pages += 1
        return SearchResult(resources, pages=pages, truncated=stop_reason is not None, stop_reason=stop_reason)

    def _require_bundle(self, doc: Any, url: str) -> None:
        if not isinstance(doc, dict) or doc.get("resourceType") != "Bundle":
            raise FhirAccessError("malformed", f"{self._what(url)} did not answer with a Bundle")

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/fhir+json", "Accept-Encoding": "gzip"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    def _out_of_time(self, url: str) -> FhirAccessError:
        if self._budget.expired:
            return FhirAccessError(
                "budget", f"time budget of {self._budget.seconds:g} s used up during {self._what(url)}"
            )
        return FhirAccessError("timeout", f"{self._what(url)} timed out")

    def _get_json(self, url: str, *, missing_ok: bool) -> dict | None:
        """GET url as FHIR JSON. Every request this client makes is an idempotent GET: when the connection
        is dropped (refused or reset before an answer, or closed in the middle of the body) it is tried once
        more, within the same time budget; the second failure is the error."""
        try:
            return self._get_json_once(url, missing_ok=missing_ok)
        except FhirAccessError as exc:
            if not exc.dropped or self._budget.expired:
                raise
            log.info("FHIR %s: connection dropped (%s); trying once more", self._what(url), exc.kind)
        return self._get_json_once(url, missing_ok=missing_ok)

    def _get_json_once(self, url: str, *, missing_ok: bool) -> dict | None:
        remaining = self._budget.remaining()
        if remaining <= 0:
            raise FhirAccessError(
                "budget", f"time budget of {self._budget.seconds:g} s used up before {self._what(url)}"
            )
        timeout = min(float(self._settings.fhir_timeout_seconds), remaining)
        started = time.monotonic()
        _header_deadline.value = started + remaining
        try:
            resp = self._session.get(
                url, headers=self._headers(), timeout=(timeout, timeout), allow_redirects=False, stream=True
            )
        except requests.Timeout as exc:
            raise self._out_of_time(url) from exc
        except requests.exceptions.SSLError as exc:
            raise FhirAccessError("connection", f"TLS error on {self._what(url)}") from exc
        except requests.ConnectionError as exc:
            if self._budget.expired:  # the watchdog ended a request still waiting for its headers
                raise self._out_of_time(url) from exc
            raise FhirAccessError(
                "connection", f"could not connect for {self._what(url)} ({type(exc).__name__})", dropped=True
            ) from exc
        except requests.RequestException as exc:
            raise FhirAccessError(
                "connection", f"could not connect for {self._what(url)} ({type(exc).__name__})"
            ) from exc
        finally:
            _header_deadline.value = None
        try:
            status = resp.status_code
            if 300 <= status < 400:
                raise FhirAccessError(
                    "redirect",
                    f"{self._what(url)} answered {status} (a redirect); redirects are never followed",
                    status=status,
                )
            if status in (404, 410) and missing_ok:
                log.debug("FHIR %s -> %d", self._what(url), status)
                return None
            if not 200 <= status < 300:
                raise FhirAccessError("http-status", f"{self._what(url)} answered HTTP {status}", status=status)
            content_type = resp.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
            if content_type and "json" not in content_type:
                raise FhirAccessError("malformed", f"{self._what(url)} answered {content_type[:60]!r}, not FHIR JSON")
            body = self._read_body(resp, url, timeout)
        finally:
            resp.close()
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise FhirAccessError("malformed", f"{self._what(url)} answered invalid or truncated JSON") from exc
        if not isinstance(doc, dict):
            raise FhirAccessError("malformed", f"{self._what(url)} answered JSON that is not an object")
        log.debug(
            "FHIR %s -> %d (%d bytes, %.0f ms)", self._what(url), status, len(body), (time.monotonic() - started) * 1000
        )
        return doc

    def _read_body(self, resp: requests.Response, url: str, timeout: float) -> bytes:
        limit = int(self._settings.fhir_max_bytes)
        declared = resp.headers.get("Content-Length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            raise FhirAccessError("too-large", f"{self._what(url)} announced {int(declared)} bytes (limit {limit})")
        encoding = resp.headers.get("Content-Encoding", "").strip().lower()
        if encoding in ("", "identity"):
            decoder = None
        elif encoding in ("gzip", "x-gzip"):
            decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        else:
            raise FhirAccessError("malformed", f"{self._what(url)} used unsupported content encoding {encoding[:30]!r}")
        raw = resp.raw
        sock = getattr(getattr(raw, "connection", None), "sock", None)
        chunks: list[bytes] = []
        wire = size = 0
        while True:
            remaining = self._budget.remaining()
            if remaining <= 0:
                raise self._out_of_time(url)
            if sock is not None:
                try:
                    sock.settimeout(max(0.001, min(timeout, remaining)))
                except OSError:
                    sock = None
            try:
                data = raw.read1(_READ_STEP, decode_content=False)
            except (ReadTimeoutError, TimeoutError) as exc:
                raise self._out_of_time(url) from exc
            except (ProtocolError, Urllib3HTTPError, OSError) as exc:
                raise FhirAccessError(
                    "malformed",
                    f"{self._what(url)}: the body ended early or broke ({type(exc).__name__})",
                    dropped=True,
                ) from exc
            if not data:
                break
            wire += len(data)
            if wire > limit:
                raise FhirAccessError("too-large", f"{self._what(url)} sent more than {limit} bytes")
            if decoder is not None:
                try:
                    data = decoder.decompress(data, limit - size + 1)
                except zlib.error as exc:
                    raise FhirAccessError("malformed", f"{self._what(url)}: bad gzip body") from exc
            size += len(data)
            if size > limit:
                raise FhirAccessError("too-large", f"{self._what(url)} decodes to more than {limit} bytes")
            chunks.append(data)
        if decoder is not None and not decoder.eof:
            raise FhirAccessError("malformed", f"{self._what(url)}: truncated gzip body")
        return b"".join(chunks)
