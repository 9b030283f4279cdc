"""Every address a reminder e-mail gives answers: the links are followed through the web app itself."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from config.settings import get_settings
from consultrack.web.app import create_app
from tests.notifications.conftest import sweep_at
from tests.notifications.smtp_server import Server

LINK = re.compile(r"(?:https?|webcal)://[^\s<>\"']+")


async def test_every_link_in_the_mails_answers(march: str, smtp: Callable[..., Server]) -> None:
    server = smtp()
    await sweep_at("2025-03-03 10:00")  # the start notices
    await sweep_at("2025-03-24 10:00")  # "7 days left" reminders
    assert len(server.deliveries) >= 12
    base = get_settings().base_url.rstrip("/")
    webcal = "webcal://" + base.split("://", 1)[1]
    links, subscribed = set(), set()
    for delivery in server.deliveries:
        for part in delivery.message.walk():
            if part.get_content_type() in ("text/plain", "text/html"):
                found = LINK.findall(part.get_content())
                links |= {link for link in found if link.startswith(base)}
                subscribed |= {link for link in found if link.startswith(webcal)}
    # The calendar is offered as a subscription (webcal://), never as a one-off .ics download.
    assert not any(link.endswith(".ics") for link in links), links
    assert any("/calendars/member-states/" in link for link in subscribed), subscribed
    links |= {base + link.removeprefix(webcal) for link in subscribed}
    with TestClient(create_app()) as client:
        for link in sorted(links):
            reply = client.get(link.removeprefix(base))
            assert reply.status_code == 200, link
            assert reply.content.startswith(b"BEGIN:VCALENDAR"), link
