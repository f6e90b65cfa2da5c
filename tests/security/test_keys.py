"""ES256 keys: parsed from the environment's PEM (refused, naming the variable, when they
are not P-256), named by their RFC 7638 thumbprint, and made by `flask keys generate`."""

import re
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwcrypto import jwk

from wxlogin import create_app
from wxlogin.config import ConfigError
from wxlogin.security import keys

from ..processes import BIN

# Reads none of TEST_DATABASE_URL, TEST_REDIS_URL, TEST_JWT_ALGORITHM (tests/conftest.py).
pytestmark = pytest.mark.once

PRODUCTION = {"WX_APPID": "wxprod", "WX_SECRET": "s3cret",
              "SESSION_KEY_ENCRYPTION_KEYS": "cHJvZHVjdGlvbi1lbmNyeXB0aW9uLWtleS0zMmJ5dGU="}


def pem(private_key):
    return keys.private_pem(private_key) if isinstance(private_key, ec.EllipticCurvePrivateKey) else (
        private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()).decode())


def production(environ, tmp_path, **variables):
    for name, value in {**PRODUCTION, **variables}.items():
        environ.setenv(name, value)
    return create_app(instance_path=str(tmp_path))


def test_the_kid_is_the_rfc_7638_thumbprint():
    private, public = keys.generate()
    loaded = keys.load_private_key(private).public_key()
    expected = jwk.JWK.from_pem(public.encode()).thumbprint()  # jwcrypto's, SHA-256 by default
    assert keys.key_id(loaded) == expected == keys.public_jwk(loaded)["kid"]


def test_a_published_jwk_holds_no_private_part():
    loaded = keys.load_private_key(keys.generate()[0])
    published = keys.public_jwk(loaded.public_key())
    assert set(published) == {"kty", "crv", "x", "y", "kid", "alg", "use"}
    assert (published["kty"], published["crv"], published["alg"], published["use"]) == ("EC", "P-256", "ES256", "sig")


def test_pem_with_its_newlines_written_out_is_read(environ, tmp_path):
    private = keys.generate()[0]
    app = production(environ, tmp_path, JWT_PRIVATE_KEY=private.strip().replace("\n", "\\n"))
    assert app.config["JWT_ALGORITHM"] == "ES256" and app.config["JWT_PRIVATE_KEY"] == private


@pytest.mark.parametrize("value, says", [
    ("not a key", "JWT_PRIVATE_KEY is not a PEM private key"),
    (pem(ec.generate_private_key(ec.SECP384R1())), "JWT_PRIVATE_KEY is on curve secp384r1, not P-256"),
    (pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)), "JWT_PRIVATE_KEY is not an elliptic-curve key"),
])
def test_production_refuses_a_key_that_is_not_p256(environ, tmp_path, value, says):
    environ.delenv("JWT_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match=re.escape(says)):
        production(environ, tmp_path, JWT_PRIVATE_KEY=value)


def test_production_refuses_previous_keys_that_do_not_parse(environ, tmp_path):
    with pytest.raises(ConfigError, match="JWT_PREVIOUS_PUBLIC_KEYS holds no PEM public key"):
        production(environ, tmp_path, JWT_PRIVATE_KEY=keys.generate()[0], JWT_PREVIOUS_PUBLIC_KEYS="oops")


def test_production_with_es256_needs_its_own_encryption_keys(environ, tmp_path):
    """Keys derived from the private key would not survive its rotation."""
    with pytest.raises(ConfigError, match="SESSION_KEY_ENCRYPTION_KEYS is not set: with JWT_PRIVATE_KEY"):
        production(environ, tmp_path, JWT_PRIVATE_KEY=keys.generate()[0], SESSION_KEY_ENCRYPTION_KEYS="")


def test_keys_generate_needs_no_configuration(environ, tmp_path):
    """On a host with nothing set yet (production would refuse to start): a key pair, the
    private key as one environment line that the service then starts with."""
    result = subprocess.run([BIN / "flask", "--app", "wxlogin", "keys", "generate"], cwd=tmp_path,
                            env={"PATH": str(BIN), "HOME": str(tmp_path)}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("JWT_PRIVATE_KEY=")]
    value = line.removeprefix("JWT_PRIVATE_KEY=").strip("'")
    assert "\n" not in value and "BEGIN PRIVATE KEY" in value
    app = production(environ, tmp_path, JWT_PRIVATE_KEY=value)
    kid = keys.key_id(keys.load_private_key(value).public_key())
    assert f"# kid {kid}" in result.stdout and app.extensions["jwt_kid"] == kid
