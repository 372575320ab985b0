"""Each typology's alert page shows what proves it, in Chinese and in English: opened in
Chromium at 1280x800 by an analyst of a region the alert touches, one alert of every
typology of the demo. The pictures are what docs/evidence/ holds (set
SUPTECH_EVIDENCE_SHOTS to a folder to write them there). And the demo alerts each of its
cases once."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import networkx as nx
import pytest
from dashboard_site import api, as_user, browser, demo, needs_chromium, site  # noqa: F401

from suptech.detect.payments.data import HIGH_RISK
from suptech.detect.run import REGISTRY
from suptech.i18n import words

pytestmark = needs_chromium
ANALYSTS = ("analyst.sh", "analyst.js", "analyst.zj", "analyst.ah")


class Page:
    """What an alert page shows: its figure's traces by name, its notes, its tables."""

    def __init__(self, page, w):
        self.w = w
        page.wait_for_selector("#evidence-chart[data-drawn=true]")
        figure = json.loads(page.text_content("#evidence-fig"))
        self.traces = {t.get("name"): t for t in figure["data"]}
        self.notes = [a.get("text") or "" for a in figure["layout"].get("annotations", [])]
        self.tables = page.eval_on_selector_all("[data-table]", """cards => Object.fromEntries(
            cards.map(c => [c.dataset.table, Array.from(c.querySelectorAll('tbody tr')).map(
                r => Object.fromEntries(Array.from(r.children).map((td, i) => [
                    c.querySelectorAll('thead th')[i].textContent, td.textContent])))]))""")
        self.accounts = page.text_content("#alert-accounts").split(";")
        self.window = [t.strip() for t in page.text_content("#alert-window").split("–")]
        self.isin = page.text_content("#alert-instrument").strip()

    def trace(self, english: str, **values) -> dict:
        name = self.w(english, **values)
        assert name in self.traces, (name, list(self.traces))
        return self.traces[name]

    def suspect(self, what: str) -> dict:
        return self.trace("suspect's {what}", what=self.w(what))

    def flow(self) -> nx.MultiDiGraph:
        g = nx.MultiDiGraph()
        for p in self.tables["payments"]:
            g.add_edge(p["debtor_account_id"], p["creditor_account_id"],
                       amount=float(p["amount"].replace(",", "")), channel=p["channel"],
                       countries={p["debtor_country"], p["creditor_country"]})
        return g


def minutes(a: str, b: str) -> float:
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds() / 60


def rising(p: Page, trace: dict) -> bool:
    """Whether the trace's prices rose over the alert's window (local times as text)."""
    start, end = p.window
    prices = [y for x, y in sorted(zip(trace["x"], trace["y"])) if start <= x[:19] <= end]
    return len(prices) >= 2 and prices[-1] > prices[0]


# ---- what proves each market typology ----

def spoofing(p: Page) -> None:
    """Large orders on one side, cancelled, beside a trade on the other; each marker as
    large as its order against the typical one."""
    placed = [p.suspect(o) for o in ("buy orders", "sell orders") if p.w("suspect's {what}",
              what=p.w(o)) in p.traces]
    assert placed and any(p.w("suspect's {what}", what=p.w(c)) in p.traces
                          for c in ("buy cancels", "sell cancels"))
    sizes = [s for t in placed for s in t["marker"]["size"]]
    assert max(sizes) > 10  # an order larger than the typical one is drawn larger
    assert p.trace("suspect trades")["x"]


def layering(p: Page) -> None:
    """Orders resting at several levels at once, then cancelled."""
    levels = {y for y in p.trace("suspect orders resting in the book")["y"] if y is not None}
    assert len(levels) >= 2
    assert any(p.w("suspect's {what}", what=p.w(c)) in p.traces
               for c in ("buy cancels", "sell cancels"))


def wash_trade(p: Page) -> None:
    """Trades whose buyer and seller are both the alert's accounts."""
    own = [t for t in p.tables["trades"] if t["buy_account_id"] in p.accounts
           and t["sell_account_id"] in p.accounts]
    assert own and p.trace("suspect trades")["x"]


def marking_the_close(p: Page) -> None:
    """The suspect's trades in the last minutes before the close (the book's end)."""
    close = max(p.trace("best bid")["x"])
    assert minutes(max(p.trace("suspect trades")["x"]), close) < 10


