"""The risk page, as an analyst uses it in Chromium: a simulated market's day as a heat
map of shares by indicator, a cell that leads to its alerts, the day's risk alerts."""

from __future__ import annotations

import polars as pl
import pytest
from dashboard_site import browser, needs_chromium  # noqa: F401  (fixture)
from test_api_schema import free_port, start_server
from test_risk import one_file_a_type

from suptech.detect.scan import scan
from suptech.i18n import words
from suptech.ingest.pipeline import ingest_files
from suptech.ops import access
from suptech.ops.db import connect
from suptech.risk.levels import indicators
from suptech.simulate.risk_run import simulate_risk
from suptech.store.database import open_store

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def risk_site(tmp_path_factory):
    """A served data directory holding a simulated month with every risk episode once,
    scanned by the risk indicators, and an analyst's token."""
    root = tmp_path_factory.mktemp("risk-site")
    sim = simulate_risk(root / "sim", seed=2303, instruments=22, days=34, month=12,
                        trades=20, each=1)
    files = one_file_a_type(sim.files, root)
    store = open_store(root / "data")
    try:
        assert all(r.summary.rejected == 0 for r in ingest_files(store, files))
        found = scan(store, indicators(), sim.labels[0].window_start_ns - 40 * 86400 * 10**9,
                     max(x.window_end_ns for x in sim.labels) + 86400 * 10**9)
    finally:
        store.close()
    ops = connect(root / "data")
    with ops.begin() as con:
        token = access.add_user(con, "test", "ana", "analyst", "CN-SH")
    ops.dispose()
    port = free_port()
    server = start_server(root / "data", None, port)
    try:
        yield f"http://127.0.0.1:{port}", token, sim.labels, found.new
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_day_is_a_heat_map_whose_cells_lead_to_their_alerts(risk_site, browser, tmp_path):
    base, token, labels, alerts = risk_site
    limit = next(x for x in labels if x.typology == "CONSECUTIVE_LIMIT_HITS")
    alert = alerts.filter(pl.col("typology") == "CONSECUTIVE_LIMIT_HITS").row(0, named=True)
    day = pl.from_epoch(pl.Series([alert["window_start"]]), "ns").dt.replace_time_zone(
        "UTC").dt.convert_time_zone("Asia/Shanghai").dt.date()[0].isoformat()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/ui/login")
    page.fill("#token", token)
    page.press("#token", "Enter")
    page.wait_for_url(f"{base}/ui")
    page.goto(f"{base}/ui/risk?date={day}")
    page.wait_for_selector("#risk-chart[data-drawn=true]")
    page.screenshot(path=str(tmp_path / "risk.png"), full_page=True)
    # The share's limit run is on the map, at its line or past it, and in the day's list.
    assert limit.isin in page.locator("#risk-fig").text_content()
    rows = page.locator("#risk-alerts tbody tr[data-typology=CONSECUTIVE_LIMIT_HITS]")
    assert rows.count() == 1 and limit.isin in rows.text_content()
    # A cell leads to the queue of its typology and share: the alert behind it.
    page.goto(f"{base}/ui/alerts?typology=CONSECUTIVE_LIMIT_HITS&isin={limit.isin}")
    assert page.locator(f"text={alert['alert_id']}").count() == 1
    page.goto(f"{base}/ui/alerts/{alert['alert_id']}")
    language = "zh" if page.get_attribute("html", "lang").startswith("zh") else "en"
    assert page.text_content("h1 [data-typology]") == \
        words(language).typology("CONSECUTIVE_LIMIT_HITS")
    page.close()
