"""A region's node in the federation: its part in every joint job, each checked against
the agreements the node adopted, whoever asks (the coordinator's check is not taken on
trust), and its federation API over mutual TLS (`listener_app`).

What a node holds for joint jobs, in its folder (`federation.home`):

    register.parquet              entity_id, kind, value: the identifiers it may match
    indicators/<name>.parquet     count: one row a bucket, for secure sums

Only what a job's agreement releases leaves the node: blinded identifiers for PSI, its
secret shares of noisy counts for a sum, a redacted alert. What it learns (which of its
entities another region shares) stays in its own records.
"""

from __future__ import annotations

import base64
import contextlib
import json
import subprocess
import tempfile
from pathlib import Path

import httpx
import polars as pl
import sqlalchemy as sa
from fastapi import FastAPI, Request

from suptech.federation import psi, records
from suptech.federation.agreements import Agreement, Agreements, checked
from suptech.federation.home import COORDINATOR, Home
from suptech.federation.rulebook import rulebook
from suptech.federation.wire import Link, answers, peer
from suptech.federation.workers import run_party
from suptech.ops.access import Refused


class Node:
    """Region `region`'s part in the federation, on its operational database `ops`."""

    def __init__(self, home: Home, region: str, ops: sa.Engine, reader=None):
        if region == COORDINATOR:
            raise ValueError("the coordinator is not a region's node")
        self.home, self.region, self.ops = home, region, ops
        self.reader = reader  # the region's report store, for reading (Services.reader)
        self.parties: dict[str, subprocess.Popen] = {}  # job id -> this node's party in it
        self.member = home.member(region)
        self.link = Link(home, region, ops)

    @property
    def agreements(self) -> Agreements:
        """As adopted now: a new version the node adopts takes effect at the next job."""
        return Agreements.load(self.home.agreements_of(self.region))

    def allow(self, job: str, parties: set[str], asker: str, fields: set[str],
              rho: float | None = None) -> Agreement:
        """The agreement this node goes by for the job; else Refused, and audited here."""
        return checked(self.agreements, self.ops, self.region, job, parties - {asker}, asker,
                       fields, rho)

    # ---- private set intersection ----

    def register(self, kinds: set[str]) -> pl.DataFrame:
        path = self.member.folder / "register.parquet"
        if not path.exists():
            raise ValueError(f"{self.region} holds no register of identifiers ({path.name})")
        return pl.read_parquet(path).filter(pl.col("kind").is_in(sorted(kinds)))

    def ask_psi(self, job_id: str, other: str, kinds: set[str]) -> dict:
        """Find which of this node's entities `other` also holds; keep them here, release
        how many."""
        agreement = self.allow("psi", {self.region, other}, self.region, kinds)
        mine = self.register(kinds)
        asker = psi.Asker(self.home.campaign, list(zip(mine["kind"], mine["value"])))
        answer = self.link.post(other, "/psi/answer", {
            "job_id": job_id, "kinds": sorted(kinds), "asked": asker.size,
            "request": base64.b64encode(asker.request()).decode()})
        found = asker.shared(base64.b64decode(answer["setup"]),
                             base64.b64decode(answer["response"]))
        entities = mine["entity_id"].gather(found).unique().sort().to_list()
        with self.ops.begin() as con:
            records.keep(con, "matched", other, job_id, records.tag(agreement),
                         {"kinds": sorted(kinds), "entities": entities})
        return {"shared": len(entities), "agreement": records.tag(agreement)}

    def answer_psi(self, asker: str, body: dict) -> dict:
        kinds = set(body["kinds"])
        self.allow("psi", {self.region, asker}, asker, kinds)
        mine = self.register(kinds)
        setup, response = psi.Answerer(self.home.campaign, list(zip(mine["kind"], mine["value"]))) \
            .answer(base64.b64decode(body["request"]), int(body["asked"]))
        return {"setup": base64.b64encode(setup).decode(),
                "response": base64.b64encode(response).decode()}

    # ---- record linkage (people with no identifier on record) ----

    def allow_linkage(self, body: dict) -> Agreement:
        from suptech.federation.linkage import LINKED

        return self.allow("linkage", {self.region, body["other"]}, body["asker"], set(LINKED))

    def encode_people(self, body: dict) -> dict:
        """This node's people as keyed Bloom filters (CLKs), for the coordinator to
        match against another region's; names, dates and addresses stay here."""
        from suptech.federation import linkage

        self.allow_linkage(body)
        path = self.member.folder / "people.parquet"
        if not path.exists():
            raise ValueError(f"{self.region} holds no people to link ({path.name})")
        people = pl.read_parquet(path)
        # Keyed by the campaign: the coordinator, which has no campaign key, cannot test
        # a guessed name against the filters.
        secret = self.home.campaign_key(self.region).hex() + self.home.campaign
        with tempfile.TemporaryDirectory() as work:
            clks = linkage.encode(people, secret, Path(work))
        return {"clks": [base64.b64encode(c).decode() for c in clks["clk"]]}

    def linked(self, body: dict) -> dict:
        """The coordinator's matches: which of this node's people `other` also has."""
        from suptech.federation import linkage

        agreement = self.allow_linkage(body)
        ids = pl.read_parquet(self.member.folder / "people.parquet", columns=["entity_id"])
        entities = ids["entity_id"].gather([int(i) for i in body["rows"]]).sort().to_list()
        with self.ops.begin() as con:
            records.keep(con, "matched", body["other"], body["job_id"], records.tag(agreement),
                         {"fields": list(linkage.LINKED), "entities": entities})
        return {"kept": len(entities)}

    # ---- secure sums ----

    def indicator(self, name: str) -> Path:
        path = self.member.folder / "indicators" / f"{name}.parquet"
        if not name.replace("_", "").isalnum() or not path.exists():
            raise ValueError(f"{self.region} has no indicator {name!r}")
        return path

    def check_sum(self, body: dict) -> dict:
        """Whether this node will take part in a secure sum, and with how many buckets:
        asked of every party before any starts, since a party that never comes leaves
        the others waiting."""
        import pyarrow.parquet as pq

        from suptech.federation.secure_sum import rho

        parties, name = body["parties"], body["indicator"]
        if self.region not in parties:
            raise ValueError(f"{self.region} is not a party of this sum")
        self.allow("secure_sum", set(parties), body["asker"], {name},
                   rho(float(body["scale"]), int(body.get("sensitivity", 1))))
        return {"buckets": pq.read_metadata(self.indicator(name)).num_rows}

    def join_sum(self, body: dict) -> dict:
        """Take part in a secure sum as one MPyC party (its own process, over TLS with
        the federation's certificates); the released sum, as this party saw it."""
        from suptech.federation.secure_sum import command

        self.check_sum(body)
        parties, name = body["parties"], body["indicator"]
        scale, sensitivity = float(body["scale"]), int(body.get("sensitivity", 1))
        counts = self.indicator(name)
        addresses = []
        for region in parties:
            member = self.home.member(region)
            addresses += ["-P", f"{httpx.URL(member.url).host}:{member.mpc_port}"]
        with tempfile.TemporaryDirectory() as work:
            out = Path(work) / "released.json"
            with self._stoppable(body["job_id"]) as started:
                run_party(command(counts, out, scale, sensitivity,
                                  [*addresses, "-I", str(parties.index(self.region)), "--ssl"],
                                  self.member.folder / "sent.log"),
                          f"{self.region}'s party in the sum", self.member.folder / "mpyc",
                          started=started)
            return json.loads(out.read_text())

    @contextlib.contextmanager
    def _stoppable(self, job_id: str):
        """This node's party in a job may be stopped (`stop`) while it runs: yields what
        to tell its process to."""
        try:
            yield lambda process: self.parties.__setitem__(job_id, process)
        finally:
            self.parties.pop(job_id, None)

    def stop(self, body: dict) -> dict:
        """Another party of the job failed: stop this node's, which would wait for it."""
        party = self.parties.get(str(body["job_id"]))
        if party is not None and party.poll() is None:
            party.kill()
            return {"stopped": True}
        return {"stopped": False}

    # ---- secure risk propagation ----

    def key_share(self, campaign: str) -> Path:
        if not campaign.replace("-", "").isalnum():
            raise ValueError(f"not a campaign's name: {campaign!r}")
        return self.member.folder / "paillier" / f"{campaign}.key"

    def allow_propagation(self, body: dict) -> Agreement:
        """The agreement this node takes part under, checked before it says it will and
        again when it runs."""
        from suptech.federation.propagation import key_length

        if self.region not in body["parties"]:
            raise ValueError(f"{self.region} is not a party of this propagation")
        if self.member.rp_port is None:
            raise ValueError(f"{self.region} has no port for risk propagation: "
                             "its federation home predates it")
        key_length(body["key"]["key_length"])  # the node checks what it is asked too
        return self.allow("risk_propagation", set(body["parties"]), body["asker"], {"risk"})

    def check_propagation(self, body: dict) -> dict:
        """Whether this node takes part, and whether it holds its share of the
        campaign's key (if any party lacks one, all make a new key together)."""
        self.allow_propagation(body)
        return {"key": self.key_share(body["campaign"]).exists()}

    def join_propagation(self, body: dict) -> dict:
        """Take part in secure risk propagation as one player (a worker in `.venv-tno`);
        keep this region's leads (its accounts the propagation made risky) here."""
        from suptech.federation import propagation
        from suptech.federation.regions import store_regions

        agreement = self.allow_propagation(body)
        if self.reader is None:
            raise RuntimeError(f"{self.region}'s node has no report store to read")
        with self.reader() as store:
            payments = store.view("payment").select(
                "debtor_account_id", "creditor_account_id", "amount").to_polars()
            where = store_regions(store)
            alerts = store.alerts()
        key = self.home.campaign_key(self.region)
        risk, edges = propagation.region_inputs(self.region, body["parties"], payments,
                                                  where, alerts, key)
        real = dict(zip(risk["id"], risk["account_id"]))
        parties = {}
        for region in body["parties"]:
            member = self.home.member(region)
            parties[region] = {"host": httpx.URL(member.url).host, "port": member.rp_port,
                               "cert": str(member.folder / "tls.crt")}
        config = {"me": self.region, "parties": parties, "key": self.member.cert[1],
                  "cert": self.member.cert[0], "ca": self.home.ca,
                  "sent_log": str(self.member.folder / "sent.log"),
                  "key_share": str(self.key_share(body["campaign"])),
                  "keygen": bool(body["keygen"]),
                  "key_length": int(body["key"]["key_length"]),
                  "iterations": int(body["iterations"]), "delta": float(body["delta"])}
        with self._stoppable(body["job_id"]) as started, \
                tempfile.TemporaryDirectory() as work:
            out, cost = propagation.run_player(config, risk, edges, Path(work), started=started)
        found = propagation.leads(out, risk, float(body["lead_risk"]))
        kept = [{"account_id": real[i], "risk": r} for i, r in zip(found["id"], found["risk"])]
        with self.ops.begin() as con:
            records.keep(con, "propagated", ",".join(body["parties"]), body["job_id"],
                         records.tag(agreement), {"accounts": out.height, "leads": kept,
                                                  "cost": cost})
        return {"accounts": out.height, "leads": len(kept), **cost}

    # ---- shared alerts ----

    def receive_alert(self, sender: str, body: dict) -> dict:
        fields = set(body.get("fields") or ["alert"])
        agreement = self.allow("alerts", {self.region, sender}, sender, fields)
        with self.ops.begin() as con:
            kept = records.keep(con, "alert.in", sender, body["alert"]["alert_id"],
                                records.tag(agreement), body["alert"])
        return {"kept": kept}

    def status(self) -> dict:
        adopted = self.agreements
        return {"region": self.region, "rulebook": rulebook(),
                "agreements": {a.id: a.version for a in adopted.in_force}}


