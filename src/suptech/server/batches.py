"""A JSON batch of reports, taken without FastAPI's machinery when it is well formed.

`POST /v1/submissions/{report_type}` is the hot path of a reporting system: institutions
send one report at a time, thousands a second. Its FastAPI route (dependencies solved,
the body validated by pydantic, the route found among all the others) cost about three
times the rest of the request in the server's one interpreter (BENCHMARKS.md, "REST
API"). This route, tried first, answers a well-formed batch from an authenticated
caller itself; anything else (a malformed body, an unknown report type) it hands, body
and all, to the FastAPI route, whose answers and errors stay the only definition of
the endpoint, and which the API's schema describes.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.routing import Route

from suptech.ingest.jsonl import exact_number
from suptech.model.reports import REPORT_TYPES
from suptech.server.shapes import MAX_RECORDS, submission_result

PATH = "/v1/submissions/{report_type}"


def records_of(body: bytes) -> list[dict] | None:
    """The batch's records, where the body is what `shapes.JsonBatch` takes (an object
    whose `records` is a list of objects, numbers with a fraction kept as digits);
    None otherwise."""
    try:
        data = json.loads(body, parse_float=exact_number)
    except ValueError:
        return None
    records = data.get("records") if isinstance(data, dict) else None
    if not isinstance(records, list) or len(records) > MAX_RECORDS \
            or not all(isinstance(r, dict) for r in records):
        return None
    return records


class Batches:
    """The ASGI app of the route; `full` is the FastAPI route of the same path."""

    def __init__(self, full):
        self.full = full

    async def __call__(self, scope, receive, send) -> None:
        request = Request(scope, receive)
        report_type = scope["path_params"]["report_type"]
        who = getattr(request.state, "user", None)  # the guard authenticated the caller
        json_body = (request.headers.get("content-type") or "").startswith("application/json")
        body = await request.body()
        records = records_of(body) if who is not None and json_body \
            and report_type in REPORT_TYPES else None
        if records is None:
            async def replay():
                return {"type": "http.request", "body": body, "more_body": False}
            return await self.full.handle(scope, replay, send)
        name = f"{report_type}-api.jsonl"
        services = request.app.state.services
        answer = submission_result(name, await services.ingest(who, name, records, report_type))
        await answer(scope, receive, send)


def install(app, router) -> None:
    """Put the route before every other, beside the FastAPI route (of `router`) it
    hands over to."""
    [full] = [r for r in router.routes if getattr(r, "path", None) == PATH]
    app.router.routes.insert(0, Route(PATH, Batches(full), methods=["POST"]))
