"""The dashboard in Simplified Chinese and English: every marked word has its Chinese,
each page's language is the user's setting, else the browser's choice, else its
Accept-Language, and errors and messages are said in it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from suptech import i18n
from suptech.ops import access
from suptech.ops.db import connect
from suptech.server.app import create_app

ROOT = Path(__file__).parents[1]
FIELD = re.compile(r"\{(\w+)")


def marked() -> set[str]:
    """The words the code and the templates mark, found as scripts/messages.sh finds them."""
    methods = [("src/suptech/**.py", "python"),
               ("src/suptech/server/templates/**.html", "jinja2")]
    keywords = {k: None for k in i18n.KEYWORDS} | {"_": None}
    found = extract_from_dir(str(ROOT), methods, keywords=keywords)
    return {message for _, _, message, *_ in found if isinstance(message, str)}


def test_every_marked_word_has_its_chinese_with_the_same_fields():
    with (i18n.LOCALE / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalogue = {m.id: m.string for m in read_po(f) if m.id}
    words = marked()
    assert len(words) > 200
    assert sorted(words - set(catalogue)) == []  # run scripts/messages.sh, then translate
    assert sorted(w for w in words if not catalogue[w]) == []
    # A translation fills in the same values as the English, or formatting it fails.
    assert [w for w in words if set(FIELD.findall(w)) != set(FIELD.findall(catalogue[w]))] == []


def test_every_typology_has_a_name_and_every_name_its_own_chinese():
    from suptech.detect.run import REGISTRY

    zh, en = i18n.words("zh"), i18n.words("en")
    assert set(REGISTRY.typologies()) == set(i18n.TYPOLOGIES)
    names = {zh.typology(t) for t in i18n.TYPOLOGIES}
    assert len(names) == len(i18n.TYPOLOGIES)
    assert not names & {en.typology(t) for t in i18n.TYPOLOGIES}  # none left in English
    assert zh.typology("INSIDER_DEALING") == "内幕交易"
    assert zh.typology("MARKING_THE_CLOSE") == "尾市交易操纵"


@pytest.mark.parametrize("header, language", [
    ("zh-CN,zh;q=0.9,en;q=0.8", "zh"), ("en-GB,en;q=0.9", "en"), ("zh-Hans-CN", "zh"),
    ("fr-FR, en;q=0.5, zh;q=0.7", "zh"), ("fr", None), ("", None), (None, None),
    ("zh;q=0, en", "en"), ("zh;q=banana, en;q=0.1", "en"), ("*", None),
])
def test_the_browsers_language_is_the_best_of_ours_it_asks_for(header, language):
    assert i18n.negotiate(header) == language


@pytest.fixture
def site(tmp_path):
    ops = connect(tmp_path)
    with ops.begin() as con:
        tokens = {"ana": access.add_user(con, "test", "ana", "analyst", "CN-SH"),
                  "li": access.add_user(con, "test", "li", "analyst", "CN-SH", language="zh")}
    ops.dispose()
    with TestClient(create_app(tmp_path), base_url="http://127.0.0.1:8000") as client:
        yield client, tokens


def login(client, token: str, **headers):
    return client.post("/ui/login", data={"token": token}, headers=headers)


def test_the_login_page_speaks_the_browsers_language_or_the_one_chosen_on_it(site):
    client, _ = site
    assert "<h1>登录</h1>" in client.get("/ui/login", headers={"Accept-Language": "zh-CN"}).text
    assert "<h1>Log in</h1>" in client.get("/ui/login", headers={"Accept-Language": "fr"}).text
    client.post("/ui/language", data={"language": "zh", "back": "/ui/login"})
    page = client.get("/ui/login", headers={"Accept-Language": "en"}).text
    assert "<h1>登录</h1>" in page and 'lang="zh-Hans"' in page
    # A wrong token is said in that language too.
    assert "令牌无效或已被吊销" in login(client, "st_wrong").text


def test_a_users_own_setting_wins_over_the_browser_and_is_kept(site):
    client, tokens = site
    page = login(client, tokens["li"], **{"Accept-Language": "en"}).text
    assert "<h1>概览 · CN-SH</h1>" in page
    client.post("/ui/language", data={"language": "en", "back": "/ui/cases"})
    assert "<h1>Cases · CN-SH</h1>" in client.get("/ui/cases", headers={"Accept-Language": "zh"}).text
    with client.app.state.services.ops.connect() as con:
        assert access.authenticate(con, tokens["li"]).language == "en"


def test_refusals_and_messages_are_said_in_the_users_language(site):
    client, tokens = site
    login(client, tokens["li"])
    opened = client.post("/ui/cases", data={"title": "拉抬嫌疑"})
    assert "已立案" in opened.text
    case_id = opened.url.path.rsplit("/", 1)[1]
    # An open case cannot be closed before it is investigated: said in Chinese.
    closing = client.post(f"/ui/cases/{case_id}/act",
                          data={"action": "transition", "to": "closed-no-action"})
    assert f"案件 {case_id} 当前状态为“已立案”，不能变为“结案（不予处理）”" in closing.text
    client.post(f"/ui/cases/{case_id}/act", data={"action": "transition", "to": "investigating"})
    # An analyst may not close one: refused, in Chinese, naming the role.
    closing = client.post(f"/ui/cases/{case_id}/act",
                          data={"action": "transition", "to": "closed-no-action"})
    assert "“分析员”角色无权办理此事" in closing.text
    missing = client.get("/ui/alerts/AL-0000000000000000")
    assert missing.status_code == 404 and "无此预警：AL-0000000000000000" in missing.text
