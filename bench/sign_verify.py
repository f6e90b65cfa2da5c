"""One token signed, one verified: ES256 against HS256, in one process, side by side.

Two apps are built in this process as the service builds itself (``create_app``), one with
``JWT_PRIVATE_KEY`` (ES256) and one with ``JWT_SECRET_KEY`` (HS256), and each operation is
timed on both, interleaved (round 1: HS ES, round 2: HS ES, ...). Each figure is the median
of the rounds in µs per operation; each ratio is the median of the rounds' own ES256/HS256
ratios (both sides of a ratio measured within the same second).

- ``sign``: ``create_access_token`` as ``login_sessions.issue_tokens`` calls it (a login
  makes two: access and refresh), with the service's claims (``sub``, ``sid``, ``gen``,
  ``aud``, ``iss``, ``jti``, ``type``...) and ``kid`` header;
- ``verify``: flask-jwt-extended's decode with the service's settings (the ``kid`` lookup,
  one algorithm, ``iss``, ``aud``, leeway), i.e. what a token costs the first time a process
  sees it (``JWTManager._decode_jwt_from_config``, the method ``CachingJWTManager`` wraps);
- ``verify, cached``: the same call through ``CachingJWTManager`` once the token is in
  ``verified_tokens``: what every later request with that token pays;
- ``PyJWT ...``: ``jwt.encode`` / ``jwt.decode`` alone with the same claims and header, the
  crypto and JSON without Flask; ``sign (key object)`` passes the parsed key, where
  flask-jwt-extended passes the PEM text and PyJWT parses it on every signature.

No database, Redis or network is touched (an in-memory SQLite URL satisfies the app).

    .venv/bin/python bench/sign_verify.py                  # ~20 s
    .venv/bin/python bench/sign_verify.py --rounds 3 --ops 200   # a smoke test
"""

import argparse
import base64
import gc
import json
import os
import statistics
import time

for _name in list(os.environ):  # the service's own variables must not leak into these apps
    if _name.startswith(("WX_", "JWT_", "FLASK_", "LOGIN_", "SESSION_KEY_")) or _name in ("DATABASE_URL", "REDIS_URL"):
        del os.environ[_name]

import jwt as pyjwt  # noqa: E402  (after the environment is set)
from flask_jwt_extended import JWTManager, create_access_token, decode_token  # noqa: E402

from wxlogin import create_app  # noqa: E402
from wxlogin.extensions import jwt as jwt_manager  # noqa: E402
from wxlogin.security import keys  # noqa: E402
from wxlogin.security.signing import ISSUER  # noqa: E402

APPID = "wxbench000000001"
CLAIMS = {"sid": "0" * 32, "gen": 0, "aud": APPID}  # login_sessions.issue_tokens's claims
SESSION_KEYS = [base64.urlsafe_b64encode(b"s" * 32).decode()]  # production needs them with ES256


def make_app(**signing):
    return create_app({
        "DEBUG": False, "TESTING": False, "SQLALCHEMY_DATABASE_URI": "sqlite://", "REDIS_URL": None,
        "WX_APPS": {APPID: "bench-secret"}, "SESSION_KEY_ENCRYPTION_KEYS": SESSION_KEYS, **signing,
    })


class Side:
    """One algorithm's app, a token it signed, and each operation as a callable."""

    def __init__(self, name, app):
        self.name, self.app = name, app
        self.context = app.app_context()
        with self.context:
            self.token = self.sign()
            self.claims = decode_token(self.token)  # also puts it in the verified-token cache
            algorithm = app.config["JWT_ALGORITHM"]
            kid = app.extensions["jwt_kid"]
            if algorithm == "ES256":
                pem = app.config["JWT_PRIVATE_KEY"]
                private = keys.load_private_key(pem)
                verify_key = private.public_key()
            else:
                pem = private = verify_key = app.config["JWT_SECRET_KEY"]
        payload = {k: v for k, v in self.claims.items()}
        headers = {"kid": kid}
        self.operations = {
            "sign": self.sign,
            "verify": lambda: JWTManager._decode_jwt_from_config(jwt_manager, self.token),
            "verify, cached": lambda: decode_token(self.token),
            "PyJWT sign": lambda: pyjwt.encode(payload, pem, algorithm=algorithm, headers=headers),
            "PyJWT sign (key object)": lambda: pyjwt.encode(payload, private, algorithm=algorithm,
                                                            headers=headers),
            "PyJWT verify": lambda: pyjwt.decode(self.token, verify_key, algorithms=[algorithm],
                                                 audience=APPID, issuer=ISSUER, leeway=30),
        }

    def sign(self):
        return create_access_token(identity="1", additional_claims=CLAIMS)

    def time(self, operation, ops):
        """µs per call of ``operation``, over ``ops`` calls, inside this side's app."""
        call = self.operations[operation]
        with self.app.app_context():
            call()  # warm
            gc.disable()
            try:
                start = time.perf_counter_ns()
                for _ in range(ops):
                    call()
                elapsed = time.perf_counter_ns() - start
            finally:
                gc.enable()
        return elapsed / ops / 1000


def measure(rounds=15, ops=2000):
    hs = Side("HS256", make_app(JWT_SECRET_KEY="bench-signing-key-" + "b" * 40))
    es = Side("ES256", make_app(JWT_PRIVATE_KEY=keys.generate()[0]))
    assert pyjwt.get_unverified_header(es.token)["alg"] == "ES256"
    assert pyjwt.get_unverified_header(hs.token)["alg"] == "HS256"
    assert set(es.claims) == set(hs.claims), (es.claims, hs.claims)
    samples = {op: {"HS256": [], "ES256": [], "ratio": []} for op in hs.operations}
    for index in range(rounds):
        for op in hs.operations:
            first, second = (hs, es) if index % 2 == 0 else (es, hs)  # neither always goes first
            times = {first.name: first.time(op, ops), second.name: second.time(op, ops)}
            for name, value in times.items():
                samples[op][name].append(value)
            samples[op]["ratio"].append(times["ES256"] / times["HS256"])
    results = {
        op: {key: statistics.median(values) for key, values in figures.items()}
        for op, figures in samples.items()
    }
    for algorithm in ("HS256", "ES256"):  # what the cache saves on each later request
        results["verify, cached"][f"{algorithm} vs uncached"] = statistics.median(
            c / u for c, u in zip(samples["verify, cached"][algorithm], samples["verify"][algorithm], strict=True)
        )
    results["token bytes"] = {"HS256": len(hs.token), "ES256": len(es.token)}
    results["claims"] = sorted(es.claims)
    results["rounds"], results["ops per round"] = rounds, ops
    return results


def report(results):
    print(f"{'µs per operation (median of rounds)':38s} {'HS256':>8s} {'ES256':>8s} {'ES/HS':>7s}")
    for op, row in results.items():
        if isinstance(row, dict) and "ratio" in row:
            print(f"{op:38s} {row['HS256']:8.1f} {row['ES256']:8.1f} {row['ratio']:7.2f}")
    cached = results["verify, cached"]
    print(f"cached verify / uncached verify: HS256 {cached['HS256 vs uncached']:.3f}, "
          f"ES256 {cached['ES256 vs uncached']:.3f}")
    print(f"token length: HS256 {results['token bytes']['HS256']} B, ES256 {results['token bytes']['ES256']} B")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--ops", type=int, default=2000, help="calls per timing")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    measured = measure(args.rounds, args.ops)
    print(json.dumps(measured, indent=2)) if args.json else report(measured)
