"""How routes are declared: flask-smorest's Blueprint with our body and token rules."""

from http import HTTPStatus

from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint as SmorestBlueprint

from ..overrides import StrictJsonParser

TOKEN_SECURITY = [{"Authentication": []}, {"Bearer": []}]


class Blueprint(SmorestBlueprint):
    ARGUMENTS_PARSER = StrictJsonParser()

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

        The check itself, from the header to the user, is ``security.token_check``.
        """

        def decorate(view):
            view = jwt_required(refresh=refresh)(view)
            view = self.alt_response(401, response="UNAUTHORIZED")(view)
            return self.doc(security=TOKEN_SECURITY)(view)

        return decorate(func) if func else decorate
