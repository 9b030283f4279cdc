"""Who is asking and whether they may: login sessions (signed cookies), roles, CSRF tokens, security headers.

Sessions are Starlette's signed cookies (itsdangerous) that name a login_session row by a random secret (only
its digest is stored): signing out or disabling the account ends the row, so a copied cookie opens nothing after
that. A session idle for longer than SESSION_IDLE ends (the signed cookie carries its last-seen time, so the
browser can be told why); the cookie itself stops verifying after SESSION_MAX_AGE. Idle time is the real clock
(config.clock.real_now), not the business clock: a demo standing on a past day still signs people out.
CSRF uses a per-session synchronizer token that every form carries and every POST must echo.
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

from config import clock
from config.private_files import private_dir
from config.settings import get_settings
from models.account import Account
from models.accounts import account_for_login, end_login_session, open_login_session
from models.db import read_session, session_scope
from models.enums import AccountRole
from models.errors import ConsultrackError, ErrorCode

SESSION_COOKIE = "consultrack_session"
SESSION_IDLE = 8 * 3600
"""A working day: a forgotten browser on a shared office machine does not stay signed in overnight."""
SESSION_MAX_AGE = 14 * 24 * 3600
CSRF_FIELD = "csrf_token"
LOGIN_KEY = "login"


class LoginRequired(Exception):
    """The page needs a signed-in account; the handler sends the browser to the login page."""

    def __init__(self, expired: bool) -> None:
        self.expired = expired


class Forbidden(ConsultrackError):
    http_status = 403
    code = ErrorCode.FORBIDDEN


class Unauthorized(ConsultrackError):
    http_status = 401
    code = ErrorCode.UNAUTHORIZED


class CsrfFailed(Exception):
    pass


def session_secret() -> str:
    """The configured secret, else one generated once and kept (owner-only) in the data directory, so that a
    restart does not sign everybody out."""
    settings = get_settings()
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value()
    path = Path(settings.data_dir) / "session-secret"
    if not path.exists():
        # Written aside, then linked into place: two replicas starting at once on one data directory agree on
        # one secret, and neither can read a file that exists but is still empty.
        private_dir(path.parent)
        draft = path.with_name(f".session-secret.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    secret = path.read_text().strip()
    if len(secret) < 32:
        raise RuntimeError(f"{path} holds no usable session secret (at least 32 characters); delete it to make one")
    return secret


def current_account(request: Request) -> Account | None:
    if "account" in request.state.__dict__:
        return request.state.account
    account: Account | None = None
    secret = request.session.get(LOGIN_KEY)
    seen = request.session.get("seen")
    now = clock.real_now().timestamp()
    if isinstance(secret, str) and (not isinstance(seen, float | int) or now - seen > request.app.state.session_idle):
        request.session.clear()
        request.state.expired = True
        secret = None
    if isinstance(secret, str):
        with read_session() as session:
            account = account_for_login(session, secret)
        if account is None:
            request.session.clear()
        else:
            request.session["seen"] = int(now)
    request.state.account = account
    return account


def require_account(request: Request) -> Account:
    account = current_account(request)
    if account is None:
        raise LoginRequired(expired=getattr(request.state, "expired", False))
    return account


def require_admin(request: Request) -> Account:
    account = require_account(request)
    if account.role is not AccountRole.ADMIN:
        raise Forbidden(
            f"your account ({account.username}) is a viewer: it may look but not change anything. "
            "Ask an administrator of the secretariat."
        )
    return account


SignedIn = Annotated[Account, Depends(require_account)]
"""A page for any signed-in account; without one, the browser goes to the login page."""
AdminOnly = Annotated[Account, Depends(require_admin)]
"""A page for administrators only (a viewer is refused with 403)."""


async def _posting_admin(request: Request, _: SignedIn) -> Account:
    """Signed in first (else the login page), then the form's CSRF token, then the role: a forged form is refused
    as forged, whoever sends it."""
    form = await request.form()  # Starlette keeps the parsed form: the handler reads it again for free
    check_csrf(request, form.get(CSRF_FIELD))
    return require_admin(request)


AdminPost = Annotated[Account, Depends(_posting_admin)]
"""A form posted by an administrator, with its CSRF token checked."""


def sign_in(request: Request, account: Account) -> None:
    """A fresh session on login (no fixation): the old contents, CSRF token included, are dropped."""
    now = clock.real_now()
    with session_scope() as session:
        secret = open_login_session(session, account, now=now)
    request.session.clear()
    request.session[LOGIN_KEY] = secret
    request.session["seen"] = int(now.timestamp())
    request.session[CSRF_FIELD] = secrets.token_urlsafe(32)


def sign_out(request: Request) -> None:
    secret = request.session.get(LOGIN_KEY)
    if isinstance(secret, str):
        with session_scope() as session:
            end_login_session(session, secret, now=clock.real_now())
    request.session.clear()


def csrf_token(request: Request) -> str:
    token = request.session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return token


def check_csrf(request: Request, submitted: object) -> None:
    expected = request.session.get(CSRF_FIELD)
    if (
        not isinstance(expected, str)
        or not isinstance(submitted, str)
        or not hmac.compare_digest(expected.encode(), submitted.encode())
    ):
        raise CsrfFailed()


def flash(request: Request, kind: str, text: str) -> None:
    request.session.setdefault("flash", []).append({"kind": kind, "text": text})


def pop_flashes(request: Request) -> list[dict[str, str]]:
    return request.session.pop("flash", [])


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
"""No script may run on any page: the dashboard has none, so injected markup could not run any either.
(Style attributes place the Gantt bars; they cannot run code.)"""
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'"
)
"""The API's documentation pages: Swagger UI and ReDoc, served from this site (fastapi-offline), never a CDN."""


class SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if get_settings().base_url.startswith("https://"):
            # Browsers that reached us over https keep to it for a year: no downgrade to plain http on a later visit.
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        docs = request.url.path in ("/docs", "/redoc")
        response.headers.setdefault("Content-Security-Policy", DOCS_CSP if docs else PAGE_CSP)
        if response.headers.get("content-type", "").startswith("text/html"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
