"""wxlogin as ``wsgi.py`` builds it, with the verified-token memory switched off: every
request verifies its token's signature and claims again, as the first request with a token
does in each process. ``signing_route.py`` serves it to show what the memory saves, and
what ES256 would cost a request without it."""

from wxlogin import create_app


class Forgetful:
    """``VerifiedTokens``'s interface, remembering nothing."""

    def get(self, token):
        return None

    def add(self, token, claims, usable_until):
        pass


app = create_app({"DEBUG": False})
app.extensions["verified_tokens"] = Forgetful()
