"""What stands between the network and the handlers: one ASGI middleware, and the count of
failed authentications.

- **Body size**, checked before anything reads the body (a declared Content-Length
  over the limit is refused at once, a streamed body as soon as it passes it): JSON
  bodies up to `SUPTECH_MAX_JSON_BYTES`, uploads up to `SUPTECH_MAX_UPLOAD_BYTES`.
- **No body read without a valid token**: a request to the API that carries a body
  (`POST /v1/...`) is refused 401 before its body is read when its bearer token is
  absent or unknown, so an anonymous sender cannot make the server parse 100 MB.
- **Same origin for every change**: a state-changing request (POST, PUT, PATCH, DELETE)
  whose `Origin` (or, lacking it, `Referer`) is another origin than the server's own is
  refused 403. SameSite cookies stop other sites; this stops another port of the same
  host (a same-site page), which SameSite does not.
- **Headers a browser needs to protect the dashboard**: a Content-Security-Policy whose
  scripts are the server's own and the page's inline ones by a per-response nonce,
  frame-ancestors 'none' and X-Frame-Options DENY (no framing), nosniff, and a
  Referrer-Policy that sends no path to other sites.
- **Failed authentication is limited**: after `LIMIT` wrong tokens from one client address
  within `WINDOW` seconds, further attempts from it are answered 429 until the window
  has passed; every failure up to the limit, and the lock-out, is audited.
- **A known token costs no query**: a token authenticated in the last
  `SUPTECH_TOKEN_TTL` seconds (default 2) is taken as it was then (`KnownTokens`), so
  that a thousand requests a second are not a thousand queries of the operational
  database. A token revoked by this process is refused at once; one revoked by another
  (`suptech users revoke` beside the server) within that many seconds.
- **Each token's rate is limited**: a token's API requests beyond `SUPTECH_RATE_LIMIT` a
  second (default 2,000; bursts of twice that) are answered 429 with a Retry-After, so
  that one institution's sender cannot take the server from the others.
"""

from __future__ import annotations

import hashlib
import math
import os
import secrets
import threading
import time
from collections import defaultdict, deque
from urllib.parse import urlsplit

from starlette.responses import JSONResponse

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
MAX_JSON = int(os.environ.get("SUPTECH_MAX_JSON_BYTES", 32 << 20))
MAX_UPLOAD = int(os.environ.get("SUPTECH_MAX_UPLOAD_BYTES", 512 << 20))
CSP = ("default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' "
       "'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def token_key(token: str) -> str:
    """What a token is known by in memory: its hash, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]


class KnownTokens:
    """The users of tokens authenticated recently (see the module doc)."""

    def __init__(self, ttl: float | None = None):
        self.ttl = float(os.environ.get("SUPTECH_TOKEN_TTL", 2)) if ttl is None else ttl
        self._known: dict[str, tuple[object, float, int]] = {}  # key -> (user, when, revocations)

    def get(self, token: str):
        """The token's user if it was authenticated recently, else None (ask)."""
        from suptech.ops import access

        entry = self._known.get(token_key(token))
        if entry is None or entry[2] != access.revocations or \
                time.monotonic() - entry[1] >= self.ttl:
            return None
        return entry[0]

    def put(self, token: str, user) -> None:
        from suptech.ops import access

        if len(self._known) > 100_000:  # tokens gone quiet are forgotten
            self._known.clear()
        self._known[token_key(token)] = (user, time.monotonic(), access.revocations)


class TokenRate:
    """A token bucket per bearer token (by its hash): `rate` requests a second, bursts of
    `burst`."""

    def __init__(self, rate: float | None = None, burst: float | None = None):
        self.rate = rate or float(os.environ.get("SUPTECH_RATE_LIMIT", 2000))
        self.burst = burst or 2 * self.rate
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)
        self._lock = threading.Lock()

    def wait(self, token: str) -> float:
        """0 where the request may go on (and it is counted), else the seconds until it
        may."""
        key = token_key(token)
        now = time.monotonic()
        with self._lock:
            tokens, when = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - when) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate


