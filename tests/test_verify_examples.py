"""The examples of docs/verify/ (Python, Node, Java), run as another team would run them,
against a live wxlogin in production mode signing ES256: each verifies a real access token
with the JWKS and introspects it; after a logout it still verifies but is inactive; forged,
expired, misdirected and refresh tokens are refused.

Run on their own (``.ci/run``): ``.venv/bin/python -m pytest -m examples tests/test_verify_examples.py``.
Needs ``node`` and ``npm`` (the Node example's ``npm ci`` reaches the npm registry) and
``java``; a missing one skips its example, and fails it when ``CI`` is set.
"""

import base64
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import time
import uuid

import jwt as pyjwt
import pytest
import requests

from wxlogin.security import keys

from .conftest import PRIVATE_KEY
from .processes import (
    APPID,
    ROOT,
    SECRET,
    flask,
    production_env,
    start_gunicorn,
    start_simulator,
    stop,
)

pytestmark = pytest.mark.examples

EXAMPLES = ROOT / "docs" / "verify"
CLIENT_ID, CLIENT_SECRET = "orders", "orders-introspection-secret"
OTHER_APPID = "wxprod0000000002"


def _require(what, reason):
    """Skip, saying ``what: reason``, when ``reason`` (something missing) is set; in CI fail
    (as tests/faults/conftest.py does): an example that silently skips proves nothing."""
    if reason and os.environ.get("CI"):
        pytest.fail(f"{what}: {reason}")
    if reason:
        pytest.skip(f"{what}: {reason}")


def _missing(*programs):
    absent = [program for program in programs if shutil.which(program) is None]
    return f"{', '.join(absent)} not installed" if absent else None


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """Base URL of a gunicorn-served wxlogin in production mode, ES256 whatever
    TEST_JWT_ALGORITHM says, with an introspection client."""
    cwd = tmp_path_factory.mktemp("verify-examples")
    env = production_env(
        f"sqlite:///{cwd}/wxlogin.sqlite", LOGIN_RATE_LIMIT="off", LOGIN_RATE_LIMIT_PER_USER="off",
        INTROSPECTION_CLIENTS=f"{CLIENT_ID}:{CLIENT_SECRET},payments:another-secret",
        WX_APPS=f"{APPID}:{SECRET},{OTHER_APPID}:secret-of-the-other-app",
    )
    env.pop("JWT_SECRET_KEY", None)
    env["JWT_PRIVATE_KEY"] = PRIVATE_KEY
    # Production with JWT_PRIVATE_KEY keeps the stored session keys under keys of their own.
    env.setdefault("SESSION_KEY_ENCRYPTION_KEYS", base64.b64encode(b"verify-examples-encryption-key!!").decode())
    flask(env, "db", "upgrade", cwd=cwd)
    simulator, _ = start_simulator(env, cwd)
    gunicorn, url = start_gunicorn(env, workers=2)
    try:
        assert requests.get(f"{url}/.well-known/jwks.json", timeout=5).json()["keys"], "not ES256"
        yield url
    finally:
        log = stop(gunicorn, simulator)
        assert CLIENT_SECRET not in log


@pytest.fixture(scope="module")
def node_example(tmp_path_factory):
    """docs/verify/node copied to a temporary folder and installed there with ``npm ci``
    (its package-lock.json), so that the repository gets no node_modules."""
    _require("the Node example", _missing("node", "npm"))
    folder = tmp_path_factory.mktemp("node-example")
    for name in ("package.json", "package-lock.json", "verify.mjs"):
        shutil.copy(EXAMPLES / "node" / name, folder / name)
    result = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=folder,
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return ["node", str(folder / "verify.mjs")]


@pytest.fixture(scope="module", params=["python", "node", "java"])
def example(request):
    """The command that runs one example (the token is appended)."""
    if request.param == "python":
        return [sys.executable, str(EXAMPLES / "python" / "verify.py")]
    if request.param == "node":
        return request.getfixturevalue("node_example")
    _require("the Java example", _missing("java"))
    return ["java", str(EXAMPLES / "java" / "Verify.java")]  # single-file source launch


def run(example, service, token, **settings):
    """Run ``example`` on ``token`` as the README says: its settings in the environment."""
    env = {name: value for name, value in os.environ.items() if name != "ACCESS_TOKEN"}
    env.update({"WXLOGIN_URL": service, "WXLOGIN_AUDIENCE": APPID, "INTROSPECTION_CLIENT_ID": CLIENT_ID,
                "INTROSPECTION_CLIENT_SECRET": CLIENT_SECRET, **settings})
    return subprocess.run([*example, token], env=env, cwd=EXAMPLES,
                          capture_output=True, text=True, timeout=120, check=False)


