"""/healthz: whether the database, the scheduler, Prefect and the mail transport work, in one JSON answer, and
whether the calendar feeds hold everything stored.

Anyone (a load balancer, a monitor) learns whether each part works; what it is and why it fails (paths, hosts,
the last errors, the rows the feeds leave out) only a signed-in account or an API token sees. The database carries
an identity (consultrack/client.py) so the CLI hands changes only to a service that works on the same database: a
digest, never the URL, public like the verdicts.

The answer is 503 when a part of the service fails. The `feeds` check is about the data, not the service: rows
the feeds cannot render (calendars/feeds.py) make it `ok: false` with the list, but the feeds are still served
without them, so it does not turn the answer into a 503 (a load balancer would take every replica out for one
bad row)."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy import text
from starlette.responses import JSONResponse

from calendars.feeds import feed_problems
from config.settings import get_settings
from consultrack.client import database_identity
from consultrack.web.api import bearer, token_account
from consultrack.web.security import current_account
from models.db import read_session
from notifications.mail.transport import ConnectionLost, LoginFailed, PermanentFailure, TransientFailure, probe

router = APIRouter(tags=["health"])
MAIL_CHECK_TTL = 30.0
MAIL_PROBE_TIMEOUT = 3.0
_mail_cache: dict[str, Any] = {}


def _database() -> dict[str, Any]:
    try:
        with read_session() as session:
            session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "id": database_identity()}


def _feeds() -> dict[str, Any]:
    try:
        with read_session() as session:
            skipped = feed_problems(session)
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        return {"ok": False, "error": type(exc).__name__}
    if not skipped:
        return {"ok": True}
    return {
        "ok": False,
        "skipped": [str(s) for s in skipped],
        "detail": "the feeds are served without these; reschedule them to dates within reason",
    }


async def _mail() -> dict[str, Any]:
    """Mail goes out as a message would (notifications/mail/transport.py): the sink's mailbox takes a file; a
    server answers, with TLS or STARTTLS, its certificate and the login as configured."""
    if _mail_cache and time.monotonic() - _mail_cache["at"] < MAIL_CHECK_TTL:
        return _mail_cache["result"]
    settings = get_settings()
    transport = "local sink" if settings.mail_sink else f"smtp {settings.smtp_host}:{settings.smtp_port}"
    result: dict[str, Any]
    try:
        await probe(settings, timeout=MAIL_PROBE_TIMEOUT)
        result = {"ok": True, "transport": transport}
        if settings.mail_sink:
            result["mailbox"] = str(settings.mailbox_dir)
    except OSError as exc:  # the sink's mailbox
        result = {"ok": False, "transport": transport, "error": exc.strerror or type(exc).__name__}
    except (LoginFailed, ConnectionLost, TransientFailure, PermanentFailure) as exc:
        result = {"ok": False, "transport": transport, "error": type(exc.__cause__ or exc).__name__}
    _mail_cache.update(at=time.monotonic(), result=result)
    return result


def _signed_in(request: Request, credentials: HTTPAuthorizationCredentials | None) -> bool:
    """A session or an API token of a live account; any failure to tell (the database is down) reads as no."""
    try:
        return current_account(request) is not None or token_account(credentials) is not None
    except Exception:  # noqa: BLE001 - /healthz answers whatever is broken
        return False


def _verdict(name: str, check: dict[str, Any]) -> dict[str, Any]:
    return {"ok": check["ok"], **({"id": check["id"]} if name == "database" and "id" in check else {})}


@router.get("/healthz")
async def healthz(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> JSONResponse:
    service = getattr(request.app.state, "service", None)
    absent = {"ok": False, "detail": "not run by this process (consultrack serve runs it)"}
    checks: dict[str, Any] = {
        "database": _database(),
        "scheduler": service.scheduler_health() if service else absent,
        "prefect": await service.prefect_health() if service else absent,
        "mail": await _mail(),
    }
    ok = all(c["ok"] for c in checks.values())
    status = 200 if ok else 503
    checks["feeds"] = _feeds() if checks["database"]["ok"] else {"ok": False, "error": "no database"}
    if not (checks["database"]["ok"] and _signed_in(request, credentials)):
        verdicts = {name: _verdict(name, check) for name, check in checks.items()}
        return JSONResponse(
            {"ok": ok, **verdicts, "detail": "sign in, or send an API token, for the details"}, status_code=status
        )
    return JSONResponse({"ok": ok, **checks}, status_code=status)
