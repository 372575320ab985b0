"""The risk page, as an analyst uses it in Chromium: a simulated market's day as a heat
map of shares by indicator, a cell that leads to its alerts, the day's risk alerts, the
institutions' exposure contagion, and the day's report as a PDF seen as PNG pages."""

from __future__ import annotations

import polars as pl
import pytest
from dashboard_site import browser, needs_chromium  # noqa: F401  (fixture)
from test_api_schema import free_port, start_server

from suptech.detect.scan import scan
from suptech.i18n import words
from suptech.ingest.pipeline import ingest_files
from suptech.ops import access
from suptech.ops.db import connect
from suptech.risk.levels import indicators
from suptech.simulate.risk_run import one_file_a_type, simulate_risk
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


def local_day(ns: int) -> str:
    return pl.from_epoch(pl.Series([ns]), "ns").dt.replace_time_zone(
        "UTC").dt.convert_time_zone("Asia/Shanghai").dt.date()[0].isoformat()


def logged_in(browser, base: str, token: str):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/ui/login")
    page.fill("#token", token)
    page.press("#token", "Enter")
    page.wait_for_url(f"{base}/ui")
    return page


def test_the_day_is_a_heat_map_whose_cells_lead_to_their_alerts(risk_site, browser, tmp_path):
    base, token, labels, alerts = risk_site
    limit = next(x for x in labels if x.typology == "CONSECUTIVE_LIMIT_HITS")
    alert = alerts.filter(pl.col("typology") == "CONSECUTIVE_LIMIT_HITS").row(0, named=True)
    day = local_day(alert["window_start"])
    page = logged_in(browser, base, token)
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


def test_an_institutions_contagion_is_charted_and_the_day_reported_as_a_pdf(
        risk_site, browser, tmp_path):
    """On the day an institution became systemic: its bar past the line on the page, its
    alert in the day's list, and the day's report, downloaded from the page, whose pages
    (as PNG images) hold the charts and name it among the measures past their line."""
    import pypdfium2 as pdfium
    from PIL import Image

    from suptech.pdf import page_images

    base, token, labels, alerts = risk_site
    label = next(x for x in labels if x.typology == "EXPOSURE_CONTAGION")
    day = local_day(label.window_start_ns)
    page = logged_in(browser, base, token)
    page.goto(f"{base}/ui/risk?date={day}")
    page.wait_for_selector("#banks-chart[data-drawn=true]")
    assert label.subject in page.locator("#banks-fig").text_content()
    assert page.locator("#risk-alerts tbody tr[data-typology=EXPOSURE_CONTAGION]").count() == 1
    language = "zh" if page.get_attribute("html", "lang").startswith("zh") else "en"
    with page.expect_download() as got:
        page.click("#risk-report")
    pdf = tmp_path / "report.pdf"
    got.value.save_as(pdf)
    page.close()
    doc = pdfium.PdfDocument(str(pdf))
    text = "".join(doc[k].get_textpage().get_text_range() for k in range(len(doc)))
    doc.close()
    w = words(language)
    assert w("Daily risk report, {day}", day=day) in text
    assert w.typology("EXPOSURE_CONTAGION") in text and label.subject in text
    pngs = page_images(pdf, tmp_path / "pages")
    assert len(pngs) >= 2
    for png in pngs:  # each page drawn: A4 at 110 dpi, and not blank
        img = Image.open(png).convert("L")
        assert img.size[0] == 910 and abs(img.size[1] - 1287) <= 1
        inked = sum(img.histogram()[:200])
        assert inked > 0.02 * img.size[0] * img.size[1], png


def test_the_register_and_the_pilots_show_their_breaches_and_the_public_its_list(
        risk_site, browser, tmp_path):
    """On the day a labelled cover shortfall begins, its application is short on the
    register page and its breach listed; on a pilot's breach day the pilot is marked;
    the public list, open to anyone, shows the live pilots and exports them as CSV."""
    base, token, labels, alerts = risk_site
    short = next(x for x in labels if x.typology == "TECH_COVER_SHORTFALL")
    page = logged_in(browser, base, token)
    page.goto(f"{base}/ui/risk/register?date={local_day(short.window_start_ns)}")
    page.wait_for_selector("#incident-chart[data-drawn=true]")
    row = page.locator(f"#register-applications tr[data-application='{short.subject}'] td.bad")
    assert row.count() == 1  # its coverage, under 1
    assert page.locator(
        "#register-breaches tr[data-typology=TECH_COVER_SHORTFALL]").count() >= 1
    breach = next(x for x in labels if x.typology == "PILOT_LIMIT_BREACH")
    page.goto(f"{base}/ui/risk/pilots?date={local_day(breach.window_start_ns)}")
    assert page.get_attribute(f"#pilots tr[data-pilot='{breach.subject}']",
                              "data-breach") == "true"
    page.close()
    anyone = browser.new_page()
    last = max(x.window_start_ns for x in labels)
    anyone.goto(f"{base}/public/pilots?date={local_day(last)}")
    listed = anyone.locator("#public-pilots tbody tr[data-pilot]").count()
    assert listed > 0
    with anyone.expect_download() as got:
        anyone.click("#pilots-csv")
    exported = pl.read_csv(got.value.path())
    anyone.close()
    assert exported.height == listed and set(exported["status"]) <= {"LIVE", "EXTENDED"}
    assert "max_customers" in exported.columns and "customers" not in exported.columns
