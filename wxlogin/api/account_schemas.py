"""Marshmallow schemas of the account's export (``GET /wx/me/export``)."""

from marshmallow import Schema, fields

from .schemas import NoteSchema


class ExportProfileSchema(Schema):
    id = fields.Integer(required=True)
    unionid = fields.String(allow_none=True, required=True)
    nickname = fields.String(allow_none=True, required=True)
    avatar_url = fields.String(allow_none=True, required=True)
    phone_number = fields.String(allow_none=True, required=True)
    login_count = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    last_login_at = fields.DateTime(required=True)


class ExportIdentitySchema(Schema):
    appid = fields.String(required=True)
    openid = fields.String(required=True)
    unionid = fields.String(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)
    last_login_at = fields.DateTime(required=True)


class ExportLoginAttemptSchema(Schema):
    at = fields.DateTime(required=True)
    appid = fields.String(allow_none=True, required=True)
    method = fields.String(required=True, metadata={"description": "code (wx.login) or qr (web login)"})
    outcome = fields.String(required=True, metadata={"description": "ok, or the error slug"})
    client_ip = fields.String(allow_none=True, required=True)
    user_agent = fields.String(allow_none=True, required=True)


class ExportWebLoginSchema(Schema):
    created_at = fields.DateTime(required=True)
    appid = fields.String(required=True)
    status = fields.String(required=True)
    requester_ip = fields.String(required=True)
    requester_user_agent = fields.String(required=True)
    scanned_at = fields.DateTime(allow_none=True, required=True)
    decided_at = fields.DateTime(allow_none=True, required=True)


class ExportSchema(Schema):
    exported_at = fields.DateTime(required=True)
    profile = fields.Nested(ExportProfileSchema, required=True)
    identities = fields.List(fields.Nested(ExportIdentitySchema), required=True,
                             metadata={"description": "Every mini program's identity; never session_key"})
    notes = fields.List(fields.Nested(NoteSchema), required=True)
    login_attempts = fields.List(fields.Nested(ExportLoginAttemptSchema), required=True,
                                 metadata={"description": "Those still kept (AUDIT_RETENTION_DAYS)"})
    web_logins = fields.List(fields.Nested(ExportWebLoginSchema), required=True,
                             metadata={"description": "Web login codes this user scanned, still kept"})