def login(service, name="alice"):
    response = requests.post(f"{service}/wx/login", json={"code": f"sim:{name}:{uuid.uuid4().hex}"}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def show(result):
    return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def test_a_live_token_verifies_and_is_active(example, service):
    body = login(service)
    result = run(example, service, body["access_token"])
    assert result.returncode == 0, show(result)
    lines = result.stdout.splitlines()
    kid = pyjwt.get_unverified_header(body["access_token"])["kid"]
    assert lines[0].startswith(f"token verified (kid {kid}), expires 20"), show(result)
    assert lines[1:] == [f"sub: {body['user']['id']}", "active: true"], show(result)


def test_the_token_of_any_app_of_the_service_verifies_for_its_own_audience(example, service):
    response = requests.post(f"{service}/wx/login", timeout=10,
                             json={"code": f"sim:carol:{uuid.uuid4().hex}", "appid": OTHER_APPID})
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    result = run(example, service, token, WXLOGIN_AUDIENCE=OTHER_APPID)
    assert result.returncode == 0, show(result)
    refused = run(example, service, token)  # this service is for APPID's users
    assert refused.returncode == 1 and "token refused" in refused.stderr, show(refused)


def test_a_logged_out_token_still_verifies_but_is_inactive(example, service):
    body = login(service, "bob")
    token = body["access_token"]
    logout = requests.post(f"{service}/wx/logout", headers={"Authentication": token}, timeout=5)
    assert logout.json() == {"revoked": True}
    result = run(example, service, token)
    assert result.returncode == 3, show(result)
    assert result.stdout.splitlines()[1:] == [f"sub: {body['user']['id']}", "active: false"], show(result)
    assert "no longer active" in result.stderr


# Tokens each example must refuse before introspecting, made from a login's answer (``body``),
# its access token's claims and kid.

def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _compact(header, claims, sign):
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(sign(signing_input.encode()))}"


def _service_signed(claims, kid):
    return pyjwt.encode(claims, keys.load_private_key(PRIVATE_KEY), "ES256", headers={"kid": kid})


def forged_same_kid(body, claims, kid):
    """Signed with another P-256 key, naming the service's key: the signature fails."""
    other = keys.load_private_key(keys.generate()[0])
    return pyjwt.encode(claims, other, "ES256", headers={"kid": kid})


def forged_unknown_kid(body, claims, kid):
    other = keys.load_private_key(keys.generate()[0])
    return pyjwt.encode(claims, other, "ES256", headers={"kid": keys.key_id(other.public_key())})


def hs256_with_the_public_key(body, claims, kid):
    """The algorithm-confusion attack: HMAC with the published public key as the secret."""
    public = keys.public_pem(keys.load_private_key(PRIVATE_KEY).public_key()).encode()
    return _compact({"alg": "HS256", "typ": "JWT", "kid": kid}, claims,
                    lambda data: hmac.new(public, data, hashlib.sha256).digest())


def alg_none(body, claims, kid):
    return _compact({"alg": "none", "typ": "JWT", "kid": kid}, claims, lambda data: b"")


def tampered(body, claims, kid):
    """The service's signature over other claims: another user's id."""
    header, _, signature = body["access_token"].split(".")
    return f"{header}.{_b64(json.dumps({**claims, 'sub': '999999'}).encode())}.{signature}"


def expired(body, claims, kid):
    now = int(time.time())
    return _service_signed({**claims, "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600}, kid)


def not_yet_valid(body, claims, kid):
    now = int(time.time())
    return _service_signed({**claims, "nbf": now + 3600, "exp": now + 7200}, kid)


def other_issuer(body, claims, kid):
    return _service_signed({**claims, "iss": "someone-else"}, kid)


def no_expiry(body, claims, kid):
    return _service_signed({name: value for name, value in claims.items() if name != "exp"}, kid)


def refresh_token(body, claims, kid):
    return body["refresh_token"]  # signed by the same key, for the same audience


REFUSED = [forged_same_kid, forged_unknown_kid, hs256_with_the_public_key, alg_none, tampered,
           expired, not_yet_valid, other_issuer, no_expiry, refresh_token]


@pytest.mark.parametrize("make", REFUSED, ids=[make.__name__ for make in REFUSED])
def test_a_bad_token_is_refused_before_introspection(example, service, make):
    body = login(service, "dave")
    token = body["access_token"]
    claims = pyjwt.decode(token, options={"verify_signature": False})
    kid = pyjwt.get_unverified_header(token)["kid"]
    bad = make(body, claims, kid)
    result = run(example, service, bad)
    assert result.returncode == 1, show(result)
    assert "token refused" in result.stderr, show(result)
    assert "sub:" not in result.stdout and "active:" not in result.stdout, show(result)
    # The service agrees: introspection calls it inactive, except the live refresh token.
    answer = requests.post(f"{service}/oauth/introspect", data={"token": bad},
                           auth=(CLIENT_ID, CLIENT_SECRET), timeout=5).json()
    assert answer["active"] is (make is refresh_token)


def test_a_wrong_introspection_secret_is_an_error_not_an_inactive_token(example, service):
    result = run(example, service, login(service)["access_token"], INTROSPECTION_CLIENT_SECRET="wrong")
    assert result.returncode == 1, show(result)
    assert "sub:" in result.stdout and "active:" not in result.stdout, show(result)
    assert "401" in result.stderr, show(result)


def test_a_missing_setting_is_a_usage_error(example, service):
    result = run(example, service, "x", WXLOGIN_AUDIENCE="")
    assert result.returncode == 2, show(result)
    assert "WXLOGIN_AUDIENCE" in result.stderr and result.stdout == "", show(result)