def ramping(p: Page) -> None:
    """The suspect buying as the price rises over the window, the crowd's volume beneath."""
    assert rising(p, p.trace("suspect trades")) and p.suspect("buy orders")["x"]
    assert p.trace("volume a minute (all)")["y"]


def pump_and_dump(p: Page) -> None:
    """Buying up, then selling: both sides of the suspect's, and the crowd drawn in."""
    assert p.suspect("buy orders")["x"] and p.suspect("sell orders")["x"]
    assert max(p.trace("volume a minute (all)")["y"]) > 0


def insider_dealing(p: Page) -> None:
    """The announcement on the price chart, and the account's owner on the insider list."""
    said = p.w("announcement: {category}", category="")
    assert any(n.startswith(said) for n in p.notes)
    assert p.tables["insiders"] and p.tables["announcements"]


def front_running(p: Page) -> None:
    """The client's order beside the suspect's, hollow."""
    client = [t for name, t in p.traces.items()
              if name.startswith(p.w("named in the alert: {what}", what=""))]
    assert client and client[0]["marker"]["symbol"].endswith("-open")
    assert any(name.startswith(p.w("suspect's {what}", what="")) for name in p.traces)


def cross_market(p: Page) -> None:
    """Both markets, one above the other: the book of one, the trades of the other."""
    others = {t["isin"] for t in p.tables["trades"]} - {p.isin}
    assert others and any(p.w("trades in {isin}", isin=i) in p.traces for i in others)
    assert p.trace("suspect trades")["x"]


# ---- what proves each payment typology: the shape of its payments ----

def drawn(p: Page) -> None:
    """Every payment listed once and drawn as an arrow labelled with its amount, each
    account with its part and region."""
    ids = [x["payment_id"] for x in p.tables["payments"]]
    assert ids and len(ids) == len(set(ids))
    parts = [p.w(x) for x in ("source", "mule", "sink")]
    nodes = [n for name in parts if name in p.traces for n in p.traces[name]["text"]]
    # (A foreign counterparty's account has no region of ours.)
    assert any(" · CN-" in n for n in nodes)
    assert len(p.trace("payments")["text"]) == len(p.tables["payments"])


def hub(p: Page, inward: int, outward: int) -> None:
    g = p.flow()
    assert any(len(set(g.predecessors(n))) >= inward and len(set(g.successors(n))) >= outward
               for n in g)


def fan_in(p: Page) -> None:
    """One account paid by three or more."""
    hub(p, 3, 0)


def fan_out(p: Page) -> None:
    """One account paying three or more."""
    hub(p, 0, 3)


def through(p: Page) -> None:
    """An account paid that pays on."""
    hub(p, 1, 1)


def dormant(p: Page) -> None:
    """An account of the alert that its bank last saw used (or saw opened) years before
    the alert, paid and paying on."""
    hub(p, 1, 1)
    woke = datetime.fromisoformat(p.window[0][:10])
    idle = [(woke - datetime.fromisoformat((a["last_active_date"] or a["opened_date"])[:10])).days
            for a in p.tables["accounts"] if a["account_id"] in p.accounts]
    assert idle and max(idle) > 365


def gather_scatter(p: Page) -> None:
    """An account paid by two or more that pays two or more (also a stack's middle)."""
    hub(p, 2, 2)


def scatter_gather(p: Page) -> None:
    """One account paying two or more, and one paid by two or more."""
    hub(p, 0, 2)
    hub(p, 2, 0)


def bipartite(p: Page) -> None:
    """Payers each paying two or more of the same payees."""
    hub(p, 0, 2)


def cycle(p: Page) -> None:
    """The payments make a ring."""
    next(nx.simple_cycles(nx.DiGraph(p.flow())))


def walk(p: Page) -> None:
    """Money passed on and on: a payment between two accounts that each pay and are paid."""
    g = p.flow()
    through = {n for n in g if g.in_degree(n) and g.out_degree(n)}
    assert any(a in through and b in through for a, b in g.edges())


def structuring(p: Page) -> None:
    """Cash deposits each under the CNY 50,000 threshold, together over it."""
    cash = [d["amount"] for *_, d in p.flow().edges(data=True) if d["channel"] == "CASH"]
    assert len(cash) >= 2 and max(cash) < 50_000 < sum(cash)


def corridor(p: Page) -> None:
    """Money to or from a FATF high-risk jurisdiction."""
    assert any(d["countries"] & set(HIGH_RISK) for *_, d in p.flow().edges(data=True))


