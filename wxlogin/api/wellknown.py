"""The keys other services verify tokens with, and where to find them: the JWKS and a
discovery document (a subset of OpenID Connect Discovery, enough for API gateways and JWT
libraries that find keys through it)."""

from flask import current_app, request

from ..security.signing import ISSUER
from .blueprint import Blueprint
from .schemas import DiscoverySchema, JwksSchema

blp = Blueprint("well-known", __name__, url_prefix="/.well-known",
                description="Keys and discovery, for the product's other services.")

# Verifiers cache the keys this long. So a new key is published (as a "previous" key) at
# least this long before it signs (README, Verifying tokens in your other services), and an
# old one stays published while its tokens live.
CACHE_CONTROL = "public, max-age=300"


def public_url():
    """PUBLIC_URL, else the URL this request reached (behind the trusted proxies)."""
    return current_app.config["PUBLIC_URL"] or request.host_url.rstrip("/")


@blp.get("/jwks.json")
@blp.response(200, JwksSchema, headers={"Cache-Control": {"schema": {"type": "string"}}})
def jwks():
    """The public keys that verify this service's tokens: the current one and every key
    of JWT_PREVIOUS_PUBLIC_KEYS. Empty under HS256: a symmetric key is never published."""
    return {"keys": current_app.extensions["jwks"]}, {"Cache-Control": CACHE_CONTROL}


@blp.get("/openid-configuration")
@blp.response(200, DiscoverySchema)
def openid_configuration():
    """Where the keys and the introspection endpoint are."""
    base = public_url()
    algorithm = current_app.config["JWT_ALGORITHM"]
    # URLs made from the request's Host must not be cached for others (a forged Host would
    # poison a shared cache with another jwks_uri): set PUBLIC_URL.
    caching = CACHE_CONTROL if current_app.config["PUBLIC_URL"] else "no-store"
    return {
        "issuer": ISSUER,
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "introspection_endpoint": f"{base}/oauth/introspect",
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic"],
        "id_token_signing_alg_values_supported": [algorithm],  # what JWT libraries read
    }, {"Cache-Control": caching}
