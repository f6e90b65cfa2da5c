"""The language of error messages: Simplified Chinese or English, by ``Accept-Language``
(docs/API.md, "Languages"), through Flask-Babel and the gettext catalogs in ``translations/``.

``messages`` words each sentence once, in English, and that sentence is the msgid; the slug
and the keys of ``details`` never change with the language. After changing a sentence (run
from the repository's root; the test in tests/test_languages.py fails until it is done):

    pybabel extract -k Problem:3 --no-location --no-wrap --project=wxlogin \
        -o wxlogin/translations/messages.pot wxlogin/messages.py
    pybabel update -i wxlogin/translations/messages.pot -d wxlogin/translations --no-wrap
    (translate the new msgstr lines in zh_Hans_CN/LC_MESSAGES/messages.po)
    pybabel compile -d wxlogin/translations
"""

from pathlib import Path

from flask import has_request_context, request
from flask_babel import gettext

# The module, not its babel: extensions imports errors, which imports this module.
from . import extensions

TRANSLATIONS = Path(__file__).with_name("translations")
CHINESE, ENGLISH = "zh_Hans_CN", "en"  # Babel's name for zh_CN
# The tags answered in Simplified Chinese. A mini program writes its language "zh_CN"
# (wx.getAppBaseInfo().language), so "_" is read as "-". zh-TW, zh-HK, zh-Hant: English,
# as the contract says, rather than Simplified to a reader of Traditional characters.
_SIMPLIFIED = {"zh", "zh-cn", "zh-hans", "zh-hans-cn"}


def request_locale():
    """The first language of the request's ``Accept-Language``, by quality, that we
    speak; English when it names none."""
    if not has_request_context():
        return ENGLISH
    for tag, _quality in request.accept_languages:  # werkzeug sorts them by quality
        tag = tag.replace("_", "-").lower()
        if tag in _SIMPLIFIED:
            return CHINESE
        if tag in ("en", "*") or tag.startswith("en-"):
            return ENGLISH
    return ENGLISH


def translate(message, **placeholders):
    """One of ``messages``' sentences in the request's language, its ``{placeholders}``
    filled in after translation (the catalogs keep them as they are)."""
    text = gettext(message)  # no variables: Flask-Babel would %-format them
    return text.format(**placeholders) if placeholders else text


def init_app(app):
    extensions.babel.init_app(
        app,
        default_locale=ENGLISH,
        default_translation_directories=str(TRANSLATIONS),
        locale_selector=request_locale,
    )
