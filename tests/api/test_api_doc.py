"""docs/API.md, the service's HTTP reference, agrees with /openapi.json and with the code.

- the routes it documents are exactly the operations of /openapi.json (plus /openapi.json and
  /docs themselves, which the document does not describe);
- its error table names every (status, slug) the code can answer, and no slug the code cannot;
- its environment tables name exactly the variables wxlogin/config.py reads;
- what it lists under "Not built yet" is indeed not built (move it up when it is).
"""

import re
from pathlib import Path

from wxlogin import messages

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "API.md"
PACKAGE = ROOT / "wxlogin"

NOT_BUILT_HEADING = "\n## Not built yet"
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# `POST /wx/login`, `GET|PATCH|DELETE /wx/notes/<id>`, `GET /wx/notes?page=1`
_METHOD = "(?:" + "|".join(HTTP_METHODS) + ")"
ROUTE = re.compile(rf"`({_METHOD}(?:\|{_METHOD})*) (/[^`\s?]*)")
# Served by flask-smorest next to the document, not described in it; and the browser's files
# of the web login (wxlogin.web), which are not operations of the API.
DOCUMENT_ROUTES = {("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/web/qr-login.js"), ("GET", "/_demo/qr-login")}
SLUG = re.compile(r"`([a-z][a-z0-9_]*)`")
ENV_NAME = re.compile(r"`([A-Z][A-Z0-9_]*)`")


# --- reading docs/API.md --------------------------------------------------------------


def doc_text():
    return DOC.read_text(encoding="utf-8")


def split_doc(text):
    """``(built, not_built)``: the reference proper, and its final "Not built yet" section."""
    assert NOT_BUILT_HEADING in text, 'docs/API.md must end with a "## Not built yet" section'
    built, not_built = text.split(NOT_BUILT_HEADING, 1)
    assert "\n## " not in not_built, '"Not built yet" must be the last section of docs/API.md'
    return built, not_built


def normalise(path):
    """``/wx/notes/<id>``, ``/wx/notes/<int:note_id>`` and ``/wx/notes/{note_id}`` alike."""
    return re.sub(r"<[^>]*>|\{[^}]*\}", "{}", path.rstrip("/") or "/")


def routes_in(text):
    found = set()
    for methods, path in ROUTE.findall(text):
        for method in methods.split("|"):
            found.add((method, normalise(path)))
    return found


