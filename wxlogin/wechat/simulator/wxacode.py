"""The simulator's mini program codes: ``POST /wxa/getwxacodeunlimit?access_token=``.

WeChat answers a PNG of a "mini program code", the round code only WeChat reads. The
simulator answers a PNG of an ordinary QR code standing in for it, which any scanner or
decoding library reads: its text is JSON, ``{"appid", "page", "scene", "env_version"}``,
what the real code would open (``page`` ``""`` is the home page), so that a test, or a
person with a phone, can read the scene back.

Body (JSON, whatever the Content-Type): ``scene`` (required: at most 32 of the characters
WeChat allows), ``page`` (optional: a page path, not starting with ``/``, without a query),
``env_version`` (``release``, ``trial`` or ``develop``), ``width`` (280 to 1280 px, default
430; the image is that wide, give or take a module), ``line_color`` (``{"r", "g", "b"}``,
black by default), ``is_hyaline`` (a transparent background). ``check_path`` and
``auto_color`` are accepted and ignored: the simulator knows no pages, and draws in
``line_color``. Refusals as WeChat's: ``41001``/``40001`` a missing/unknown token,
``40169`` no scene or one longer than 32 characters, ``40129`` a character WeChat does
not allow in a scene, ``41030`` an invalid page, ``40097`` another invalid argument.
Scriptable through ``/simulator/fail`` as ``getwxacodeunlimit``.
"""

import io
import json
import re

from .wire import error

SCENE_CHARACTERS = re.compile(r"[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]*")
PAGE = re.compile(r"[0-9A-Za-z_\-.]+(?:/[0-9A-Za-z_\-.]+)*")
ENV_VERSIONS = ("release", "trial", "develop")
BORDER = 4  # modules of quiet zone around the code: what scanners need to find it


class WxaCodes:
    """Mixed into ``Simulator`` (``rules``), which provides ``_app_calling`` (``server_apis``)."""

    def wxa_code_unlimited(self, args, body):
        appid, refusal = self._app_calling("getwxacodeunlimit", args)
        if refusal is not None:
            return refusal
        scene = body.get("scene")
        if isinstance(scene, int) and not isinstance(scene, bool):
            scene = str(scene)  # WeChat takes a number for a scene, as its text
        if not isinstance(scene, str) or not scene or len(scene) > 32:
            return error(40169, "invalid length for scene, or the data is not json string")
        if not SCENE_CHARACTERS.fullmatch(scene):
            return error(40129, "invalid scene")
        page = body.get("page") or ""
        if not isinstance(page, str) or (page and not PAGE.fullmatch(page)):
            return error(41030, "invalid page")
        env_version = body.get("env_version") or "release"
        width, color = _width(body.get("width", 430)), _color(body.get("line_color"))
        if env_version not in ENV_VERSIONS or width is None or color is None:
            return error(40097, "invalid args")
        text = json.dumps({"appid": appid, "page": page, "scene": scene, "env_version": env_version})
        return _png(text, width, color, transparent=bool(body.get("is_hyaline")))


def _width(value):
    """The width in px, within WeChat's 280 to 1280; None when it is not a number."""
    try:
        width = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return min(max(width, 280), 1280)


def _color(value):
    """``line_color`` as segno takes it, an (r, g, b) tuple; None when it is not a colour.
    SDKs send the numbers as text too (wechatpy: ``{"r": "0", ...}``)."""
    if value is None:
        return (0, 0, 0)
    try:
        rgb = tuple(int(value[channel]) for channel in "rgb")
    except (TypeError, KeyError, ValueError):
        return None
    return rgb if all(0 <= c <= 255 for c in rgb) else None


def _png(text, width, color, transparent):
    # Imported here: every app imports the simulator (wechat.client), production too, which
    # never draws a code and need not load the library.
    import segno

    qr = segno.make_qr(text, error="m")
    modules, _ = qr.symbol_size(scale=1, border=BORDER)
    out = io.BytesIO()
    qr.save(out, kind="png", scale=max(1, width // modules), border=BORDER, dark=color,
            light=None if transparent else "white")
    return out.getvalue()
