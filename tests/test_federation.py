"""Four regional nodes and the coordinator, each a process of its own with its own data
directory and ports, talking over mutual TLS (issue 25's first Done-when).

Each node holds a register of 10,000 identifiers; some customers are planted in two
regions, written each region's way. Shanghai also holds its share of a simulated
payment network, ingested and scanned in its own report database. The agreements: the
published PSI agreement (v2) takes Anhui in, which Shanghai, Jiangsu and Zhejiang have
not adopted yet (they run v1, without Anhui).
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
from pathlib import Path

import httpx
import polars as pl
import pytest
import sqlalchemy as sa
from dashboard_site import CHROMIUM, needs_chromium

from suptech.federation import records
from suptech.federation.home import COORDINATOR, Home, delta_agreements, init
from suptech.federation.launch import Processes, users
from suptech.federation.load import load
from suptech.federation.psi import normalise
from suptech.ops import access
from suptech.ops.db import audit, connect

THREE = ["CN-SH", "CN-JS", "CN-ZJ"]
SCALE = 10.0


def agreements(psi_regions: list[str], version: int) -> list[dict]:
    out = delta_agreements()
    psi = next(a for a in out if a["id"] == "delta-psi")
    psi.update(regions=psi_regions, released_to=psi_regions, version=version)
    return out


@pytest.fixture(scope="module")
def fed(tmp_path_factory):
    path = tmp_path_factory.mktemp("federation")
    published = path.parent / f"{path.name}-agreements.json"
    published.write_text(json.dumps(agreements(THREE + ["CN-AH"], 2)))
    home = init(path, published)
    for region in THREE:  # not adopted yet: they run v1, without Anhui
        (home.member(region).folder / "agreements.json").write_text(
            json.dumps(agreements(THREE, 1)))
    loaded = load(home, seed=2301, accounts=2_000, entities=10_000, shared=40,
                  regions=THREE, progress=lambda _: None)
    tokens = users(home)
    with Processes(home).start():
        yield home, loaded, tokens


def ask(fed, region: str, path: str, body: dict | None = None) -> httpx.Response:
    home, _, tokens = fed
    url = home.member(region).dashboard + path
    headers = {"authorization": f"Bearer {tokens[region]}"}
    if body is None:
        return httpx.get(url, headers=headers, timeout=300)
    return httpx.post(url, json=body, headers=headers, timeout=300)


def ops(home: Home, member: str) -> sa.Engine:
    return connect(home.member(member).data)


def audit_log(home: Home, member: str) -> list[dict]:
    with ops(home, member).connect() as con:
        return [dict(r) | {"detail": json.loads(r.detail)}
                for r in con.execute(sa.select(audit).order_by(audit.c.seq)).mappings()]


@pytest.fixture(scope="module")
def psi_runs(fed) -> dict[tuple[str, str], dict]:
    """PSI between each pair of the three regions that agreed to it, asked by the first;
    the three asked at once, as three regions' supervisors might."""
    from concurrent.futures import ThreadPoolExecutor

    pairs = [(a, b) for a in THREE for b in THREE if a < b]
    with ThreadPoolExecutor(len(pairs)) as pool:
        answers = list(pool.map(lambda p: ask(fed, p[0], "/v1/federation/jobs", {
            "job": "psi", "with": p[1], "kinds": ["resident_id", "uscc", "account", "phone"]}),
            pairs))
    for r in answers:
        assert r.status_code == 200, r.text
    return {p: r.json() for p, r in zip(pairs, answers)}


def test_psi_finds_every_planted_shared_entity_and_no_other(fed, psi_runs):
    home, loaded, _ = fed
    pairs = list(psi_runs)
    for (a, b), run in psi_runs.items():
        assert run["released"] == {"shared": len(loaded["truth"][(a, b)])}
        with ops(home, a).connect() as con:
            [matched] = [m for m in records.read(con, "matched") if m["job_id"] == run["job_id"]]
        assert set(matched["body"]["entities"]) == loaded["truth"][(a, b)]
    # The coordinator keeps the released counts, and no entity.
    with ops(home, COORDINATOR).connect() as con:
        released = [r["body"] for r in records.read(con, "released") if r["body"]["job"] == "psi"]
    assert sorted(tuple(r["parties"]) for r in released) == sorted(
        tuple(sorted(p)) for p in pairs)