class FailedAuth:
    """Failed authentications per client address, in a sliding window."""

    LIMIT = 100
    WINDOW = 60.0

    def __init__(self):
        self._seen: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._seen[client]
        while times and times[0] <= now - self.WINDOW:
            times.popleft()
        return times

    def locked(self, client: str) -> bool:
        with self._lock:
            return len(self._recent(client, time.monotonic())) >= self.LIMIT

    def failed(self, client: str) -> int:
        """Count a failure; the client's failures within the window, this one included."""
        with self._lock:
            times = self._recent(client, time.monotonic())
            times.append(time.monotonic())
            if len(self._seen) > 100_000:  # addresses gone quiet are forgotten
                for k in [k for k, v in self._seen.items() if not v][:50_000]:
                    del self._seen[k]
            return len(times)


def client(scope) -> str:
    """The client's address, for counting its failed authentications."""
    return (scope.get("client") or ("unknown", 0))[0]


def _headers(scope) -> dict[bytes, str]:
    """The request's headers by name, each the first of its name; read once a request
    (asked for one by one, they cost as much as the rest of the guard)."""
    found: dict[bytes, str] = {}
    for k, v in reversed(scope.get("headers", ())):
        found[k] = v
    return {k: v.decode("latin-1") for k, v in found.items()}


def _same_origin(headers: dict[bytes, str]) -> bool:
    source = headers.get(b"origin") or headers.get(b"referer")
    if source is None:
        return True  # not a browser (curl, a client library): cookies are not involved
    host = headers.get(b"host") or ""
    parts = urlsplit(source)
    return parts.netloc == host and parts.scheme in ("http", "https")


class Guard:
    """The ASGI middleware (see the module doc). `authenticate(token, client)` is
    awaited for the token's user or None (and counts the failure); the user it finds for
    a request is left in the request's state (`user`), so that the handler does not look
    it up again."""

    def __init__(self, app, authenticate, failures: FailedAuth, rate: TokenRate | None = None):
        self.app, self.authenticate, self.failures = app, authenticate, failures
        self.rate = rate or TokenRate()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        method, path = scope["method"], scope["path"]
        address = client(scope)
        headers = _headers(scope)
        if method in UNSAFE and not _same_origin(headers):
            return await _refuse(scope, receive, send, 403,
                                 "refused: the request comes from another origin")
        if self.failures.locked(address) and (path.startswith("/v1/") or path == "/ui/login"):
            return await _refuse(scope, receive, send, 429,
                                 "too many failed authentications: try again in a minute",
                                 {"retry-after": str(int(FailedAuth.WINDOW))})
        limit = MAX_UPLOAD if (headers.get(b"content-type") or "").startswith(
            "multipart/") else MAX_JSON
        declared = headers.get(b"content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            return await _refuse(scope, receive, send, 413,
                                 f"request body of {int(declared):,} bytes is over the limit "
                                 f"of {limit:,}")
        state = scope.setdefault("state", {})
        auth = headers.get(b"authorization") or ""
        scheme, _, token = auth.partition(" ")
        if path.startswith("/v1/") and token.strip():
            wait = self.rate.wait(token.strip())
            if wait:
                return await _refuse(scope, receive, send, 429,
                                     f"over this token's {self.rate.rate:g} requests a second",
                                     {"retry-after": str(max(1, math.ceil(wait)))})
        if method in UNSAFE and path.startswith("/v1/"):
            who = await self.authenticate(token.strip(), address) \
                if scheme.lower() == "bearer" and token.strip() else None
            if who is None:
                return await _refuse(scope, receive, send, 401, "unknown or revoked token",
                                     {"www-authenticate": "Bearer"})
            state["user"] = who
        state["csp_nonce"] = nonce = secrets.token_urlsafe(16)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge(limit)
            return message

        async def secured(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"content-security-policy", CSP.format(nonce=nonce).encode()),
                            (b"x-frame-options", b"DENY"),
                            (b"x-content-type-options", b"nosniff"),
                            (b"referrer-policy", b"strict-origin-when-cross-origin")]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, counted, secured)
        except _TooLarge as e:
            await _refuse(scope, receive, send, 413, str(e))


class _TooLarge(Exception):
    def __init__(self, limit: int):
        super().__init__(f"request body is over the limit of {limit:,} bytes")


async def _refuse(scope, receive, send, status: int, detail: str, headers=None):
    response = JSONResponse({"detail": detail}, status_code=status, headers=headers)
    await response(scope, receive, send)
