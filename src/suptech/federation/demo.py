"""`suptech federation demo`: a four-region federation on this machine, in one command.

Makes a federation home (authority, certificates, agreements), fills each region's node
from one simulated payment network (`load`), starts the coordinator and the four nodes
as processes of their own, and runs every joint job as the regions would ask for it:
PSI and record linkage between every pair of regions, a secure sum of each indicator
across all four, secure risk propagation along the payments that cross regions, each
region's highest-scored alert shared with the others, and one job the agreements do not
allow (refused, and audited by both sides). Then it serves the dashboards, or with
--no-serve stops every process it started.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import httpx

from suptech.federation.home import Home, init
from suptech.federation.launch import Processes, users
from suptech.federation.load import load
from suptech.federation.psi import KINDS

INDICATORS = ("risk_band", "alerts_by_typology", "payments_by_amount_band")
#: The noise on a released sum (the scale of its discrete Gaussian): rho 0.02 a release.
SCALE = 5.0
#: The demo's Paillier key for risk propagation: 1024 bits, made in a few minutes on a
#: laptop (a real campaign's default is `propagation.KEY_LENGTH`).
DEMO_KEY = 1024


class Asking:
    """A region's supervisor asking its own node, as the dashboard or a script would."""

    def __init__(self, home: Home, tokens: dict[str, str]):
        self.home, self.tokens = home, tokens
        self.client = httpx.Client(timeout=900)

    def __call__(self, region: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        url = self.home.member(region).dashboard + path
        headers = {"authorization": f"Bearer {self.tokens[region]}"}
        r = self.client.post(url, json=body, headers=headers) if body is not None \
            else self.client.get(url, headers=headers)
        return r.status_code, r.json()


def jobs(home: Home, alerts: dict, truth: dict, people: dict, ask: Asking,
         say) -> list[dict]:
    """Every joint job, one after another; what each released or why it was refused
    (and for PSI and linkage, how many shared entities were planted)."""
    done = []

    def run(region: str, what: str, path: str, body: dict, **known) -> None:
        started = time.perf_counter()
        status, answer = ask(region, path, body)
        done.append({"asked by": region, "job": what, "status": status,
                     "seconds": time.perf_counter() - started, "answer": answer, **known})
        say(done[-1])

    for a, b in itertools.combinations(home.regions, 2):
        run(a, f"psi with {b}", "/v1/federation/jobs",
            {"job": "psi", "with": b, "kinds": list(KINDS)}, planted=len(truth.get((a, b), ())))
        run(a, f"record linkage with {b}", "/v1/federation/jobs",
            {"job": "linkage", "with": b}, planted=len(people.get((a, b), ())))
    for indicator in INDICATORS:
        run(home.regions[0], f"secure sum of {indicator}", "/v1/federation/jobs",
            {"job": "secure_sum", "regions": home.regions, "indicator": indicator,
             "scale": SCALE})
    run(home.regions[0], "secure risk propagation", "/v1/federation/jobs",
        {"job": "risk_propagation", "regions": home.regions, "key_length": DEMO_KEY})
    for region, found in alerts.items():
        if found.height:
            top = found.sort("score", descending=True).row(0, named=True)
            others = [r for r in home.regions if r != region]
            run(region, f"share alert {top['alert_id']}",
                f"/v1/federation/alerts/{top['alert_id']}/share", {"to": others})
    # Over the agreement's budget (rho 0.5 a release): refused, and audited both sides.
    run(home.regions[-1], "secure sum with too little noise (refused)", "/v1/federation/jobs",
        {"job": "secure_sum", "regions": home.regions, "indicator": "risk_band", "scale": 0.5})
    return done


def released(entry: dict) -> str:
    """What a job released, in a line."""
    a = entry["answer"]
    if entry["status"] != 200:
        return f"refused: {a.get('detail')}"
    if "released" in a:
        r = a["released"]
        if "shared" in r:
            return f"{r['shared']} shared entities, {entry['planted']} planted ({a['agreement']})"
        if "leads" in r:
            each = ", ".join(f"{k} {r['leads'][k]} of {r['accounts'][k]}" for k in r["leads"])
            return f"leads from risk that crossed regions: {each} accounts ({a['agreement']})"
        head = ", ".join(map(str, r["sum"][:8])) + (" ..." if len(r["sum"]) > 8 else "")
        return f"[{head}] noise scale {r['scale']:g}, rho {r['rho']:.3g} ({a['agreement']})"
    return f"shared with {', '.join(a['to'])}, redacted ({a['agreement']})"


def demo(out: Path, seed: int, accounts: int, entities: int, progress, say) -> tuple:
    """Make, fill and start the federation and run its jobs; returns (home, processes,
    tokens, what the jobs did). The processes run until the caller stops them."""
    progress(f"making a federation in {out}")
    home = init(out)
    loaded = load(home, seed=seed, accounts=accounts, entities=entities, progress=progress)
    tokens = users(home)
    progress("starting the coordinator and the four nodes")
    processes = Processes(home).start()
    try:
        progress("running every joint job")
        done = jobs(home, loaded["alerts"], loaded["truth"], loaded["people"],
                    Asking(home, tokens), say)
    except BaseException:
        processes.stop()
        raise
    return home, processes, tokens, done
