"""The live alert queue: with `suptech serve --stream`, alerts the stream raises appear in
an analyst's open alert queue without a reload (Chromium driven by Playwright)."""

from __future__ import annotations

from dashboard_site import browser, needs_chromium  # noqa: F401  (fixture)
from test_api_schema import free_port, start_server
from test_stream import config, nats_url, run_apart  # noqa: F401  (fixtures)

from suptech.ops import access
from suptech.ops.db import connect
from suptech.simulate.market_run import simulate_market
from suptech.simulate.universe import REGIONS
from suptech.stream.replay import load, replay

pytestmark = needs_chromium


def test_streaming_alerts_appear_in_the_open_alert_queue(config, browser, tmp_path):
    sim = tmp_path / "sim"
    simulate_market(sim, seed=62, days=1, instruments=2, scale="tiny")
    frames = load(sim)
    ops = connect(config.data_dir)
    with ops.begin() as con:
        tokens = {region: access.add_user(con, "test", f"analyst.{region}", "analyst", region)
                  for region in REGIONS}
        for i, lei in enumerate(sorted({x for f in frames.values() for x in f["submitter"]})):
            access.add_user(con, "test", f"venue{i}", "submitter", "CN-SH", lei)
    ops.dispose()
    port = free_port()
    server = start_server(config.data_dir, None, port, (
        "--stream", "--nats", config.nats_url, "--prefix", config.prefix))
    base = f"http://127.0.0.1:{port}"
    pages = []
    try:
        for region, token in tokens.items():  # an analyst of each region watches its queue
            page = browser.new_page()
            page.goto(f"{base}/ui/login")
            page.fill("#token", token)
            page.press("#token", "Enter")
            page.wait_for_url(f"{base}/ui")
            page.goto(f"{base}/ui/alerts")
            assert page.title().startswith("Alert queue")
            page.wait_for_selector("#live:not(:empty)")  # no script: the page's CSP
            assert page.locator("#alert-queue tbody tr").count() == 0
            pages.append((region, page))
        run_apart(replay(sim, config, slice_ms=300_000, frames=frames))
        seen: dict[str, list[str]] = {}
        for _ in range(240):  # until some analyst's queue shows one, and a little more
            for region, page in pages:
                seen[region] = page.eval_on_selector_all(
                    "#alert-queue tbody tr.new", "rows => rows.map(r => r.dataset.alert)")
            if any(seen.values()):
                break
            pages[0][1].wait_for_timeout(500)
        assert any(seen.values()), "no alert reached any analyst's open queue"
        pages[0][1].wait_for_timeout(2000)
        # What arrived live is what the server now lists, each in its region's queue.
        for region, page in pages:
            page.goto(f"{base}/ui/alerts")
            listed = page.eval_on_selector_all(
                "#alert-queue tbody tr", "rows => rows.map(r => r.dataset.alert)")
            assert set(seen[region]) <= set(listed)
        pages[0][1].screenshot(path=str(tmp_path / "live-queue.png"), full_page=True)
    finally:
        for _, page in pages:
            page.close()
        server.terminate()
        server.wait(timeout=60)