@pytest.fixture(scope="module")
def linked(fed) -> httpx.Response:
    r = ask(fed, "CN-SH", "/v1/federation/jobs", {"job": "linkage", "with": "CN-JS"})
    assert r.status_code == 200, r.text
    return r


def test_record_linkage_finds_the_planted_people_written_otherwise(fed, linked):
    """Shanghai and Jiangsu link their customers with no identifier on record (name,
    birth date, address, each bank's way, a typo in one in three): only keyed Bloom
    filters reach the coordinator, which matches them and tells each region its rows."""
    home, loaded, _ = fed
    r = linked
    assert r.json()["agreement"] == "delta-linkage v1"
    for a, b in (("CN-SH", "CN-JS"), ("CN-JS", "CN-SH")):
        with ops(home, a).connect() as con:
            [kept] = [m["body"] for m in records.read(con, "matched")
                      if m["job_id"] == r.json()["job_id"]]
        planted = loaded["people"][(a, b)]
        found = set(kept["entities"])
        assert len(found & planted) >= 0.9 * len(planted) and len(found - planted) <= 1
    assert r.json()["released"]["shared"] == len(found)


@pytest.fixture(scope="module")
def summed(fed) -> httpx.Response:
    r = ask(fed, "CN-JS", "/v1/federation/jobs", {"job": "secure_sum", "regions": fed[0].regions,
                                                  "indicator": "risk_band", "scale": SCALE})
    assert r.status_code == 200, r.text
    return r


def test_the_secure_sum_is_the_plain_sum_within_its_stated_noise(fed, summed):
    home, _, _ = fed
    plain = [sum(x) for x in zip(*(
        pl.read_parquet(home.member(r).folder / "indicators" / "risk_band.parquet")["count"]
        for r in home.regions))]
    r = summed
    released = r.json()["released"]
    assert released["rho"] == pytest.approx(1 / (2 * SCALE ** 2))
    assert r.json()["agreement"] == "delta-risk-sums v1"
    # Within six standard deviations, bucket by bucket; and noise was added.
    assert all(abs(s - p) <= 6 * SCALE for s, p in zip(released["sum"], plain))
    assert released["sum"] != plain


@pytest.fixture(scope="module")
def propagated(fed) -> dict:
    """Secure risk propagation among the three regions, asked by Shanghai, every lead
    kept (lead risk 1e-6), with a test-sized key (512 bits: minutes less of key
    generation among the parties than the default)."""
    r = ask(fed, "CN-SH", "/v1/federation/jobs", {
        "job": "risk_propagation", "regions": THREE, "key_length": 512, "lead_risk": 1e-6})
    assert r.status_code == 200, r.text
    return r.json()


def test_secure_risk_propagation_gives_each_region_the_plaintext_risk_of_its_accounts(
        fed, propagated):
    from suptech.federation import propagation
    from suptech.federation.regions import account_regions, split

    home, loaded, _ = fed
    released = propagated["released"]
    assert released["keygen"] is True and propagated["agreement"] == "delta-risk-propagation v1"
    # The same computation in plaintext, on the three regions' payments pooled.
    sim = home.path / "simulation"
    where = account_regions(sim)
    files = split(sim, home.path / "pooled")
    risks, edges = [], []
    for region in THREE:
        payments = pl.read_parquet([f for f in files[region] if f.name.startswith("payment-")])
        risk, e = propagation.region_inputs(region, THREE, payments, where,
                                            loaded["alerts"][region], home.campaign_key(region))
        risks.append(risk)
        edges.append(e)
    risk = pl.concat(risks)
    plain = propagation.propagate(risk, pl.concat(edges).unique())
    plain = plain.join(risk.select("id", "account_id", pl.col("risk").alias("own")), on="id")
    for region in THREE:
        with ops(home, region).connect() as con:
            [kept] = [k["body"] for k in records.read(con, "propagated")
                      if k["job_id"] == propagated["job_id"]]
        assert kept["accounts"] == released["accounts"][region] == risks[THREE.index(region)].height
        secure = {lead["account_id"]: lead["risk"] for lead in kept["leads"]}
        theirs = risks[THREE.index(region)]["account_id"].implode()
        expected = plain.filter(pl.col("account_id").is_in(theirs) & (pl.col("own") == 0)
                                & (pl.col("risk") >= 1e-6))
        assert set(secure) == set(expected["account_id"]) and len(secure) > 10
        for account, value in zip(expected["account_id"], expected["risk"]):
            assert secure[account] == pytest.approx(value, abs=1e-4)
    # Risk crossed regions: leads that no rule of their own region named.
    assert sum(released["leads"].values()) > 0


