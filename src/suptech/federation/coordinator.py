"""The federation's coordinator: it holds no raw data. It keeps the membership (the
federation's home), publishes the agreements and the rulebook, schedules the joint jobs
a region asks for (checking the published agreements first, as each node checks its
adopted ones again), and keeps only what the jobs release, with the agreement each ran
under (`records`, kind "released")."""

from __future__ import annotations

import base64
import json
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import polars as pl
import sqlalchemy as sa
from fastapi import FastAPI, Request

from suptech.federation import records
from suptech.federation.agreements import Agreements, checked
from suptech.federation.home import COORDINATOR, Home
from suptech.federation.rulebook import differences
from suptech.federation.secure_sum import rho as rho_of
from suptech.federation.wire import Link, Refusal, answers, peer
from suptech.ops.access import Refused


class Coordinator:
    def __init__(self, home: Home, ops: sa.Engine):
        self.home, self.ops = home, ops
        self.link = Link(home, COORDINATOR, ops)

    @property
    def agreements(self) -> Agreements:
        return Agreements.load(self.home.agreements_of(COORDINATOR))

    @property
    def rulebook(self) -> dict:
        return json.loads((self.home.path / "rulebook.json").read_text())

    def allow(self, job: str, others: set[str], asker: str, fields: set[str],
              rho: float | None = None):
        return checked(self.agreements, self.ops, COORDINATOR, job, others, asker, fields, rho)

    def run(self, asker: str, body: dict) -> dict:
        """Schedule the joint job `asker` asks for, under an agreement in force."""
        job, job_id = body.get("job"), uuid.uuid4().hex[:16]
        if job in ("psi", "linkage"):
            other = body["with"]
            if other not in self.home.regions or other == asker:
                raise ValueError(f"{job} needs another region of the federation, not {other!r}")
        if job == "psi":
            kinds = set(body["kinds"])
            agreement = self.allow("psi", {other}, asker, kinds)
            out = self.link.post(asker, "/psi/run", {"job_id": job_id, "with": other,
                                                     "kinds": sorted(kinds)})
            parties, released = sorted({asker, other}), {"shared": out["shared"]}
        elif job == "linkage":
            from suptech.federation.linkage import LINKED

            agreement = self.allow("linkage", {other}, asker, set(LINKED))
            parties, released = sorted({asker, other}), {"shared": self.link_people(
                job_id, asker, other)}
        elif job == "secure_sum":
            parties = sorted(set(body["regions"]) | {asker})
            scale, sensitivity = float(body["scale"]), int(body.get("sensitivity", 1))
            rho = rho_of(scale, sensitivity)
            agreement = self.allow("secure_sum", set(parties) - {asker}, asker,
                                   {body["indicator"]}, rho)
            ask = {"job_id": job_id, "parties": parties, "asker": asker, "scale": scale,
                   "sensitivity": sensitivity, "indicator": body["indicator"]}
            with ThreadPoolExecutor(len(parties)) as pool:
                # Every party first says it will take part, and with how many buckets:
                # MPyC's parties wait for each other, so none starts unless all can.
                sizes = {r: c["buckets"] for r, c in zip(parties, pool.map(
                    lambda r: self.link.post(r, "/sum/check", ask), parties))}
                if len(set(sizes.values())) != 1:
                    raise ValueError(f"the parties' {body['indicator']} have different "
                                     f"numbers of buckets: {sizes}")
            sums = self.everyone(job_id, parties, "/sum/run", ask)
            if any(s["sum"] != sums[0]["sum"] for s in sums):
                raise RuntimeError("the parties released different sums")
            released = {"indicator": body["indicator"], "sum": sums[0]["sum"], "scale": scale,
                        "sensitivity": sensitivity, "rho": rho}
        elif job == "risk_propagation":
            parties = sorted(set(body.get("regions") or self.home.regions) | {asker})
            agreement = self.allow("risk_propagation", set(parties) - {asker}, asker, {"risk"})
            released = self.propagate(job_id, asker, parties, body)
        else:
            raise ValueError(f"unknown job {job!r} "
                             "(jobs: psi, linkage, secure_sum, risk_propagation)")
        tag = records.tag(agreement)
        with self.ops.begin() as con:
            records.keep(con, "released", asker, job_id, tag,
                         {"job": job, "parties": parties, **released})
        return {"job_id": job_id, "job": job, "parties": parties, "agreement": tag,
                "released": released}

    def propagate(self, job_id: str, asker: str, parties: list[str], body: dict) -> dict:
        """Secure risk propagation among `parties`: every party says first that it will
        take part (and whether it holds its share of the campaign's key: if one does
        not, they all make a new key together), then all run at once. Released here:
        how many accounts each region brought and how many leads it found."""
        from suptech.federation import propagation as rp

        length = rp.key_length(body.get("key_length", rp.KEY_LENGTH))
        ask = {"job_id": job_id, "parties": parties, "asker": asker,
               "campaign": self.home.campaign, "key": {"key_length": length},
               "iterations": int(body.get("iterations", rp.ITERATIONS)),
               "delta": float(body.get("delta", rp.DELTA)),
               "lead_risk": float(body.get("lead_risk", rp.LEAD_RISK))}
        if not (0 < ask["delta"] < 1 and 1 <= ask["iterations"] <= 10):
            raise ValueError("delta must be in (0, 1) and iterations in 1..10")
        with ThreadPoolExecutor(len(parties)) as pool:
            held = list(pool.map(lambda r: self.link.post(r, "/propagation/check", ask),
                                 parties))
            ask["keygen"] = not all(h["key"] for h in held)
        ran = self.everyone(job_id, parties, "/propagation/run", ask)
        return {"campaign": ask["campaign"], "keygen": ask["keygen"], "key_length": length,
                "iterations": ask["iterations"], "delta": ask["delta"],
                "accounts": {r: o["accounts"] for r, o in zip(parties, ran)},
                "leads": {r: o["leads"] for r, o in zip(parties, ran)}}

    def link_people(self, job_id: str, a: str, b: str) -> int:
        """Record linkage between regions a and b, the coordinator as the linkage unit:
        each sends its people's CLKs (checking its own agreement for a's ask), the
        coordinator matches them and tells each region which of its rows matched. Kept
        here: how many."""
        from suptech.federation.linkage import match

        with ThreadPoolExecutor(2) as pool:
            a_clks, b_clks = pool.map(lambda pair: self.link.post(
                pair[0], "/linkage/encode", {"job_id": job_id, "asker": a,
                                             "other": pair[1]})["clks"], [(a, b), (b, a)])

        def frame(clks: list[str]) -> pl.DataFrame:
            return pl.DataFrame({"clk": [base64.b64decode(c) for c in clks]},
                                schema={"clk": pl.Binary})
        with tempfile.TemporaryDirectory() as work:
            pairs = match(frame(a_clks), frame(b_clks), Path(work))
        for region, other, rows in ((a, b, pairs["a"]), (b, a, pairs["b"])):
            self.link.post(region, "/linkage/matched", {
                "job_id": job_id, "asker": a, "other": other, "rows": rows.to_list()})
        return pairs.height

    def everyone(self, job_id: str, parties: list[str], path: str, body: dict) -> list[dict]:
        """Ask every party at once to run its part of a joint computation; their answers.
        If one fails, the others, which would wait for it, are told to stop, and the
        failure is passed on with who failed."""
        with ThreadPoolExecutor(len(parties)) as pool:
            running = {r: pool.submit(self.link.post, r, path, body) for r in parties}
            for done in as_completed(running.values()):
                if done.exception() is None:
                    continue
                for r in parties:
                    try:
                        self.link.post(r, "/stop", {"job_id": job_id})
                    except Refusal:
                        pass  # gone already, or unreachable: audited by the link
                e = done.exception()
                if not isinstance(e, Refusal):
                    raise e
                raise Refusal(e.to, e.status, f"{e.why}; the other parties were stopped")
            return [running[r].result() for r in parties]

    def alert_shared(self, sender: str, body: dict) -> dict:
        """A region shared a redacted alert: the coordinator keeps the release."""
        to = set(body["to"])
        agreement = self.allow("alerts", to, sender, set(body.get("fields") or ()))
        with self.ops.begin() as con:
            records.keep(con, "released", sender, body["alert"]["alert_id"],
                         records.tag(agreement), {"job": "alerts", "parties": sorted(to | {sender}),
                                                  "alert": body["alert"]})
        return {"kept": True}

    def members(self) -> list[dict]:
        """Each node as it answers now: reachable, the agreements it adopted against the
        published ones, and where its rulebook departs from the published one."""
        published = {a.id: a.version for a in self.agreements.in_force}
        rulebook = self.rulebook

        def one(region: str) -> dict:
            try:
                s = self.link.get(region, "/status")
            except Refusal as e:
                return {"region": region, "reachable": False, "why": e.why}
            stale = {k: v for k, v in published.items() if s["agreements"].get(k) != v}
            return {"region": region, "reachable": True, "agreements": s["agreements"],
                    "agreements_behind": stale,
                    "rulebook_differences": differences(rulebook, s["rulebook"])}
        with ThreadPoolExecutor(len(self.home.regions)) as pool:
            return list(pool.map(one, self.home.regions))


