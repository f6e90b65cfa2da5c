"""Verify a wxlogin access token in another Python service, then ask wxlogin whether it is
still active. Needs PyJWT with its crypto extra, and requests:

    pip install 'PyJWT[crypto]>=2.8' requests

    WXLOGIN_URL=https://login.internal WXLOGIN_AUDIENCE=wx0123456789abcdef \\
    INTROSPECTION_CLIENT_ID=orders INTROSPECTION_CLIENT_SECRET=... \\
    python verify.py "$ACCESS_TOKEN"

The token is the first argument, or ACCESS_TOKEN when there is none. Exit status: 0 verified
and active; 1 refused (signature, issuer, audience, expiry, token type) or any other error;
2 a setting is missing; 3 verified here, but wxlogin says it is no longer active (logged out,
revoked, its user disabled).
"""

import os
import sys
from datetime import datetime, timezone

import jwt
import requests

ISSUER = "wxlogin"  # every token's iss
LEEWAY = 30  # seconds of clock skew between hosts, as wxlogin itself allows
SETTINGS = ("WXLOGIN_URL", "WXLOGIN_AUDIENCE", "INTROSPECTION_CLIENT_ID", "INTROSPECTION_CLIENT_SECRET")


class Refused(Exception):
    """The token is not one of wxlogin's access tokens for this audience."""


def verify(token, jwks, audience):
    """The claims of ``token`` once its signature (by the JWKS key its ``kid`` names), iss,
    aud, exp and nbf check out; raises Refused otherwise."""
    try:
        # Looks the kid up in the cached JWKS, fetching it again once for a kid it has not
        # seen (a rotated key); an unknown kid is refused, never tried against another key.
        key = jwks.get_signing_key_from_jwt(token)
        claims = jwt.decode(
            token, key.key,
            algorithms=["ES256"],  # only ES256: never "none", never HS256 with the public key
            issuer=ISSUER, audience=audience, leeway=LEEWAY,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
    except jwt.PyJWKClientConnectionError:
        raise  # wxlogin did not answer: not the token's fault
    except jwt.PyJWTError as error:
        raise Refused(f"{type(error).__name__}: {error}") from None
    # A refresh token is signed by the same key for the same audience: accept access tokens only.
    if claims.get("type") != "access":
        raise Refused(f"not an access token (type {claims.get('type')!r})")
    return claims


def introspect(base, token, client_id, client_secret):
    """RFC 7662: wxlogin's own answer, which sees logouts and revocations at once."""
    response = requests.post(f"{base}/oauth/introspect", data={"token": token},
                             auth=(client_id, client_secret), timeout=5)
    response.raise_for_status()  # 401: the client id or secret is wrong
    return response.json()


def main():
    missing = [name for name in SETTINGS if not os.environ.get(name)]
    token = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("ACCESS_TOKEN")
    if missing or not token:
        print(f"usage: verify.py ACCESS_TOKEN, with {', '.join(SETTINGS)} set"
              f" (missing: {', '.join(missing) or 'the token'})", file=sys.stderr)
        return 2
    base, audience, client_id, client_secret = (os.environ[name] for name in SETTINGS)
    base = base.rstrip("/")

    # Make one client per process and keep it: it caches the keys (300 s, as the JWKS's
    # Cache-Control says) instead of fetching them for every request.
    jwks = jwt.PyJWKClient(f"{base}/.well-known/jwks.json", lifespan=300, timeout=5)
    try:
        claims = verify(token, jwks, audience)
    except Refused as error:
        print(f"token refused: {error}", file=sys.stderr)
        return 1
    except jwt.PyJWKClientConnectionError as error:
        print(f"cannot fetch wxlogin's keys: {error}", file=sys.stderr)
        return 1
    kid = jwt.get_unverified_header(token)["kid"]
    expires = datetime.fromtimestamp(claims["exp"], timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    print(f"token verified (kid {kid}), expires {expires}")
    print(f"sub: {claims['sub']}")

    try:
        answer = introspect(base, token, client_id, client_secret)
    except requests.RequestException as error:
        print(f"introspection failed: {error}", file=sys.stderr)
        return 1
    print(f"active: {'true' if answer.get('active') is True else 'false'}")
    if answer.get("active") is not True:
        print("wxlogin says the token is no longer active (logged out, revoked, or its user disabled)",
              file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
