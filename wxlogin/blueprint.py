"""How routes are declared: flask-smorest's Blueprint with our body and token rules."""

from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint as SmorestBlueprint
from webargs.flaskparser import FlaskParser, is_json_request

from .errors import ApiError


class JsonBodyParser(FlaskParser):
    """webargs reads a body sent as, say, text/plain as "no body at all"; say what is wrong."""

    def _raw_load_json(self, req):
        if req.get_data(cache=True) and not is_json_request(req):
            raise ApiError(
                400, "invalid_request", "Send the body as JSON, with Content-Type: application/json."
            )
        return super()._raw_load_json(req)


class Blueprint(SmorestBlueprint):
    ARGUMENTS_PARSER = JsonBodyParser()

    def token_required(self, func=None, *, refresh=False):
        """``jwt_required`` plus its OpenAPI documentation (security scheme, 401 answer).

        The token itself is read from API.md's headers by ``wxlogin.tokens``.
        """

        def decorate(view):
            view = jwt_required(refresh=refresh)(view)
            view = self.alt_response(401, response="UNAUTHORIZED")(view)
            return self.doc(security=[{"Authentication": []}])(view)

        return decorate(func) if func else decorate
