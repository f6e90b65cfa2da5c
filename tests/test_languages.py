"""Error messages in Simplified Chinese or English by Accept-Language (docs/API.md,
"Languages"): every message of the catalog in both, the slug and the keys of details the
same in both, and the gettext catalog in step with wxlogin/messages.py."""

import re

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from wxlogin import create_app, messages
from wxlogin.errors import error_response
from wxlogin.extensions import db
from wxlogin.languages import TRANSLATIONS

from .conftest import app_config, fresh_code

CATALOG = TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES"
PROBLEMS = {name: value for name, value in vars(messages).items() if isinstance(value, messages.Problem)}
CJK = re.compile(r"[\u4e00-\u9fff]")
PLACEHOLDERS = {"method": "PATCH", "request_id": "0123abcd"}

CHINESE_TAGS = ["zh", "zh-CN", "zh-Hans", "zh_CN", "zh-Hans-CN", "zh-CN,zh;q=0.9,en;q=0.8", "fr, zh;q=0.5"]
ENGLISH_TAGS = ["en", "en-US", "en-US,en;q=0.9,zh-CN;q=0.8", "zh-TW", "zh-Hant", "fr", "", "*"]


def placeholders_of(text):
    return set(re.findall(r"{(\w+)}", text))


@pytest.fixture(scope="module")
def messages_app(database_url, simulator, tmp_path_factory):
    """One app, as the ``app`` fixture's, for every message below: they only render error
    answers in request contexts (no request is served, nothing is stored)."""
    app = create_app(app_config(database_url, simulator.url), instance_path=str(tmp_path_factory.mktemp("messages")))
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_every_message_reads_in_both_languages(messages_app, name):
    app = messages_app
    problem = PROBLEMS[name]
    filled = {k: v for k, v in PLACEHOLDERS.items() if k in placeholders_of(problem.message)}
    with app.test_request_context(headers={"Accept-Language": "zh_CN"}):
        chinese = error_response(problem, **filled)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        english = error_response(problem, **filled)
    assert chinese.status_code == english.status_code == problem.status
    assert chinese.get_json()["error"] == english.get_json()["error"] == problem.slug
    assert english.get_json()["message"] == problem.message.format(**filled)
    text = chinese.get_json()["message"]
    assert CJK.search(text), text
    for value in filled.values():  # placeholders kept, and filled in after translation
        assert value in text


def test_the_catalog_is_in_step_with_messages_py():
    """Every sentence of messages.py translated (none fuzzy, none left over), the compiled
    .mo made from the .po as it is now: run the commands in wxlogin/languages.py."""
    extracted = {
        message for _line, message, _comments, _context in extract_from_file(
            "python", messages.__file__, keywords={"Problem": (3,)}, comment_tags=())
    }
    assert extracted == {problem.message for problem in PROBLEMS.values()}
    with open(CATALOG / "messages.po", "rb") as file:
        po = read_po(file)
    translated = {m.id: m.string for m in po if m.id}
    assert set(translated) == extracted
    assert not [m.id for m in po if m.id and (m.fuzzy or not m.string)]
    for msgid, msgstr in translated.items():
        assert placeholders_of(msgstr) == placeholders_of(msgid), msgid
    with open(CATALOG / "messages.mo", "rb") as file:
        mo = {m.id: m.string for m in read_mo(file) if m.id}
    assert mo == translated, "messages.mo is older than messages.po: pybabel compile"
    with open(TRANSLATIONS / "messages.pot", "rb") as file:
        assert {m.id for m in read_po(file) if m.id} == extracted, "messages.pot: pybabel extract"


@pytest.mark.parametrize("tag", CHINESE_TAGS)
def test_chinese_for_the_simplified_tags(client, tag):
    response = client.get("/wx/me", headers={"Accept-Language": tag})
    assert response.status_code == 401
    assert response.get_json() == {"error": "token_missing", "message": "未登录：请在 Authentication 请求头中携带 access token。"}
    assert "Accept-Language" in response.headers["Vary"]


@pytest.mark.parametrize("tag", ENGLISH_TAGS)
def test_english_otherwise(client, tag):
    response = client.get("/wx/me", headers={"Accept-Language": tag} if tag else {})
    assert response.get_json() == {"error": "token_missing", "message": messages.TOKEN_MISSING.message}


def test_details_keep_their_keys(client, auth):
    headers = auth()
    bodies = [
        client.post("/wx/notes", headers={**headers, "Accept-Language": tag}, json={"title": ""}).get_json()
        for tag in ("zh_CN", "en")
    ]
    assert bodies[0]["error"] == bodies[1]["error"] == "invalid_request"
    assert bodies[0]["details"].keys() == bodies[1]["details"].keys() == {"title"}
    assert CJK.search(bodies[0]["message"]) and not CJK.search(bodies[1]["message"])


def test_wechat_and_flask_errors_are_translated_too(client):
    refused = client.post("/wx/login", json={"code": "sim-fail:40029"}, headers={"Accept-Language": "zh_CN"})
    assert refused.status_code == 401
    assert refused.get_json() == {"error": "invalid_code", "message": "登录凭证 code 无效，请重新调用 wx.login() 获取。"}
    wrong_method = client.delete("/wx/login", headers={"Accept-Language": "zh-CN"})
    assert wrong_method.get_json() == {"error": "method_not_allowed", "message": "该路由不支持 DELETE 请求。"}
    used = fresh_code("lang")
    client.post("/wx/login", json={"code": used})
    again = client.post("/wx/login", json={"code": used}, headers={"Accept-Language": "zh"})
    assert again.get_json()["error"] == "code_used" and CJK.search(again.get_json()["message"])
