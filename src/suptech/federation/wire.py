"""How federation members talk: HTTPS with mutual TLS under the federation's authority,
every request in both sides' audit logs, and every byte a member sends kept in its
`sent.log`, so that what left a region can be read back (and a test can search it).

`listener` serves a member's federation API: only a peer with a certificate of the
federation's authority gets through the handshake, and the handlers learn who it is from
that certificate (`peer`), never from the request. `Link` is a member's client to the
others: each request it sends is audited with its answer ("federation.sent"), as the
listener on the other side audits it ("federation.received").
"""

from __future__ import annotations

import json
import os
import ssl
import threading
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import uvicorn
from fastapi import Request
from starlette.concurrency import run_in_threadpool
from uvicorn.protocols.http.h11_impl import H11Protocol

from suptech.federation.home import Home
from suptech.federation.pki import common_name
from suptech.ops import audit

PEER = "suptech.peer"
_WRITING = threading.Lock()


def sent(folder: Path, to: str, what: str, body: bytes) -> None:
    """Keep what a member sent: one framed record per message, its bytes as sent."""
    with _WRITING:
        append_sent(folder / "sent.log", to, what, body)


def append_sent(log: Path, to: str, what: str, body: bytes) -> None:
    """One framed record, in one write (the member's workers append to the log too).
    Readable by the member only: a secure computation's messages hold its parties'
    one-run keys and shares."""
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"--- to {to} {what} {len(body)} bytes\n".encode() + body + b"\n")
    finally:
        os.close(fd)


def peer(request: Request) -> str:
    """Who sent the request: the common name of its verified client certificate."""
    return request.scope[PEER]


class _PeerProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, telling the application the verified peer's name."""

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        name = common_name(transport.get_extra_info("peercert"))
        app = self.app

        async def with_peer(scope, receive, send):
            scope[PEER] = name
            await app(scope, receive, send)
        self.app = with_peer


class Audited:
    """ASGI middleware: each request into the listener in the member's audit log (who,
    what, the status, bytes each way, and a refusal's reason), and each byte of its
    answers in `sent.log`."""

    def __init__(self, app, member: str, folder: Path, ops: sa.Engine):
        self.app, self.member, self.folder, self.ops = app, member, folder, ops

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        got, answer, status = 0, [], [0]

        async def counting():
            nonlocal got
            message = await receive()
            got += len(message.get("body", b""))
            return message

        async def keeping(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            elif message["type"] == "http.response.body":
                answer.append(message.get("body", b""))
            await send(message)

        await self.app(scope, counting, keeping)
        body = b"".join(answer)
        who = scope.get(PEER) or "?"
        await run_in_threadpool(sent, self.folder, who, f"answer {scope['path']} {status[0]}", body)
        detail = {"path": scope["path"], "status": status[0], "bytes_in": got,
                  "bytes_out": len(body)}
        if status[0] >= 400:
            detail["why"] = _reason(body)
        await run_in_threadpool(self._record, who, detail)

    def _record(self, who: str, detail: dict) -> None:
        with self.ops.begin() as con:
            audit.record(con, who, "federation.received", "member", self.member, **detail)


def _reason(body: bytes) -> str:
    try:
        return str(json.loads(body).get("detail"))[:300]
    except (ValueError, AttributeError):
        return body[:300].decode(errors="replace")


def listener(app, home: Home, name: str, ops: sa.Engine) -> uvicorn.Server:
    """A uvicorn server for member `name`'s federation API on its address, mutual TLS."""
    member = home.member(name)
    url = httpx.URL(member.url)
    crt, key = member.cert
    # Other members' links keep their connections open: a stop waits a second for
    # them, not uvicorn's graceful period (a job cut short fails, and is asked again).
    config = uvicorn.Config(
        Audited(app, name, member.folder, ops), host=url.host, port=url.port,
        ssl_certfile=crt, ssl_keyfile=key, ssl_ca_certs=home.ca, ssl_cert_reqs=ssl.CERT_REQUIRED,
        http=_PeerProtocol, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
    return uvicorn.Server(config)


class Refusal(Exception):
    """Another member refused a request: its status and reason."""

    def __init__(self, to: str, status: int, why: str):
        super().__init__(f"{to} refused ({status}): {why}")
        self.to, self.status, self.why = to, status, why


class Link:
    """Member `name`'s client to the others over mutual TLS, audited and kept."""

    def __init__(self, home: Home, name: str, ops: sa.Engine, timeout: float = 3600):
        self.home, self.name, self.ops = home, name, ops
        member = home.member(name)
        self.folder = member.folder
        context = ssl.create_default_context(cafile=home.ca)
        context.load_cert_chain(*member.cert)
        self._client = httpx.Client(verify=context, timeout=timeout)

    def post(self, to: str, path: str, body: dict[str, Any]) -> dict:
        """POST `body` as JSON to member `to`'s `path`; its JSON answer, or Refusal."""
        return self._send(to, "POST", path, json.dumps(body).encode())

    def get(self, to: str, path: str) -> dict:
        return self._send(to, "GET", path, b"")

    def _send(self, to: str, method: str, path: str, data: bytes) -> dict:
        url = self.home.member(to).url + path
        sent(self.folder, to, f"{method} {path}", data)
        try:
            r = self._client.request(method, url, content=data,
                                     headers={"content-type": "application/json"})
            status, body = r.status_code, r.content
        except httpx.HTTPError as e:
            status, body = 0, json.dumps({"detail": f"unreachable: {e}"}).encode()
        detail = {"path": path, "status": status, "bytes_out": len(data),
                  "bytes_in": len(body)}
        if status >= 400 or status == 0:
            detail["why"] = _reason(body)
        with self.ops.begin() as con:
            audit.record(con, self.name, "federation.sent", "member", to, **detail)
        if status != 200:
            raise Refusal(to, status, detail["why"])
        return json.loads(body)

    def close(self) -> None:
        self._client.close()


def status_of(e: Refusal) -> int:
    """The status to answer with when another member refused: its own where it refused
    (403, 404, 409...), 502 where it could not be reached or failed."""
    return e.status if 400 <= e.status < 500 else 502


def answers(app) -> None:
    """How a member's federation API answers what went wrong: JSON {"detail": ...}, a
    refusal 403, another member's refusal passed on, a bad request 400, 404, 409, a
    secure computation's party that failed 502."""
    from fastapi.responses import JSONResponse

    from suptech.ops.access import Conflict, NotFound, Refused

    def answer(status):
        def handler(_: Request, e: Exception) -> JSONResponse:
            detail = f"missing field {e}" if isinstance(e, KeyError) else str(e)
            return JSONResponse({"detail": detail}, status_code=status(e))
        return handler

    from suptech.federation.workers import PartyFailed

    for exc, status in ((Refused, 403), (ValueError, 400), (KeyError, 400), (NotFound, 404),
                        (Conflict, 409), (PartyFailed, 502)):
        app.add_exception_handler(exc, answer(lambda _, s=status: s))
    app.add_exception_handler(Refusal, answer(status_of))