PROOFS = {
    "SPOOFING": spoofing, "LAYERING": layering, "WASH_TRADE": wash_trade,
    "MARKING_THE_CLOSE": marking_the_close, "RAMPING": ramping,
    "PUMP_AND_DUMP": pump_and_dump, "INSIDER_DEALING": insider_dealing,
    "FRONT_RUNNING": front_running, "CROSS_MARKET_MANIPULATION": cross_market,
    "FAN_IN": fan_in, "FAN_OUT": fan_out, "GATHER_SCATTER": gather_scatter,
    "RAPID_MOVEMENT": through, "DORMANT_ACTIVATION": dormant,
    "SCATTER_GATHER": scatter_gather, "STACK": gather_scatter, "BIPARTITE": bipartite,
    "CYCLE": cycle, "RANDOM": walk, "STRUCTURING": structuring, "HIGH_RISK_CORRIDOR": corridor,
}


def one_alert_of_each_typology(site) -> dict[str, tuple[str, str]]:
    """typology -> (analyst, alert id): the highest-scored alert each region sees."""
    found = {}
    for user in ANALYSTS:
        for a in sorted(api(site, user, "/v1/alerts"), key=lambda a: -a["score"]):
            found.setdefault(a["typology"], (user, a["alert_id"]))
    return found


LANGUAGES = ["zh", "en"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_typologys_alert_shows_what_proves_it(site, as_user, language):
    """Every typology's page is read in one language, the typologies taken in turn by
    each (a page takes seconds in Chromium; the words of both are checked whole by
    test_i18n); for docs/evidence/ every page in both."""
    every = one_alert_of_each_typology(site)
    # The demo has every typology; the abuse typologies' pages prove them (the risk
    # indicators' alerts prove themselves with their measures, on the risk pages).
    abuse = set(REGISTRY.typologies("market")) | set(REGISTRY.typologies("payments"))
    assert set(every) == set(REGISTRY.typologies()) and abuse == set(PROOFS)
    alerts = {t: found for t, found in every.items() if t in abuse}
    # The pictures are taken only for docs/evidence/ (SUPTECH_EVIDENCE_SHOTS): the checks
    # read the page itself.
    shots = os.environ.get("SUPTECH_EVIDENCE_SHOTS")
    if shots:
        shots = Path(shots) / language
        shots.mkdir(parents=True, exist_ok=True)
    mine = sorted(alerts.items())
    if not shots:
        mine = mine[LANGUAGES.index(language)::len(LANGUAGES)]
    w, pages, failed = words(language), {}, {}
    for typology, (user, alert_id) in mine:
        page = pages.get(user) or pages.setdefault(user, as_user(user, language))
        page.goto(f"{site[0]}/ui/alerts/{alert_id}")
        shown = Page(page, w)
        # Said in the page's language, the typology by its CSRC or PBoC name.
        assert page.text_content("h1 [data-typology]") == w.typology(typology)
        try:
            PROOFS[typology](shown)
            if "payments" in shown.tables:  # every money flow, whatever its shape
                drawn(shown)
        except (AssertionError, KeyError, StopIteration) as e:
            failed[typology] = repr(e)
        if shots:
            page.screenshot(path=str(shots / f"{typology.lower()}.jpeg"), type="jpeg", quality=70)
    assert failed == {}


def test_the_demo_alerts_each_of_its_cases_once(demo):
    """No labelled case of the demo is raised by two alerts (a rule's and the model's, or
    one a smurf of a ring). (That no evidence lists a payment twice, the pages say.)"""
    import polars as pl

    from suptech.detect.evaluate import matches, read_timestamps

    root, built = demo
    alerts = built["alerts"]
    labels = pl.concat([read_timestamps(pl.read_csv(f, columns=[
        "scenario_id", "typology", "account_ids", "isin", "window_start", "window_end",
        "subject"]))
        for f in sorted(root.glob("sim-*/labels.csv"))])
    # A limit run is three days on the daily disclosure list: three cases, one label.
    labels = labels.filter(pl.col("typology") != "DISCLOSURE_TRIGGER")
    found = matches(labels, alerts)
    per_case = found.group_by("scenario_id").agg(pl.col("alert_id").n_unique().alias("n"))
    assert per_case.height >= labels.height - 2  # the demo finds its cases
    assert per_case.filter(pl.col("n") > 1).to_dicts() == []
