"""Templates: one Jinja2 environment with autoescaping, and what every page needs (account, CSRF, messages)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse, RedirectResponse

from config.settings import get_settings
from consultrack.web.security import CSRF_FIELD, csrf_token, current_account, pop_flashes

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


def _local(moment: datetime | None, fmt: str = "%d %b %Y %H:%M") -> str:
    """An instant on the secretariat's clock, with the zone named: the office reads times as Seoul times."""
    if moment is None:
        return ""
    zone = get_settings().secretariat_timezone
    return moment.astimezone(ZoneInfo(zone)).strftime(fmt) + " " + ("KST" if zone == "Asia/Seoul" else zone)


def _day(value: date | None, fmt: str = "%d %b %Y") -> str:
    """The year in four digits whatever the platform (a stored year 1 reads 0001, so it can be found and fixed)."""
    return value.strftime(fmt.replace("%Y", f"{value.year:04d}")) if value else ""


templates.env.filters["local"] = _local
templates.env.filters["day"] = _day
templates.env.globals["CSRF_FIELD"] = CSRF_FIELD


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    account = current_account(request)
    base = {
        "account": account,
        "csrf": csrf_token(request),
        "flashes": pop_flashes(request),
        "is_admin": account is not None and account.role.value == "admin",
    }
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)


def see_other(url: str) -> RedirectResponse:
    """After a form: the browser fetches `url` with GET (303), so reloading it does not post the form again."""
    return RedirectResponse(url, status_code=303)
