"""Marshmallow schemas of the web login by QR code (``qr_login``)."""

from marshmallow import Schema, fields, validate

from ..qr_login import STATUSES
from ..validation import Line
from .schemas import UserSchema


class QrCreateSchema(Schema):
    appid = Line(
        validate=validate.Length(1, 32),
        metadata={"description": "Which configured mini program's code; default: the first"},
    )


class QrCodeSchema(Schema):
    ticket = fields.String(required=True, metadata={"description": "The browser's secret: poll with it, never show it"})
    scene = fields.String(required=True, metadata={"description": "What the mini program code carries (32 characters)"})
    qr_code = fields.String(required=True, metadata={"description": "The mini program code, as a data: URL"})
    expires_in = fields.Integer(required=True, metadata={"description": "Seconds the code stays valid"})
    poll_interval = fields.Integer(
        required=True, metadata={"description": "Seconds to pause after a failed poll, or between polls with wait=0"}
    )


class QrPollArgsSchema(Schema):
    wait = fields.Integer(
        load_default=0, validate=validate.Range(0, 30),
        metadata={"description": "Seconds to wait for a change before answering"},
    )


class QrStatusSchema(Schema):
    """A poll's answer; the first "confirmed" one also carries the web session's tokens."""

    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    access_token = fields.String()
    refresh_token = fields.String()
    token_type = fields.String(metadata={"example": "Bearer"})
    expires_in = fields.Integer(metadata={"description": "Access token lifetime, seconds"})
    user = fields.Nested(UserSchema)


class QrSceneSchema(Schema):
    scene = Line(
        required=True, validate=validate.Length(1, 32),
        metadata={"description": "The `scene` the mini program page was opened with"},
    )


class RequesterSchema(Schema):
    ip = fields.String(required=True)
    user_agent = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class QrScannedSchema(Schema):
    status = fields.String(required=True, metadata={"example": "scanned"})
    requester = fields.Nested(RequesterSchema, required=True, metadata={"description": "Who asked: show it before confirming"})
    expires_in = fields.Integer(required=True, metadata={"description": "Seconds left to confirm"})


class QrDecisionSchema(Schema):
    status = fields.String(required=True, metadata={"example": "confirmed"})
