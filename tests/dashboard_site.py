"""The demo's data served by a real server, and Debian's Chromium driven by Playwright
to use it as a person would: fixtures shared by the dashboard's browser tests."""

from __future__ import annotations

import fcntl
import os
import pickle
import shutil
from pathlib import Path

import httpx
import pytest
from test_api_schema import free_port, start_server

from suptech.demo import build

CHROMIUM = "/usr/bin/chromium"
#: For the modules that use these fixtures.
needs_chromium = pytest.mark.skipif(shutil.which(CHROMIUM) is None,
                                    reason="Debian's chromium is not installed (setup.sh --test)")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo's folder, and what `build` says it built (its alerts among it): a
    module's own, since its tests change it. Under xdist the workers build it once a
    run between them and each module takes a copy."""
    root = tmp_path_factory.mktemp("dashboard")
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if run is None:
        return root, build(root, lambda _: None)
    shared = Path(tmp_path_factory.getbasetemp()).parent / f"demo-{run}"
    shared.mkdir(exist_ok=True)
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one worker builds; the other waits for it
        if not (shared / "built.pickle").exists():
            built = build(shared / "root", lambda _: None)
            (shared / "built.pickle").write_bytes(pickle.dumps(built))
    shutil.copytree(shared / "root", root, dirs_exist_ok=True)
    return root, pickle.loads((shared / "built.pickle").read_bytes())


@pytest.fixture(scope="module")
def site(demo):
    root, built = demo
    port = free_port()
    server = start_server(root / "data", None, port)
    try:
        yield f"http://127.0.0.1:{port}", built["tokens"]
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def as_user(site, browser, tmp_path):
    """Log a user in the way a person would, with the keyboard; yields its page."""
    base, tokens = site
    pages = []

    def login(user: str, language: str = "en"):
        """Logged in, then in `language` (the demo's users start in Chinese)."""
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        pages.append(page)
        page.bring_to_front()  # the page with the focus, as the one a person looks at
        page.goto(f"{base}/ui")  # not logged in: sent to the login form
        assert page.url.endswith("/ui/login")
        # A selector, not a script: the page's content security policy forbids the
        # eval that polling a script needs, whenever the focus comes late.
        page.wait_for_selector("#token:focus")
        page.keyboard.type(tokens[user])  # the token field has the focus
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/ui")
        assert user in page.text_content("[data-testid=who]")
        if page.get_attribute("html", "lang") != ("zh-Hans" if language == "zh" else language):
            page.click(f"button[name=language][value={language}]")
            page.wait_for_url(f"{base}/ui")
        return page
    yield login
    for i, page in enumerate(pages):
        page.screenshot(path=str(tmp_path / f"screen-{i}.png"), full_page=True)
        assert (tmp_path / f"screen-{i}.png").read_bytes()[:4] == b"\x89PNG"
        page.close()


def queue(page, base: str, query: str = "") -> list[dict]:
    if query is not None:
        page.goto(f"{base}/ui/alerts{query}")
    return page.eval_on_selector_all("#alert-queue tbody tr", """rows => rows.map(r => ({
        id: r.dataset.alert, typology: r.children[2].dataset.typology,
        detector: r.children[3].textContent, isin: r.children[6].textContent.trim(),
        status: r.children[8].firstElementChild.dataset.status,
        case: r.children[10].textContent.trim()}))""")


def api(site, user: str, path: str):
    base, tokens = site
    return httpx.get(f"{base}{path}", headers={"Authorization": f"Bearer {tokens[user]}"}).json()
