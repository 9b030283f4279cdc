"""The addresses a person subscribes to their personal feed with: the feed itself (https and webcal), the
one-click links of the big calendar services, and the page that offers them all. The web's subscribe page and the
CLI's subscribe e-mail both show them.

Built from the configured base URL, never from a request's Host header (which the client controls)."""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

from config.settings import get_settings


def subscribe_links(token: str, calendar_name: str) -> dict[str, str]:
    """The feed's https and webcal addresses, and the one-click subscribe links of the big calendar services."""
    base = urlsplit(get_settings().base_url.rstrip("/"))
    path = f"{base.path}/calendars/{token}.ics"
    https = urlunsplit((base.scheme, base.netloc, path, "", ""))
    webcal = urlunsplit(("webcal", base.netloc, path, "", ""))
    name = quote(calendar_name, safe="")
    return {
        "https": https,
        "webcal": webcal,
        "google": f"https://calendar.google.com/calendar/render?cid={quote(webcal, safe='')}",
        "outlook_com": f"https://outlook.live.com/calendar/0/addfromweb?url={quote(https, safe='')}&name={name}",
        "outlook_365": f"https://outlook.office.com/calendar/0/addfromweb?url={quote(https, safe='')}&name={name}",
    }


def subscribe_page_url(token: str) -> str:
    """The page (/subscribe/<token>) that offers every way to subscribe."""
    return f"{get_settings().base_url.rstrip('/')}/subscribe/{token}"
