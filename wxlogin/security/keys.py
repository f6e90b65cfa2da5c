"""The ES256 keys: parsed from PEM, checked to be P-256, named by their RFC 7638
thumbprint, published as JWKs, made for development and by ``flask keys generate``.

``cryptography`` parses and makes them, PyJWT writes them as JWKs; only the thumbprint
(RFC 7638: SHA-256 of the JWK's required members, in lexicographic order, without spaces)
is ours, a few lines against a test that recomputes it with jwcrypto.
"""

import base64
import hashlib
import json
import os
import re

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

_PEM = re.compile(r"-----BEGIN [A-Z ]+-----.+?-----END [A-Z ]+-----", re.S)


class BadKey(ValueError):
    """A key that is not a P-256 key in PEM; the message says what is wrong with it."""


def pem_text(value):
    """PEM as an environment variable holds it: real newlines, or ``\\n`` written out (an
    EnvironmentFile or a .env keeps a variable on one line)."""
    return value.replace("\\n", "\n").strip()


def load_private_key(value):
    try:
        key = serialization.load_pem_private_key(pem_text(value).encode(), password=None)
    except (ValueError, TypeError):
        raise BadKey("is not a PEM private key without a password") from None
    return _p256(key)


def load_public_keys(value):
    """Every PEM public key in ``value`` (several may follow each other, or be
    comma-separated)."""
    blocks = _PEM.findall(pem_text(value))
    if not blocks and value.strip(" ,"):
        raise BadKey("holds no PEM public key")
    keys = []
    for block in blocks:
        try:
            keys.append(_p256(serialization.load_pem_public_key(block.encode())))
        except ValueError:
            raise BadKey("holds a key that is not a PEM public key") from None
    return keys


def _p256(key):
    if not isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        raise BadKey("is not an elliptic-curve key (ES256 needs P-256)")
    if not isinstance(key.curve, ec.SECP256R1):
        raise BadKey(f"is on curve {key.curve.name}, not P-256 (prime256v1, ES256's curve)")
    return key


def public_jwk(public_key):
    """The public JWK of a key, as jwks.json publishes it: never ``d``."""
    jwk = ECAlgorithm.to_jwk(public_key, as_dict=True)
    public = {name: jwk[name] for name in ("kty", "crv", "x", "y")}
    return {**public, "kid": thumbprint(public), "alg": "ES256", "use": "sig"}


def thumbprint(jwk):
    """RFC 7638: the required members of an EC key, in order, hashed, base64url."""
    canonical = json.dumps({name: jwk[name] for name in ("crv", "kty", "x", "y")},
                           separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def key_id(public_key):
    return thumbprint(ECAlgorithm.to_jwk(public_key, as_dict=True))


def generate():
    """A new P-256 key pair, as PEM text: ``(private, public)``."""
    private = ec.generate_private_key(ec.SECP256R1())
    return private_pem(private), public_pem(private.public_key())


def private_pem(private_key):
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_pem(public_key):
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def development_key(path):
    """The development server's key, kept in the instance folder so that tokens survive
    the reloader's restarts; made on first use, readable by its owner only."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text()
    with os.fdopen(fd, "w") as file:
        file.write(generate()[0])
    return path.read_text()