def test_a_propagation_player_that_fails_stops_the_others_at_once(fed, propagated):
    """Zhejiang's share of the campaign's key is damaged: its player fails as it starts,
    and the coordinator stops the others (which would wait for it), says who failed, and
    leaves no player running."""
    home = fed[0]
    share = home.member("CN-ZJ").folder / "paillier" / f"{home.campaign}.key"
    with damaged(share, lambda: share.write_bytes(b"not a key")):
        r = ask(fed, "CN-SH", "/v1/federation/jobs", {"job": "risk_propagation",
                                                     "regions": THREE})
    assert r.status_code == 502, r.text
    assert "CN-ZJ's risk propagation failed" in r.json()["detail"]
    assert "the other parties were stopped" in r.json()["detail"]
    assert running("propagation_worker.py") == []


def test_a_party_of_a_secure_sum_that_fails_stops_the_others_at_once(fed):
    """Jiangsu's indicator has as many buckets as the others' but no counts in it: its
    MPyC party fails, and the others, waiting for it, are stopped."""
    home = fed[0]
    path = home.member("CN-JS").folder / "indicators" / "risk_band.parquet"
    with damaged(path, lambda: pl.read_parquet(path).rename({"count": "n"}).write_parquet(path)):
        r = ask(fed, "CN-SH", "/v1/federation/jobs", {
            "job": "secure_sum", "regions": THREE, "indicator": "risk_band", "scale": SCALE})
    assert r.status_code == 502, r.text
    assert "CN-JS's party in the sum failed" in r.json()["detail"]
    assert "the other parties were stopped" in r.json()["detail"]
    assert running("suptech.federation.secure_sum") == []


@contextlib.contextmanager
def damaged(path: Path, damage):
    """`path` damaged by `damage()` for the block, as it was after (later tests use it)."""
    kept = path.read_bytes()
    damage()
    try:
        yield
    finally:
        path.write_bytes(kept)


def running(program: str) -> list[Path]:
    """The processes on this machine whose command line names `program`."""
    found = []
    for process in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if program.encode() in process.read_bytes():
                found.append(process)
        except OSError:  # gone while we looked
            pass
    return found


def test_a_region_without_an_agreement_is_refused_and_both_sides_audit_it(fed):
    home, _, _ = fed
    # The coordinator goes by the published v2 and schedules it; Shanghai, on v1, refuses.
    r = ask(fed, "CN-AH", "/v1/federation/jobs",
            {"job": "psi", "with": "CN-SH", "kinds": ["resident_id"]})
    assert r.status_code == 403 and "no agreement in force for psi between CN-AH, CN-SH" in r.text
    [refused] = [e for e in audit_log(home, "CN-SH") if e["action"] == "federation.refused"]
    assert refused["actor"] == "CN-AH" and "no agreement" in refused["detail"]["why"]
    assert any(e["action"] == "federation.received" and e["actor"] == "CN-AH"
               and e["detail"]["status"] == 403 for e in audit_log(home, "CN-SH"))
    assert any(e["action"] == "federation.sent" and e["object_id"] == "CN-SH"
               and e["detail"]["status"] == 403 and "no agreement" in e["detail"]["why"]
               for e in audit_log(home, "CN-AH"))
    # A sum over the agreement's budget: the coordinator refuses; it and Anhui audit it.
    r = ask(fed, "CN-AH", "/v1/federation/jobs", {"job": "secure_sum", "regions": THREE,
                                                  "indicator": "risk_band", "scale": 0.5})
    assert r.status_code == 403 and "over agreement delta-risk-sums v1's 0.5" in r.text
    assert any(e["action"] == "federation.refused" and e["actor"] == "CN-AH"
               for e in audit_log(home, COORDINATOR))
    assert any(e["action"] == "federation.sent" and e["object_id"] == COORDINATOR
               and e["detail"]["status"] == 403 for e in audit_log(home, "CN-AH"))
    # A party without the indicator says so before any party starts: no one waits.
    r = ask(fed, "CN-AH", "/v1/federation/jobs", {"job": "secure_sum", "regions": THREE,
                                                  "indicator": "alerts_by_typology", "scale": 10})
    assert r.status_code in (400, 403) and "has no indicator 'alerts_by_typology'" in r.text
    # And the coordinator sees who has not adopted the published agreements.
    members = {m["region"]: m for m in ask(fed, "CN-AH", "/v1/federation").json()["members"]}
    assert {r: m["agreements_behind"] for r, m in members.items()} == {
        "CN-SH": {"delta-psi": 2}, "CN-JS": {"delta-psi": 2}, "CN-ZJ": {"delta-psi": 2},
        "CN-AH": {}}