def listener_app(node: Node) -> FastAPI:
    """The node's federation API: what other members may ask of it."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    def only(request: Request, *who: str) -> str:
        sender = peer(request)
        if sender not in who:
            raise Refused("{asker} may not ask this of a node", asker=sender)
        return sender

    answers(app)

    regions = node.home.regions

    @app.get("/status")
    def status(request: Request) -> dict:
        only(request, COORDINATOR, *regions)
        return node.status()

    def from_coordinator(handler):
        def route(request: Request, body: dict) -> dict:
            only(request, COORDINATOR)
            return handler(body)
        return route

    # What the coordinator asks of a node when it runs a joint job.
    for path, handler in {
            "/psi/run": lambda b: node.ask_psi(b["job_id"], b["with"], set(b["kinds"])),
            "/linkage/encode": node.encode_people, "/linkage/matched": node.linked,
            "/sum/check": node.check_sum, "/sum/run": node.join_sum,
            "/propagation/check": node.check_propagation,
            "/propagation/run": node.join_propagation, "/stop": node.stop}.items():
        app.post(path)(from_coordinator(handler))

    @app.post("/psi/answer")
    def psi_answer(request: Request, body: dict) -> dict:
        return node.answer_psi(only(request, *regions), body)

    @app.post("/alerts")
    def alert_in(request: Request, body: dict) -> dict:
        return node.receive_alert(only(request, *regions), body)

    from suptech.federation import joint

    @app.post("/cases/joined")
    def case_joined(request: Request, body: dict) -> dict:
        return joint.joined(node, only(request, *regions), body)

    @app.post("/cases/{case_id}")
    def case_act(request: Request, case_id: str, body: dict) -> dict:
        return joint.act_for_partner(node, only(request, *regions), case_id, body)

    return app