def coordinator_app(c: Coordinator) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    regions = c.home.regions

    def region(request: Request) -> str:
        sender = peer(request)
        if sender not in regions:
            raise Refused("{asker} is not a region of this federation", asker=sender)
        return sender

    answers(app)

    @app.get("/status")
    def status(request: Request) -> dict:
        peer(request)
        return {"member": COORDINATOR, "regions": regions}

    @app.post("/jobs")
    def jobs(request: Request, body: dict) -> dict:
        return c.run(region(request), body)

    @app.post("/alerts")
    def alerts(request: Request, body: dict) -> dict:
        return c.alert_shared(region(request), body)

    @app.get("/released")
    def released(request: Request, limit: int = 50) -> list[dict]:
        region(request)
        with c.ops.connect() as con:
            rows = records.read(con, "released", limit)
        for r in rows:  # a large sum is summed up, not sent whole to every dashboard
            s = r["body"].get("sum")
            if isinstance(s, list) and len(s) > 20:
                r["body"]["sum"] = s[:20]
                r["body"]["buckets"] = len(s)
        return rows

    @app.get("/members")
    def members(request: Request) -> list[dict]:
        region(request)
        return c.members()

    @app.get("/agreements")
    def agreements(request: Request) -> list[dict]:
        region(request)
        return [a.model_dump(mode="json") for a in c.agreements.in_force]

    return app