@pytest.fixture(scope="module")
def shared(fed) -> dict:
    """Shanghai's highest-scored alert, shared with Jiangsu."""
    alert = fed[1]["alerts"]["CN-SH"].sort("score", descending=True).row(0, named=True)
    r = ask(fed, "CN-SH", f"/v1/federation/alerts/{alert['alert_id']}/share", {"to": ["CN-JS"]})
    assert r.status_code == 200, r.text
    return alert


def test_a_shared_alert_reaches_the_region_redacted(fed, shared):
    alert = shared
    got = ask(fed, "CN-JS", "/v1/federation").json()["alerts_in"]
    [shared] = [a["body"] for a in got if a["job_id"] == alert["alert_id"]]
    assert shared["typology"] == alert["typology"] and len(shared["evidence"]) > 0
    assert all(a.startswith("PK-") for a in shared["accounts"])


def messages(log: bytes) -> list[tuple[str, bytes]]:
    """What each message in a sent.log was, and its body, as `wire.sent` frames them."""
    out, at = [], 0
    while at < len(log):
        end = log.index(b"\n", at)
        header = log[at:end].split()
        out.append((header[3].decode(), log[end + 1:end + 1 + int(header[-2])]))
        at = end + 2 + int(header[-2])
    return out


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def test_no_byte_a_node_sent_holds_a_raw_identifier_or_report(fed, psi_runs, shared,
                                                               propagated, linked, summed):
    """Every message each node sent is read: its text (every JSON string, and every word
    in it) and its binary parts (PSI's blinded points, decoded; risk propagation's and
    the secure sum's messages, whole) are searched for every identifier of every
    register, as written and normalised, for the names, birth dates and addresses of the people linked, and
    for the payment reports' ids and accounts."""
    home = fed[0]
    texts, blobs, kinds = [], [], set()
    for r in home.regions:
        # Readable by the member only: the sums' messages hold one-run keys and shares.
        assert (home.member(r).folder / "sent.log").stat().st_mode & 0o077 == 0
        for what, body in messages((home.member(r).folder / "sent.log").read_bytes()):
            if what in ("propagation", "mpyc"):  # binary: strings in it are as written
                blobs.append(body)
                kinds.add(what)
                continue
            for text in strings(json.loads(body) if body else []):
                if len(text) > 200 and re.fullmatch(r"[A-Za-z0-9+/=]+", text):
                    blobs.append(base64.b64decode(text))
                else:
                    texts.append(text)
    assert any(t.startswith("PK-") for t in texts)  # the shared alert is among them
    assert len(blobs) >= 6 + 3  # and the PSI's, the propagation's and the sum's messages
    assert kinds == {"propagation", "mpyc"}
    secrets = set()
    for r in home.regions:
        register = pl.read_parquet(home.member(r).folder / "register.parquet")
        for kind, value in zip(register["kind"], register["value"]):
            secrets |= {value, normalise(kind, value)}
    for r in home.regions:  # and the people linked by name, birth date and address
        people = pl.read_parquet(home.member(r).folder / "people.parquet")
        secrets |= set(people["name"]) | set(people["name"].str.replace_all(" ", "")) \
            | set(people["birth_date"]) | set(people["address"])
    payments = pl.read_parquet([home.path / "simulation" / "regions" / r /
                                "payment-supervised.parquet" for r in THREE])
    for column in ("debtor_account_id", "creditor_account_id", "payment_id", "report_id"):
        secrets |= set(payments[column].drop_nulls().cast(pl.String))
    words = set(texts) | {w for t in texts for w in re.findall(r"[A-Za-z0-9_]+", t)}
    assert sorted(secrets & words) == []
    # Long enough not to turn up in random bytes by chance: searched inside everything,
    # at once (Aho-Corasick), over the bytes as latin-1 text.
    long = sorted(s for s in secrets if len(s) >= 8)
    everything = "\n".join(texts) + "\n".join(b.decode("latin-1") for b in blobs)
    assert pl.Series([everything]).str.extract_many(long, overlapping=True)[0].to_list() == []


