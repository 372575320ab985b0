"""The dashboard as an analyst uses it: Debian's Chromium driven by Playwright against a
real server over the demo's data. Each test leaves a screenshot in its output folder."""

from __future__ import annotations

import json
import re

from dashboard_site import api, as_user, browser, demo, needs_chromium, queue, site  # noqa: F401

pytestmark = needs_chromium


def test_log_in_and_see_the_overview_and_the_alert_queue(site, as_user):
    page = as_user("analyst.sh")
    page.wait_for_selector("#alerts-chart[data-drawn=true]")
    page.wait_for_selector("#rejections-chart[data-drawn=true]")
    assert page.locator("#alerts-chart .bars path").count() > 0
    assert "payment-careless-bank" not in page.content()  # institutions, not files
    # by their names from the party register, the LEI on hover
    assert page.locator("td[title^='5493']", has_text="Bank ").count() >= 1
    assert page.locator("td[title^='5493']", has_text="Securities Co., Ltd.").count() >= 1
    rows, total = queue(page, site[0]), len(api(site, "analyst.sh", "/v1/alerts"))
    assert f"{total} alerts" in page.text_content("#queue-count")
    assert len(rows) == min(total, 50) and all(r["detector"] for r in rows)
    assert {r["status"] for r in rows} <= {"new", "assigned", "dismissed", "escalated"}
    if total > 50:  # the demo's CN-SH queue is longer than a page
        page.click("a[rel=next]")
        assert len(queue(page, site[0], None)) == total - 50


def test_select_all_and_a_bulk_action_keep_the_queues_filter(site, as_user):
    from collections import Counter

    page = as_user("analyst.sh")
    new = Counter(a["typology"] for a in api(site, "analyst.sh", "/v1/alerts")
                  if a["status"] == "new" and a["typology"] != "FAN_OUT")
    typology, n = new.most_common(1)[0]
    rows = queue(page, site[0], f"?typology={typology}&status=new&sort=time")
    assert len(rows) == n >= 2 and {r["typology"] for r in rows} == {typology}
    page.check("#select-all")
    page.click("button[value=assign]")
    assert f"{n} alert(s) assigned to you" in page.text_content(".msg")
    assert all(f in page.url for f in (f"typology={typology}", "status=new", "sort=time"))
    assert queue(page, site[0], None) == []  # none of them is new any more
    mine = {a["alert_id"]: a["status"] for a in api(site, "analyst.sh", "/v1/alerts")}
    assert {mine[r["id"]] for r in rows} == {"assigned"}


def test_a_market_alert_shows_its_order_book_replay(site, as_user):
    page = as_user("analyst.sh")
    from suptech.detect.base import REGISTRY

    market = REGISTRY.typologies("market")  # the demo's alerts name products and shares too
    typology = next(a["typology"] for a in api(site, "analyst.sh", "/v1/alerts")
                    if a["typology"] in market)
    market = queue(page, site[0], f"?typology={typology}")[0]
    page.click(f"a[href='/ui/alerts/{market['id']}']")
    chart = page.wait_for_selector("#evidence-chart[data-drawn=true]")
    assert chart.get_attribute("data-kind") == "book"
    names = page.eval_on_selector_all("#evidence-chart .legendtext", "ts => ts.map(t => t.textContent)")
    assert {"best bid", "best ask"} <= set(names)
    assert page.locator("#evidence-chart .scatterlayer .trace").count() >= 3
    # The orders as the analyst reads them: Shanghai's clock, prices at the tick.
    orders = page.locator("table").filter(has=page.locator("th", has_text="order_id"))
    assert "Asia/Shanghai" in page.inner_text("body")
    text = orders.first.inner_text()
    assert re.search(r"20\d\d-\d\d-\d\d \d\d:\d\d:\d\d", text)
    assert not re.search(r"\b1\d{18}\b|\d\.\d{9}", text)


