"""The e-mail that gives a person their subscribe page, for the CLI (`feed token new --send`) and the
directory's "E-mail a new link" alike. The token is committed before it is sent: if sending fails, nothing is
lost (the link shown works) and nothing was sent with a token that does not exist."""

from __future__ import annotations

from calendars.feeds import calendar_name
from calendars.subscribe import subscribe_links, subscribe_page_url
from config import clock
from config.settings import get_settings
from models.db import read_session
from models.directory import MemberState, Person
from notifications.mail.message import InvalidAddress, build_message, new_message_id
from notifications.mail.render import RenderError, render
from notifications.mail.transport import ConnectionLost, LoginFailed, PermanentFailure, TransientFailure, send_now


class NotSent(Exception):
    """The subscribe e-mail did not go; the message says why, in one line."""


async def send_subscribe_mail(person_id: int, secret: str, token_id: int | None) -> str:
    """E-mail the person the subscribe page of `secret`; their address, or NotSent."""
    settings = get_settings()
    with read_session() as session:
        person = session.get(Person, person_id)
        if person is None:
            raise NotSent(f"no person #{person_id}")
        state = session.get(MemberState, person.member_state_code) if person.member_state_code else None
        name, email, calendar = person.name, person.email, calendar_name(session, state, person.name)
    ctx = {
        "recipient": {"name": name},
        "links": subscribe_links(secret, calendar),
        "subscribe_url": subscribe_page_url(secret),
    }
    try:
        envelope = build_message(
            sender=settings.mail_from,
            to=(name, email),
            cc=[],
            reply_to=settings.mail_reply_to,
            rendered=render("feed_subscribe", ctx),
            message_id=new_message_id(settings.mail_from, "feed", token_id),
            date=clock.now(),
            ics=None,
        )
        await send_now(settings, envelope)  # one recipient: a refusal raises
    except (RenderError, InvalidAddress, LoginFailed, ConnectionLost, TransientFailure, PermanentFailure) as exc:
        raise NotSent(f"the e-mail to {email} was not sent ({exc})") from exc
    return email