def section(text, heading):
    """The text of a ``## heading`` section, up to the next ``## `` heading."""
    match = re.search(rf"^## {re.escape(heading)}\b.*?$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"docs/API.md has no section '## {heading}'"
    return match.group(1)


def table_rows(text, first_header):
    """The body rows (lists of cells) of every Markdown table whose first header is ``first_header``."""
    rows, in_table = [], False
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("|"):
            in_table = False
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if not in_table:
            in_table = cells[0] == first_header
            continue
        if set("".join(cells)) <= set("-: "):
            continue  # the separator row
        rows.append(cells)
    return rows


def documented_errors(text):
    """``{slug: {statuses}}`` from the error table of the Errors section."""
    rows = table_rows(section(text, "Errors"), "situation")
    assert rows, "the Errors section of docs/API.md has no error table"
    errors = {}
    for cells in rows:
        assert len(cells) >= 3, f"error table row without three cells: {cells}"
        statuses = list(dict.fromkeys(int(s) for s in re.findall(r"\b[1-5]\d\d\b", cells[1])))
        slugs = SLUG.findall(cells[2])
        assert statuses and slugs, f"error table row without a status or a slug: {cells}"
        if len(slugs) > 1 and len(statuses) == len(slugs):  # 404 / 405 | not_found / method_not_allowed
            pairs = zip(slugs, ([status] for status in statuses))
        else:  # 401 | token_missing / token_invalid / ...; 401 (400 on /wx/phone) | invalid_code
            pairs = ((slug, statuses) for slug in slugs)
        for slug, slug_statuses in pairs:
            errors.setdefault(slug, set()).update(slug_statuses)
    return errors


def documented_variables(text):
    rows = table_rows(text, "variable")
    assert rows, "docs/API.md has no environment table (| variable | meaning | default |)"
    return {name for cells in rows for name in ENV_NAME.findall(cells[0])}


# --- reading the code ------------------------------------------------------------------

def code_errors():
    """``{(status, slug)}`` the service can answer: its catalog of problems (``messages``)."""
    return {(problem.status, problem.slug) for problem in vars(messages).values() if isinstance(problem, messages.Problem)}


# A status and a slug side by side, as in Problem(401, "token_invalid", ...).
_STATUS_SLUG = re.compile(r'\(\s*([1-5]\d\d)\s*,\s*"([a-z][a-z0-9_]*)"')


_ENVIRON_READ = re.compile(r'\benviron\s*(?:\.get\(\s*|\[\s*|,\s*)"([A-Z][A-Z0-9_]*)"')


def config_variables():
    """The variables ``wxlogin/config.py`` reads: ``environ.get("X"``, ``environ["X"]``,
    ``_number(environ, "X"`` and the like."""
    return set(_ENVIRON_READ.findall((PACKAGE / "config.py").read_text(encoding="utf-8")))


def openapi_operations(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return {
        (method.upper(), normalise(path))
        for path, operations in response.get_json()["paths"].items()
        for method in operations
        if method.upper() in HTTP_METHODS
    }


# --- the tests -------------------------------------------------------------------------


def test_documented_routes_are_the_openapi_operations(client):
    built, _ = split_doc(doc_text())
    documented = routes_in(built)
    for method, path in DOCUMENT_ROUTES:
        assert client.open(path, method=method).status_code == 200, path
    served = openapi_operations(client) | DOCUMENT_ROUTES
    assert documented - served == set(), "documented in docs/API.md but not in /openapi.json"
    assert served - documented == set(), "in /openapi.json but not documented in docs/API.md"


def test_code_errors_are_in_the_error_table():
    errors = code_errors()
    # The patterns above still find the code's errors (else this test would pass on nothing).
    assert {
        (400, "invalid_request"),
        (401, "token_missing"),
        (401, "token_expired"),
        (404, "not_found"),
        (500, "internal_error"),
        (503, "database_unavailable"),
        (503, "upstream_unavailable"),
        (504, "upstream_timeout"),
    } <= errors
    documented = documented_errors(doc_text())
    missing = sorted(f"{status} {slug}" for status, slug in errors if status not in documented.get(slug, ()))
    assert missing == [], "errors the code answers, missing from docs/API.md's error table"


def test_every_error_comes_from_the_catalog():
    """No module words an error of its own: each is one of ``messages``' problems (the
    simulator plays WeChat: its errors are WeChat's)."""
    for source in sorted(PACKAGE.rglob("*.py")):
        if source.name == "messages.py" or "simulator" in source.relative_to(PACKAGE).parts:
            continue
        found = _STATUS_SLUG.findall(source.read_text(encoding="utf-8"))
        assert found == [], f"{source.relative_to(ROOT)} words errors outside wxlogin/messages.py"


def test_error_table_names_only_slugs_the_code_answers():
    produced = {slug for _status, slug in code_errors()}
    documented = set(documented_errors(doc_text()))
    assert documented - produced == set(), "slugs in docs/API.md's error table that the code never answers"


def test_environment_tables_name_what_config_reads():
    variables = config_variables()
    assert {"DATABASE_URL", "JWT_SECRET_KEY", "WX_TIMEOUT", "DATABASE_TIMEOUT", "REDIS_URL"} <= variables
    built, _ = split_doc(doc_text())
    documented = documented_variables(built)
    assert variables - documented == set(), "read by wxlogin/config.py, missing from docs/API.md"
    assert documented - variables == set(), "in docs/API.md's environment tables, not read by wxlogin/config.py"


def test_not_built_yet_is_not_built(client):
    """What "Not built yet" names is absent; once built, it belongs in the reference above it."""
    _, not_built = split_doc(doc_text())
    routes = routes_in(not_built)
    if not routes:  # everything is built: the section says so, and names nothing else
        assert "Nothing: every part of the contract is built." in not_built
    assert routes & openapi_operations(client) == set(), "built now: document it above 'Not built yet'"
    assert set(ENV_NAME.findall(not_built)) & config_variables() == set()
    assert set(SLUG.findall(not_built)) & {slug for _status, slug in code_errors()} == set()


def test_openapi_documents_every_error_status(client):
    """Each status the catalog can answer is documented on the routes that answer it, in
    /openapi.json as in docs/API.md; 405 (any route, a method it lacks) and 500 (anything
    unexpected) are the two that belong to no route in particular."""
    paths = client.get("/openapi.json").get_json()["paths"]
    documented = {int(code) for operations in paths.values() for operation in operations.values()
                  if isinstance(operation, dict) for code in operation.get("responses", {}) if code.isdigit()}
    statuses = {status for status, _slug in code_errors()} - {405, 500}
    assert statuses - documented == set(), "statuses the service answers that /openapi.json never documents"