def test_an_insider_alert_shows_the_announcement_and_the_insider_link(site, as_user):
    user, found = next((u, found) for u in ("analyst.sh", "analyst.js") if (found := [
        a for a in api(site, u, "/v1/alerts") if a["typology"] == "INSIDER_DEALING"]))
    detail = api(site, user, f"/v1/alerts/{found[0]['alert_id']}")["evidence"]
    assert detail["announcements"] and detail["insiders"]
    page = as_user(user)
    page.goto(f"{site[0]}/ui/alerts/{found[0]['alert_id']}")
    page.wait_for_selector("#evidence-chart[data-drawn=true]")
    assert "announcement: " in page.text_content("#evidence-chart")
    assert page.locator("h2", has_text="insiders (").count() == 1
    assert page.locator("h2", has_text="announcements (").count() == 1


def test_a_cross_market_alert_shows_both_markets(site):
    """The derivative traded and the underlying pushed: the evidence's trades are in
    both instruments (the picture draws the underlying's book, the alert's)."""
    user, found = next((u, found) for u in ("analyst.sh", "analyst.js") if (found := [
        a for a in api(site, u, "/v1/alerts") if a["typology"] == "CROSS_MARKET_MANIPULATION"]))
    trades = api(site, user, f"/v1/alerts/{found[0]['alert_id']}")["evidence"]["trades"]
    assert found[0]["isin"] in {t["isin"] for t in trades} and len({t["isin"] for t in trades}) >= 2


def test_a_payment_alert_shows_its_money_flow_graph(site, as_user):
    page = as_user("analyst.sh")
    payment = queue(page, site[0], "?typology=FAN_OUT")[0]
    page.goto(f"{site[0]}/ui/alerts/{payment['id']}")
    chart = page.wait_for_selector("#evidence-chart[data-drawn=true]")
    assert chart.get_attribute("data-kind") == "payments"
    assert page.locator("#evidence-chart .annotation-arrow-g path, #evidence-chart .annotation").count() >= 5
    node_labels = page.eval_on_selector_all("#evidence-chart .textpoint text", "ts => ts.map(t => t.textContent)")
    assert len(node_labels) >= 6  # the fanning account and at least five receivers


def test_dismiss_an_alert_with_a_reason(site, as_user):
    page = as_user("analyst.sh")
    target = next(r for r in queue(page, site[0]) if r["status"] == "new")
    page.check(f"input[value='{target['id']}']")
    page.click("button[value=dismiss]")  # no reason: refused, nothing changes
    assert "reason" in page.text_content(".msg.error")
    page.check(f"input[value='{target['id']}']")
    page.fill("#reason", "known market maker hedging")
    page.click("button[value=dismiss]")
    assert "1 alert(s) dismissed" in page.text_content(".msg")
    after = {r["id"]: r["status"] for r in queue(page, site[0])}
    assert after[target["id"]] == "dismissed"
    detail = api(site, "analyst.sh", f"/v1/alerts/{target['id']}")
    assert detail["reason"] == "known market maker hedging"


def test_open_and_close_a_case_with_four_eyes(site, as_user):
    first = as_user("supervisor.sh")
    alert = next(r for r in queue(first, site[0]) if r["status"] == "new")
    first.goto(f"{site[0]}/ui/alerts/{alert['id']}")
    first.fill("#case-title", "ring of mule accounts")
    first.click("text=Open a case")
    assert "case opened" in first.text_content(".msg")
    case_url = first.url.split("?")[0]
    first.click("button[value=investigating]")
    assert first.text_content("#case-state") == "investigating"
    # The investigator is not offered closing it (four eyes), nor is an analyst.
    assert first.locator("button[value='closed-referred']").count() == 0
    analyst = as_user("analyst.sh")
    analyst.goto(case_url)
    assert analyst.locator("button[value^='closed']").count() == 0
    # The alert now links to its case, and offers no second case.
    analyst.goto(f"{site[0]}/ui/alerts/{alert['id']}")
    assert "investigating" in analyst.text_content("#alert-case")
    assert analyst.locator("text=Open a case").count() == 0
    second = as_user("supervisor2.sh")
    second.goto(case_url)
    second.fill("#case-comment", "evidence reviewed; refer to the PBoC")
    second.click("form:has(#case-comment) button")
    second.click("button[value='closed-referred']")
    assert second.text_content("#case-state") == "closed-referred"
    timeline = second.text_content("#timeline")
    assert "investigating → closed-referred" in timeline and "refer to the PBoC" in timeline


