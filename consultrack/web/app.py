"""The FastAPI application factory. Routers live in modules of their own and are included here; errors become
one readable message (a page for browsers, JSON for the API), never a stack trace."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import JSONResponse, RedirectResponse, Response
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from config.settings import get_settings
from consultrack.web import api, api_meetings, feeds, health, pages
from consultrack.web.rendering import render
from consultrack.web.security import (
    SESSION_COOKIE,
    SESSION_IDLE,
    SESSION_MAX_AGE,
    CsrfFailed,
    LoginRequired,
    SecurityHeaders,
    flash,
    session_secret,
)
from models.errors import ConsultrackError, DatabaseBusy, ErrorCode

log = logging.getLogger("consultrack.web")
STATIC_DIR = Path(__file__).resolve().parent / "static"


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/healthz"


HTTP_CODES = {
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    422: ErrorCode.INVALID_INPUT,
    500: ErrorCode.INTERNAL,
}
"""The code of an error that is not a ConsultrackError (routing, validation, CSRF, a fault), by its HTTP status."""


def _error(request: Request, status: int, message: str, code: ErrorCode | None = None) -> Response:
    if _wants_json(request):
        return JSONResponse(
            {"error": message, "code": code or HTTP_CODES.get(status, ErrorCode.REFUSED)}, status_code=status
        )
    return render(request, "error.html", {"status": status, "message": message}, status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ConsultrackError)
    async def refused(request: Request, exc: ConsultrackError) -> Response:
        response = _error(request, exc.http_status, exc.message, exc.code)
        if isinstance(exc, DatabaseBusy):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        request.session.clear()
        if exc.expired:
            flash(request, "error", "Your session has expired or is no longer valid: please sign in again.")
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = "/"
        return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, exc: CsrfFailed) -> Response:
        return _error(
            request,
            403,
            "This form has expired or did not come from this site, so nothing was changed. "
            "Reload the page and submit it again.",
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or e['loc'][0]}: {e['msg']}" for e in exc.errors()[:5]
        )
        return _error(request, 422, problems or "invalid request")

    @app.exception_handler(feeds.PlainRefusal)
    async def plain_refusal(request: Request, exc: feeds.PlainRefusal) -> Response:
        return exc.response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = {404: "There is no such page.", 405: "This address does not accept that request."}.get(
            exc.status_code, str(exc.detail)
        )
        return _error(request, exc.status_code, message)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _error(
            request,
            500,
            "Something went wrong on our side; nothing you did caused it. The error is in the service's log.",
        )


def create_app(*, session_idle: int = SESSION_IDLE) -> FastAPI:
    app = FastAPIOffline(
        title="consultrack",
        version="0.1.0",
        static_url="/static/docs",
        description="Workflow and deadline tracker for intergovernmental consultation processes.",
    )
    app.state.session_idle = session_idle
    _install_error_handlers(app)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=get_settings().base_url.startswith("https://"),
    )
    # Outermost: every part of the app sees the client a trusted proxy named (X-Forwarded-For, right-most address
    # not itself a trusted proxy), and otherwise the connecting address, whatever a request claims.
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=get_settings().trusted_proxy_list)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(health.router)
    app.include_router(api.router)
    app.include_router(api_meetings.router)
    app.include_router(pages.router)
    app.include_router(feeds.router)
    return app
