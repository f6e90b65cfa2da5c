"""How routes are declared: flask-smorest's Blueprint with our body and token rules."""

from http import HTTPStatus

from flask import current_app
from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint as SmorestBlueprint
from webargs.flaskparser import FlaskParser, is_json_request

from ..errors import ApiError

TOKEN_SECURITY = [{"Authentication": []}, {"Bearer": []}]


class JsonBodyParser(FlaskParser):
    """webargs' JSON loading, made strict about what it is given.

    - a body sent as, say, text/plain is an error, not "no body at all";
    - JSON that Python cannot load (nesting deeper than the recursion limit, integers of
      thousands of digits) is a 400, not a 500;
    - a chunked body is cut at MAX_CONTENT_LENGTH by werkzeug without a word: one byte
      more makes it raise 413, as a body announced too long does;
    - a body that cannot be read (bad chunked encoding, a client that stopped sending and
      timed out, or went away) is a 400, not a 500.
    """

    def _raw_load_json(self, req):
        data = _read_body(req)
        if data and not is_json_request(req):
            raise ApiError(
                400, "invalid_request", "Send the body as JSON, with Content-Type: application/json."
            )
        try:
            return super()._raw_load_json(req)
        except (ValueError, RecursionError):
            raise ApiError(400, "invalid_request", "The body is not valid JSON.") from None


def _read_body(req):
    try:
        data = req.get_data(cache=True)
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        if limit and len(data) >= limit:
            req.stream.read(1)  # raises RequestEntityTooLarge past a chunked body's limit
        return data
    except (OSError, *_SERVER_PARSE_ERRORS):
        raise ApiError(400, "invalid_request", "The body could not be read: send it whole, as JSON.") from None


try:  # what gunicorn raises while the app reads a malformed (e.g. chunked) body
    from gunicorn.http.errors import ParseException

    _SERVER_PARSE_ERRORS = (ParseException,)
except ImportError:
    _SERVER_PARSE_ERRORS = ()


class Blueprint(SmorestBlueprint):
    ARGUMENTS_PARSER = JsonBodyParser()

    def arguments(self, schema, *, location="json", **kwargs):
        """smorest's ``arguments``; a JSON body also documents its 400 and 413 answers."""
        parse = super().arguments(schema, location=location, **kwargs)
        if location != "json":
            return parse

        def decorate(view):
            view = parse(view)
            for status in (HTTPStatus.BAD_REQUEST, HTTPStatus.REQUEST_ENTITY_TOO_LARGE):
                view = self.alt_response(status.value, response=status.name)(view)
            return view

        return decorate

    def token_required(self, func=None, *, refresh=False):
        """``jwt_required`` plus its OpenAPI documentation (security schemes, 401 answer).

        The token itself is read from API.md's headers by ``wxlogin.tokens``.
        """

        def decorate(view):
            view = jwt_required(refresh=refresh)(view)
            view = self.alt_response(401, response="UNAUTHORIZED")(view)
            return self.doc(security=TOKEN_SECURITY)(view)

        return decorate(func) if func else decorate
