"""One rule per field, for the HTTP schemas (``api/schemas``) and for the services that take
the same fields from elsewhere (``accounts/profile``: WeChat's encrypted user data).

Text fields refuse what no database can keep (NUL, lone surrogates) and stray control
characters; the same rules are JSON-schema patterns, so that /openapi.json says what is
refused.
"""

import unicodedata

from marshmallow import Schema, ValidationError, fields, validate


def _storable(value, *, multiline):
    """Refuse text no database can keep (NUL, lone surrogates) and stray control characters."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("Must be valid Unicode text.") from None
    allowed = "\t\n\r" if multiline else ""
    if any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in value):
        raise ValidationError("Must not contain control characters.")


# The same rules as JSON-schema patterns, so that /openapi.json says what is refused.
LINE_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
TEXT_PATTERN = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"

HTTP_URL = r"^https?://[^\s\x00-\x1f\x7f-\x9f]+$"
HTTP_URL_PATTERN = "^https?://[^\\s\\u0000-\\u001f\\u007f-\\u009f]+$"


class _StorableText(fields.String):
    multiline = False
    pattern = LINE_PATTERN

    def __init__(self, **kwargs):
        kwargs["metadata"] = {"pattern": self.pattern, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        _storable(value, multiline=self.multiline)
        return value


class Line(_StorableText):
    """One line of text: no control characters."""


class Text(_StorableText):
    """Free text: newlines and tabs allowed, other control characters not."""

    multiline = True
    pattern = TEXT_PATTERN


NICKNAME_LENGTH = 64


class ProfileSchema(Schema):
    """What a user may set about themselves."""

    nickname = Line(allow_none=True, validate=validate.Length(1, NICKNAME_LENGTH))
    avatar_url = Line(
        allow_none=True,
        validate=[validate.Length(max=1024), validate.Regexp(HTTP_URL)],
        metadata={"pattern": HTTP_URL_PATTERN, "description": "An http(s) URL"},
    )