def test_a_cn_js_analyst_never_sees_a_cn_sh_alert(site, as_user):
    sh_only = [a["alert_id"] for a in api(site, "analyst.sh", "/v1/alerts")
               if a["regions"] == ["CN-SH"]]
    assert sh_only
    page = as_user("analyst.js")
    seen = {r["id"] for r in queue(page, site[0])}
    assert seen and not seen & set(sh_only)
    for path in ("/ui", "/ui/alerts", "/ui/cases"):
        page.goto(f"{site[0]}{path}")
        text = page.content()
        assert not [a for a in sh_only if a in text], path
    response = page.goto(f"{site[0]}/ui/alerts/{sh_only[0]}")
    assert response.status == 404 and sh_only[0] not in page.text_content("body").replace(
        f"no alert {sh_only[0]}", "")
    # The refusal in the dashboard's own frame, not the API's JSON.
    assert page.text_content("#error-detail") == f"no alert {sh_only[0]}"
    assert page.locator("nav[aria-label=main]").count() == 1
    response = page.goto(f"{site[0]}/ui/no-such-page")
    assert response.status == 404 and page.text_content("h1") == "Not found"


def test_the_demos_risk_day_is_mapped_and_reported_as_a_pdf(site, as_user, tmp_path):
    """The demo carries a month of risk data: its last day is the risk page's own, a
    heat map, and the day's report, downloaded, is a PDF of pages with the charts."""
    import pypdfium2 as pdfium

    page = as_user("analyst.zj", "zh")
    page.goto(f"{site[0]}/ui/risk")
    page.wait_for_selector("#risk-chart[data-drawn=true]")
    with page.expect_download() as got:
        page.click("#risk-report")
    pdf = tmp_path / "risk.pdf"
    got.value.save_as(pdf)
    doc = pdfium.PdfDocument(str(pdf))
    pages, text = len(doc), doc[0].get_textpage().get_text_range()
    doc.close()
    assert pages >= 2 and "每日风险报告" in text


def test_an_overdue_complaint_is_flagged_with_its_clock_and_its_alert(demo, site, as_user):
    """The demo's complaint left undecided: on its region's investor page it is overdue,
    and its own page shows the deadline passed and the alert it raised."""
    import polars as pl

    root, _ = demo
    label = pl.read_csv(root / "sim-investor" / "labels.csv").filter(
        pl.col("typology") == "COMPLAINT_OVERDUE").row(0, named=True)
    cid = label["subject"]
    party = pl.read_parquet(root / "sim-investor" / "complaint.parquet").filter(
        pl.col("complaint_id") == cid)["party_id"][0]
    region = pl.read_parquet(root / "sim-investor" / "party.parquet").filter(
        pl.col("party_id") == party)["region"][0]
    user = {"CN-SH": "analyst.sh", "CN-JS": "analyst.js", "CN-ZJ": "analyst.zj",
            "CN-AH": "analyst.ah"}[region]
    page = as_user(user)
    page.goto(f"{site[0]}/ui/investors")
    assert page.get_attribute(f"#complaints tr[data-complaint={cid}]", "data-overdue") == "true"
    assert page.locator("#institutions tbody tr[data-institution]").count() >= 1
    page.click(f"#complaints tr[data-complaint={cid}] a")
    assert "Overdue".lower() in page.text_content("#deadline").lower()
    assert page.text_content("#state") == "OPEN"
    assert page.locator("#complaint-alerts a").count() == 1