def test_a_joint_case_has_one_timeline_and_four_eyes_across_regions(fed, shared):
    """Shanghai opens a case with Jiangsu; both work it, each under its own users, on
    one timeline kept by Shanghai; a second Shanghai supervisor may not close what
    Shanghai investigated; Jiangsu's supervisor may."""
    home = fed[0]
    r = ask(fed, "CN-SH", "/v1/federation/cases", {
        "title": "a ring through both regions", "alert_ids": [shared["alert_id"]],
        "partners": ["CN-JS"]})
    assert r.status_code == 200, r.text
    case_id = r.json()["case_id"]
    assert [c["case_id"] for c in ask(fed, "CN-JS", "/v1/federation/cases").json()] == [case_id]
    r = ask(fed, "CN-JS", f"/v1/federation/cases/{case_id}/comment",
            {"text": "the Jiangsu end pays on within the hour"})
    assert r.status_code == 200, r.text
    assert ask(fed, "CN-SH", f"/v1/federation/cases/{case_id}/transition",
               {"to": "investigating"}).status_code == 200
    with ops(home, "CN-SH").begin() as con:  # a second supervisor in Shanghai
        token = access.add_user(con, "test", "second-cn-sh", "supervisor", "CN-SH")
    second = httpx.post(f"{home.member('CN-SH').dashboard}/v1/federation/cases/{case_id}/"
                        "transition", json={"to": "closed-referred"},
                        headers={"authorization": f"Bearer {token}"}, timeout=60)
    assert second.status_code == 403 and "four eyes across regions" in second.text
    r = ask(fed, "CN-JS", f"/v1/federation/cases/{case_id}/transition",
            {"to": "closed-referred", "note": "referred to both bureaus"})
    assert r.status_code == 200, r.text
    case = r.json()
    assert case["state"] == "closed-referred"
    assert [(e["actor"], e["kind"]) for e in case["timeline"]] == [
        ("supervisor-cn-sh", "state"), ("supervisor-cn-js@CN-JS", "comment"),
        ("supervisor-cn-sh", "state"), ("supervisor-cn-js@CN-JS", "state")]
    assert any(e["actor"] == "supervisor-cn-js@CN-JS" and e["action"] == "case.transition"
               for e in audit_log(home, "CN-SH"))
    assert sum(e["action"] == "federation.sent" and e["object_id"] == "CN-SH"
               and e["detail"]["path"] == f"/cases/{case_id}" for e in audit_log(home, "CN-JS")) == 2


