"""Marshmallow schemas: request validation, response shapes and the OpenAPI document."""

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates_schema,
)

from ..validation import Line, ProfileSchema, Text

# --- errors ----------------------------------------------------------------------------


class ErrorSchema(Schema):
    error = fields.String(required=True, metadata={"description": "Machine-readable slug (API.md)"})
    message = fields.String(required=True, metadata={"description": "What to do about it"})
    details = fields.Dict(metadata={"description": "Field errors, by field name"})


# --- auth ------------------------------------------------------------------------------


class LoginSchema(Schema):
    """``POST /wx/login``. Unknown fields (``secret``, ``grant_type`` from older clients) are
    dropped unread: only the server's configured secret is ever used."""

    class Meta:
        unknown = EXCLUDE

    code = Line(
        required=True,
        validate=validate.Length(1, 256),
        error_messages={"required": "Send the wx.login() code as `code` (or `js_code`)."},
        metadata={"description": "The code from wx.login()"},
    )
    js_code = Line(
        load_only=True,
        validate=validate.Length(1, 256),
        metadata={"description": "Alias of `code`, as the seed client sends it"},
    )
    appid = Line(
        validate=validate.Length(1, 32),
        metadata={"description": "Which configured mini program; default: the first"},
    )

    @pre_load
    def _alias_js_code(self, data, **kwargs):
        if isinstance(data, dict) and "code" not in data and "js_code" in data:
            data = {**data, "code": data["js_code"]}
        return data


class UserSchema(Schema):
    id = fields.Integer(required=True)
    openid = fields.String(required=True)
    unionid = fields.String(allow_none=True, required=True)
    nickname = fields.String(allow_none=True, required=True)
    avatar_url = fields.String(allow_none=True, required=True)
    phone_number = fields.String(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)
    last_login_at = fields.DateTime(required=True)


class TokenSchema(Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = fields.Integer(required=True, metadata={"description": "Access token lifetime, seconds"})
    user = fields.Nested(UserSchema, required=True)


class LoginResultSchema(TokenSchema):
    is_new_user = fields.Boolean(required=True)


class LogoutArgsSchema(Schema):
    all = fields.Boolean(load_default=False, metadata={"description": "Log out every session"})


class RevokedSchema(Schema):
    revoked = fields.Boolean(required=True)


# --- data ------------------------------------------------------------------------------


class UserPatchSchema(ProfileSchema):  # PATCH /wx/me: the profile's own rules
    pass


class NoteSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    content = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class NoteCreateSchema(Schema):
    title = Line(required=True, validate=validate.Length(1, 200))
    content = Text(load_default="", validate=validate.Length(0, 10000))


class NotePatchSchema(Schema):
    title = Line(validate=validate.Length(1, 200))
    content = Text(validate=validate.Length(0, 10000))


class PageArgsSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class NotePageSchema(Schema):
    notes = fields.List(fields.Nested(NoteSchema), required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)


class FindSomeSchema(Schema):
    user = fields.Nested(UserSchema, required=True)
    notes = fields.List(fields.Nested(NoteSchema), required=True)


class DeletedSchema(Schema):
    deleted = fields.Boolean(required=True)


class PhoneCodeSchema(Schema):
    code = Line(
        required=True,
        validate=validate.Length(1, 256),
        metadata={"description": "The code from the getPhoneNumber button's event"},
    )


class PhoneNumberSchema(Schema):
    phone_number = fields.String(required=True)
    pure_phone_number = fields.String(required=True)
    country_code = fields.String(required=True)


class UserInfoSchema(Schema):
    encrypted_data = Line(required=True, validate=validate.Length(1, 20000))
    iv = Line(required=True, validate=validate.Length(1, 64))
    raw_data = Text(validate=validate.Length(max=10000), metadata={"description": "With `signature`"})
    signature = Line(validate=validate.Length(1, 64), metadata={"description": "sha1(raw_data + session_key)"})

    @validates_schema
    def _signed_together(self, data, **kwargs):
        if ("raw_data" in data) != ("signature" in data):
            raise ValidationError("Send raw_data and signature together, or neither.", "signature")


class SessionCheckSchema(Schema):
    valid = fields.Boolean(required=True, metadata={"description": "false: log in again"})


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})


class ReadySchema(HealthSchema):
    database = fields.String(required=True, metadata={"example": "ok"})
    redis = fields.String(required=True, metadata={"example": "ok", "description": "ok, or not configured"})


# --- tokens for other services ---------------------------------------------------------


class JwkSchema(Schema):
    kty = fields.String(required=True, metadata={"example": "EC"})
    crv = fields.String(required=True, metadata={"example": "P-256"})
    x = fields.String(required=True)
    y = fields.String(required=True)
    kid = fields.String(required=True, metadata={"description": "RFC 7638 thumbprint"})
    alg = fields.String(required=True, metadata={"example": "ES256"})
    use = fields.String(required=True, metadata={"example": "sig"})


class JwksSchema(Schema):
    keys = fields.List(fields.Nested(JwkSchema), required=True)


class DiscoverySchema(Schema):
    issuer = fields.String(required=True)
    jwks_uri = fields.String(required=True)
    introspection_endpoint = fields.String(required=True)
    introspection_endpoint_auth_methods_supported = fields.List(fields.String())
    id_token_signing_alg_values_supported = fields.List(fields.String())


class IntrospectArgsSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # RFC 7662 lets a caller send extension parameters

    token = fields.String(required=True, validate=validate.Length(min=1, max=4096))
    token_type_hint = fields.String(validate=validate.Length(max=64))


class IntrospectionSchema(Schema):
    active = fields.Boolean(required=True)
    sub = fields.String()
    exp = fields.Integer()
    iat = fields.Integer()
    iss = fields.String()
    aud = fields.String()
    jti = fields.String()
    sid = fields.String()
    token_type = fields.String(metadata={"example": "access_token"})