def test_an_unsuitable_sales_page_shows_the_sale_and_the_investors_assessments(site, as_user):
    users = ("analyst.sh", "analyst.js", "analyst.zj", "analyst.ah")
    user, alert = next((u, a) for u in users for a in api(site, u, "/v1/alerts")
                       if a["typology"] == "UNSUITABLE_SALE")
    page = as_user(user)
    page.goto(f"{site[0]}/ui/alerts/{alert['alert_id']}")
    sale = json.loads(alert["explanation"])["subject"]
    assert sale in page.text_content("[data-table=sales]")
    assert page.locator("[data-table=assessments] tbody tr").count() >= 1
    assert page.locator("#evidence-chart").count() == 0  # no order book for a sale
    # From the investor page's list, the alert's investor has a profile with the sale.
    investor = json.loads(alert["explanation"])["investor"]
    page.goto(f"{site[0]}/ui/investors")
    page.click(f"#investor-alerts a.investor[href^='/ui/investors/{investor}']")
    # The click returns once the profile starts loading; count its rows once it has.
    page.wait_for_url(re.compile(f"/ui/investors/{investor}"))
    assert page.locator(f"#purchases tr[data-sale={sale}]").count() == 1


def test_an_investors_profile_shows_the_declared_beside_the_observed(demo, site, as_user):
    """The demo's C2 investor who bought R4 again and again, papered each time: on their
    region's investor page the mismatch alert links to their profile, which shows C2
    declared, R4 observed, the purchases above the category and the picture of them."""
    import polars as pl

    root, _ = demo
    sim = root / "sim-investor"
    party = pl.read_csv(sim / "labels.csv").filter(
        pl.col("variant") == "beyond: papered R4")["subject"][0]
    region = pl.read_parquet(sim / "party.parquet").filter(
        pl.col("party_id") == party)["region"][0]
    page = as_user(f"analyst.{region[3:].lower()}")
    page.goto(f"{site[0]}/ui/investors")
    page.click(f"#investor-alerts a[href^='/ui/investors/{party}']")
    assert page.text_content("#declared-category").strip() == "C2"
    assert page.text_content("#observed-level").strip() == "R4"
    assert page.locator("#purchases tbody tr[data-sale]").count() >= 3
    assert page.locator("#profile-alerts tr[data-typology=RISK_PROFILE_MISMATCH]").count() == 1
    page.wait_for_selector("#profile-chart[data-drawn=true]")
    page.goto(f"{site[0]}/ui/investors/NO-SUCH-INVESTOR")
    assert "NO-SUCH-INVESTOR" in page.text_content("body")


def test_the_demos_data_quality_flags_the_worst_reporters_and_gives_each_its_card(
        demo, site, as_user, tmp_path):
    """The demo's market day was sent with reporting breaks of every kind and reconciled:
    the data-quality page lists its institutions beside the market, flags those whose
    breaks put them far below it, draws the market's days, lists the breaks; an
    institution's report card downloads as a PDF whose pages render as PNG."""
    import pypdfium2 as pdfium

    from suptech.pdf import page_images

    page = as_user("supervisor.sh")
    page.goto(f"{site[0]}/ui/quality")
    page.wait_for_selector("#quality-chart[data-drawn=true]")
    assert page.locator("#quality-institutions tbody tr").count() >= 10
    flagged = page.locator("#quality-institutions tbody tr[data-flagged]:not([data-flagged='0'])")
    assert flagged.count() >= 1
    codes = set(page.eval_on_selector_all("#quality-breaks tbody tr",
                                          "rows => rows.map(r => r.dataset.code)"))
    assert {"R001", "R002", "R003", "R004", "R005", "R006", "R007", "R008"} <= codes
    worst = flagged.first.get_attribute("data-institution")
    with page.expect_download() as got:
        flagged.first.locator("a.card-link").click()
    pdf = tmp_path / "card.pdf"
    got.value.save_as(pdf)
    doc = pdfium.PdfDocument(str(pdf))
    text = doc[0].get_textpage().get_text_range()
    doc.close()
    assert "Data quality report card" in text and worst in text
    pngs = page_images(pdf, tmp_path / "pages")
    assert pngs and all(p.read_bytes()[:4] == b"\x89PNG" for p in pngs)
