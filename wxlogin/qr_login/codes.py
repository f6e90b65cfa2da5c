"""A web login's code: its secrets, its image from WeChat, its row, and finding it again.

The *ticket* is the browser's secret (256 random bits): only its SHA-256 is stored, so a
copy of the table collects nothing. The *scene* is what the mini program code carries (at
most 32 characters, WeChat's limit): 192 random bits in URL-safe base64, characters WeChat
accepts in a scene. Neither can be derived from the other.
"""

import base64
import hashlib
import logging
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, request
from sqlalchemy.exc import SQLAlchemyError

from .. import messages
from ..accounts.login import configured_appid
from ..database.upkeep import Every
from ..errors import ApiError
from ..extensions import db
from ..models import QrLogin, utcnow
from ..wechat.app_token import call_with_app_token
from ..wechat.client import wechat_client
from ..wechat.errors import WeChatError

log = logging.getLogger(__name__)

POLL_INTERVAL = 1  # seconds a browser pauses after a failed poll (or between polls without wait)
INVALID_PAGE = 41030  # WeChat: the page is not in the released mini program
KEEP_EXPIRED = timedelta(days=1)  # rows are purged this long after their code expired
_purge_due = Every(600)


def create_code(appid=None):
    """A new code for the browser making this request: the answer of ``POST /wx/qr-login``."""
    config = current_app.config
    appid = configured_appid(wechat_client(), appid)
    ticket, scene = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    qr_code = _data_url(_image(appid, scene, config["QR_LOGIN_PAGE"], config["QR_LOGIN_ENV_VERSION"]))
    now = utcnow()
    ttl = config["QR_LOGIN_TTL"]
    db.session.add(QrLogin(
        ticket_hash=ticket_hash(ticket), scene=scene, appid=appid,
        requester_ip=(request.remote_addr or "")[:64],
        requester_agent=request.headers.get("User-Agent", "")[:256],
        created_at=now, expires_at=now + timedelta(seconds=ttl),
    ))
    db.session.commit()
    _purge_now_and_then()
    return {"ticket": ticket, "scene": scene, "qr_code": qr_code, "expires_in": ttl,
            "poll_interval": POLL_INTERVAL}


def ticket_hash(ticket):
    return hashlib.sha256(ticket.encode()).hexdigest()


def by_ticket(ticket):
    """The code of a browser's ticket, read afresh; 404 ``not_found`` for an unknown one."""
    code = _fresh(QrLogin.ticket_hash == ticket_hash(ticket)) if len(ticket) <= 64 else None
    if code is None:
        raise ApiError(messages.QR_TICKET_UNKNOWN)
    return code


def by_scene(scene, appid):
    """The code a mini program of ``appid`` scanned; 404 ``qr_not_found`` for an unknown
    scene, or one made for another mini program (which could not have opened it)."""
    code = _fresh(QrLogin.scene == scene)
    if code is None or code.appid != appid:
        raise ApiError(messages.QR_NOT_FOUND)
    return code


def _fresh(condition):
    return db.session.scalar(
        sa.select(QrLogin).where(condition).execution_options(populate_existing=True)
    )


def _image(appid, scene, page, env_version):
    client = wechat_client()
    try:
        return call_with_app_token(
            appid, lambda token: client.wxa_code_unlimited(token, scene, page, env_version)
        )
    except WeChatError as error:
        if error.errcode == INVALID_PAGE:
            log.error(
                "WeChat does not know QR_LOGIN_PAGE %r in the %s version of %s: release the page, "
                "or set QR_LOGIN_ENV_VERSION to trial or develop", page, env_version, appid,
            )
        raise


def _data_url(image):
    """The image as a data: URL of its real type (WeChat may send a PNG or a JPEG)."""
    for magic, kind in ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg")):
        if image.startswith(magic):
            return f"data:image/{kind};base64,{base64.b64encode(image).decode()}"
    log.error("WeChat getwxacodeunlimit answered an image that is neither a PNG nor a JPEG")
    raise WeChatError(messages.WECHAT_UNEXPECTED)


def _purge_now_and_then():
    """Forget codes a day after they expired, at most every 10 minutes per process."""
    if not _purge_due.due():
        return
    try:
        db.session.execute(sa.delete(QrLogin).where(QrLogin.expires_at < utcnow() - KEEP_EXPIRED))
        db.session.commit()
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.error("old web login codes not purged: %s", type(exc).__name__)
