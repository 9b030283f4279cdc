"""Signing in and out: the login form, with a throttle (models/accounts.py) and never an open redirect."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, Response

from consultrack.web.inputs import clean_text
from consultrack.web.rendering import render, see_other
from consultrack.web.security import CSRF_FIELD, check_csrf, flash, sign_in, sign_out
from models.errors import ConsultrackError, InvalidInput

router = APIRouter()


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> Response:  # noqa: A002 - the conventional name
    return render(request, "login.html", {"next": _safe_next(next)})


def _safe_next(target: str) -> str:
    """Only paths on this site: never an open redirect to another host."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    form = await request.form()
    target = _safe_next(str(form.get("next") or "/"))
    check_csrf(request, form.get(CSRF_FIELD))
    from models.accounts import attempt_sign_in

    try:
        username = clean_text(form.get("username"), "the username", required=True, limit=64) or ""
        password = form.get("password")
        if not isinstance(password, str) or not password or len(password) > 1024:
            raise InvalidInput("the password is required")
        # argon2 takes a quarter of a second: in a worker thread, so other requests go on meanwhile. The client is
        # the connecting address, or the one a trusted proxy names (CONSULTRACK_TRUSTED_PROXIES, web/app.py).
        client = request.client.host if request.client else ""
        account = await run_in_threadpool(attempt_sign_in, username, password, client=client)
    except ConsultrackError as exc:
        return render(
            request,
            "login.html",
            {"next": target, "error": exc.message, "username": form.get("username") or ""},
            exc.http_status,
        )
    sign_in(request, account)
    return see_other(target)


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await request.form()
    check_csrf(request, form.get(CSRF_FIELD))
    sign_out(request)
    flash(request, "ok", "You have signed out.")
    return see_other("/login")
