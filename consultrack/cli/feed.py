"""`consultrack feed`: personal feed tokens, and every public feed written out as static files.

Tokens are directory administration, not process state: they are written in one short transaction here (with
their audit entry), without a flow. A token is printed once, when issued; only its hash is kept.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from calendars.subscribe import subscribe_links, subscribe_page_url
from config import clock
from consultrack.cli.common import ActorOpt, actor_name, console, fail, require_database

feed_app = typer.Typer(no_args_is_help=True, help="Calendar feeds: personal tokens, static export.")
token_app = typer.Typer(no_args_is_help=True, help="Personal feed tokens: issue, list, revoke, rotate.")
feed_app.add_typer(token_app, name="token")


def _show_issued(email: str, secret: str, token_id: int | None) -> None:
    links = subscribe_links(secret, email)
    console.print(f"feed token {token_id} issued for {email}. It is shown only now; keep it secret.")
    console.print(f"  feed:      {links['https']}")
    console.print(f"  webcal:    {links['webcal']}")
    console.print(f"  subscribe: {subscribe_page_url(secret)}")


def _send_subscribe(person_id: int, secret: str, token_id: int | None) -> None:
    import asyncio

    from consultrack.subscribe_mail import NotSent, send_subscribe_mail

    try:
        email = asyncio.run(send_subscribe_mail(person_id, secret, token_id))
    except NotSent as exc:
        fail(f"{exc}; feed token {token_id} is valid: give them the subscribe address above, or revoke it")
    console.print(f"subscribe e-mail sent to {email}")


@token_app.command("new")
def token_new(
    email: Annotated[str, typer.Argument(help="The person's e-mail address, as in the directory.")],
    label: Annotated[str, typer.Option(help="What the token is for, e.g. 'work laptop'.")] = "",
    send: Annotated[bool, typer.Option("--send", help="E-mail the person their subscribe page.")] = False,
    actor: ActorOpt = None,
) -> None:
    """Issue a feed token (a person may have several); prints the feed and subscribe addresses once."""
    require_database()
    from models.db import session_scope
    from models.token_rules import issue_feed_token

    with session_scope() as session:
        issued = issue_feed_token(session, email, actor=actor_name(actor), now=clock.now(), label=label)
        person_id, person_email, token_id = issued.holder.id, issued.holder.email, issued.row.id
    _show_issued(person_email, issued.secret, token_id)
    if send:
        assert person_id is not None  # a stored person
        _send_subscribe(person_id, issued.secret, token_id)


@token_app.command("revoke")
def token_revoke(
    token: Annotated[str, typer.Argument(help="The token's id (see 'feed token list') or the token itself.")],
    actor: ActorOpt = None,
) -> None:
    """Revoke a token: its feed and subscribe page answer 404 from now on."""
    require_database()
    from models.db import session_scope
    from models.token_rules import revoke_feed_token

    with session_scope() as session:
        row = revoke_feed_token(session, token, actor=actor_name(actor), now=clock.now())
        token_id = row.id
    console.print(f"feed token {token_id} revoked")


@token_app.command("rotate")
def token_rotate(
    token: Annotated[str, typer.Argument(help="The token's id (see 'feed token list') or the token itself.")],
    actor: ActorOpt = None,
) -> None:
    """Revoke a token and issue its replacement for the same person, in one step."""
    require_database()
    from models.db import session_scope
    from models.token_rules import rotate_feed_token

    with session_scope() as session:
        issued = rotate_feed_token(session, token, actor=actor_name(actor), now=clock.now())
        person_email, token_id = issued.holder.email, issued.row.id
    _show_issued(person_email, issued.secret, token_id)


@token_app.command("list")
def token_list(
    person: Annotated[str | None, typer.Option(help="Only this person's tokens (e-mail address).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include revoked tokens.")] = False,
) -> None:
    """List feed tokens (never the secrets: only their ids)."""
    require_database()
    from models.db import read_session
    from models.queries import get_person
    from models.token_rules import tokens_of
    from models.tokens import FeedToken

    with read_session() as session:
        rows = tokens_of(session, FeedToken, get_person(session, person).id if person else None)
    table = Table("Id", "Person", "Label", "Issued (UTC)", "Revoked (UTC)", title="Feed tokens")
    for token, owner in rows:
        if token.revoked_at is not None and not all_:
            continue
        table.add_row(
            str(token.id),
            owner.email,
            token.label,
            f"{token.created_at:%Y-%m-%d %H:%M}",
            f"{token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "",
        )
    console.print(table)


@feed_app.command("export")
def export(directory: Annotated[Path, typer.Argument(help="Where to write; created if missing.")]) -> None:
    """Write every public feed as a static file, at the paths the web app serves (calendars/...).

    Personal feeds are not exported: only hashes of their tokens are stored, so their addresses cannot be made."""
    require_database()
    from calendars.feeds import public_feeds
    from models.db import read_session

    with read_session() as session:
        feeds = public_feeds(session)
    root = directory / "calendars"
    written = set()
    for relative, feed in feeds:
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".ics.partial")
        partial.write_bytes(feed.body)
        # The file's time is the feed's Last-Modified, so a static server answers If-Modified-Since as the app does.
        stamp = feed.last_modified.timestamp()
        os.utime(partial, (stamp, stamp))
        partial.replace(target)  # a web server never serves half a file
        written.add(target)
    gone = [
        path
        for folder in ("processes", "member-states")
        for path in (root / folder).glob("*.ics")
        if path not in written
    ]
    for path in gone:  # a process or member State no longer there: its old file must not be served forever
        path.unlink()
    console.print(f"{len(feeds)} feeds written under {root}" + (f"; {len(gone)} stale removed" if gone else ""))