@needs_chromium
def test_the_dashboard_shows_the_federation_in_chromium(fed, psi_runs, shared, propagated,
                                                        tmp_path):
    """Shanghai's supervisor shares an alert from its page; Jiangsu's sees the nodes,
    who has not adopted the published agreement, the released outputs, the alert
    shared with it, and the regions drawn, and opens a joint case that Shanghai works
    too (in Chinese)."""
    from playwright.sync_api import sync_playwright

    home, loaded, tokens = fed
    second = loaded["alerts"]["CN-SH"].sort("score", descending=True).row(1, named=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            def login(region: str):
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                base = home.member(region).dashboard
                page.goto(f"{base}/ui/login")
                page.fill("#token", tokens[region])
                page.keyboard.press("Enter")
                page.wait_for_url(f"{base}/ui")
                if page.get_attribute("html", "lang") != "en":
                    page.click("button[name=language][value=en]")
                return page, base

            sh, sh_base = login("CN-SH")
            sh.goto(f"{sh_base}/ui/alerts/{second['alert_id']}")
            sh.check("#share input[value=CN-JS]")
            sh.click("#share button[type=submit]")
            assert "Shared with CN-JS" in sh.text_content("[role=status]")

            page, base = login("CN-JS")
            page.click("nav >> text=Federation")
            page.wait_for_selector("[data-drawn=true]")
            rows = {r.get_attribute("data-region"): r for r in page.query_selector_all("#members tbody tr")}
            assert sorted(rows) == sorted(home.regions)
            assert rows["CN-SH"].query_selector(".behind").text_content().strip() == "delta-psi v2"
            assert rows["CN-AH"].query_selector(".behind").text_content().strip() == "none"
            jobs = [r.get_attribute("data-job") for r in page.query_selector_all("#released tbody tr")]
            assert jobs.count("psi") >= 3 and "alerts" in jobs and "risk_propagation" in jobs
            leads = page.query_selector_all("#propagated tbody tr td:first-child")
            assert len(leads) == min(20, propagated["released"]["leads"]["CN-JS"])
            shared_in = page.text_content("#alerts-in")
            assert "PK-" in shared_in and "Shanghai" in shared_in
            page.screenshot(path=str(tmp_path / "federation-en.png"), full_page=True)
            # Jiangsu opens a joint case with Shanghai from the page, and comments on it.
            page.fill("#joint-title", "funds through Suzhou and Pudong")
            page.check("#open-joint input[value=CN-SH]")
            page.click("#open-joint button[type=submit]")
            page.wait_for_selector("#timeline")
            case_id = page.url.split("?")[0].rsplit("/", 1)[1]
            page.fill("#comment", "asking Shanghai for the Pudong accounts")
            page.click("form:has(#comment) button[type=submit]")
            assert "supervisor-cn-js: asking Shanghai" in page.text_content("#timeline")
            # Shanghai, a partner, works the same case through its own node, in Chinese.
            sh.goto(f"{sh_base}/ui/federation")
            sh.click(f"#joint-cases a[href$='{case_id}']")
            sh.fill("#comment", "sent")
            sh.click("form:has(#comment) button[type=submit]")
            timeline = sh.text_content("#timeline")
            assert "supervisor-cn-js: asking Shanghai" in timeline
            assert "supervisor-cn-sh@CN-SH: sent" in timeline
            sh.click("button[name=language][value=zh]")
            sh.wait_for_selector("#timeline")
            assert sh.text_content("h1").startswith("联合案件")
            sh.goto(f"{sh_base}/ui/federation")
            sh.wait_for_selector("[data-drawn=true]")
            assert sh.text_content("h1").startswith("联邦") and "江苏" in sh.text_content("#joint-cases")
        finally:
            browser.close()


def test_init_refuses_a_home_twice_and_malformed_agreements_naming_the_field(tmp_path):
    from typer.testing import CliRunner

    from suptech.cli import app

    runner = CliRunner()
    bad = tmp_path / "agreements.json"
    bad.write_text(json.dumps([{"id": "x", "version": 1, "job": "psi", "regions": ["CN-SH"],
                                "fields": ["uscc"], "released_to": ["CN-SH"],
                                "valid_from": "2026-01-01"}]))
    r = runner.invoke(app, ["federation", "init", str(tmp_path / "a"), "--agreements", str(bad)])
    assert r.exit_code == 2 and "agreement x: regions" in r.output
    assert not (tmp_path / "a" / "ca").exists()  # nothing made
    r = runner.invoke(app, ["federation", "init", str(tmp_path / "b")])
    assert r.exit_code == 0 and "CN-AH" in r.output
    assert (tmp_path / "b" / "CN-SH" / "tls.key").stat().st_mode & 0o077 == 0
    r = runner.invoke(app, ["federation", "init", str(tmp_path / "b")])
    assert r.exit_code == 2 and "already holds a federation" in r.output


def test_a_share_or_joint_case_with_no_other_region_is_refused_saying_why(fed):
    r = ask(fed, "CN-SH", "/v1/federation/alerts/AL-x/share", {"to": ["CN-SH", "CN-XX"]})
    assert r.status_code == 400 and "not CN-XX" in r.text
    r = ask(fed, "CN-SH", "/v1/federation/cases", {"title": "alone", "partners": ["CN-SH"]})
    assert r.status_code == 400 and "at least one other region" in r.text


def test_a_node_adopts_the_published_agreements_and_its_log_says_so(tmp_path):
    from typer.testing import CliRunner

    from suptech.cli import app

    home = init(tmp_path / "fed")
    published = agreements(THREE + ["CN-AH"], 2)
    (home.path / "agreements.json").write_text(json.dumps(published))
    r = CliRunner().invoke(app, ["federation", "adopt", str(home.path), "CN-SH"])
    assert r.exit_code == 0 and "(new: delta-psi)" in r.output
    adopted = json.loads((home.member("CN-SH").folder / "agreements.json").read_text())
    assert adopted == published
    [entry] = [e for e in audit_log(home, "CN-SH") if e["action"] == "federation.adopted"]
    assert entry["detail"]["before"]["delta-psi"] == 1 and entry["detail"]["after"]["delta-psi"] == 2
    r = CliRunner().invoke(app, ["federation", "adopt", str(home.path), "coordinator"])
    assert r.exit_code == 2 and "a region adopts them" in r.output
