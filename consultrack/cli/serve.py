"""`consultrack serve`: the dashboard, the API, the feeds and the reminder scheduler in one process."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

import typer

from config.settings import get_settings
from consultrack.cli.common import console, fail


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default: from the base URL).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: from the base URL, 8000).")] = None,
) -> None:
    """Serve the dashboard and the API, and send reminders (every minute) and the daily digest. Ctrl+C stops."""
    settings = get_settings()
    base = urlsplit(settings.base_url)
    host = host or base.hostname or "127.0.0.1"
    port = port or base.port or 8000
    from models.db import migrate

    migrate()
    from sqlmodel import select

    from models.account import Account
    from models.db import read_session

    with read_session() as session:
        has_account = session.exec(select(Account.id).limit(1)).first() is not None
    root = f"http://{host}:{port}"

    def ready() -> None:
        console.print(f"[bold green]consultrack is running[/] (data: {settings.data_dir.resolve()})")
        for label, path in (
            ("dashboard", "/"),
            ("API docs", "/docs"),
            ("OpenAPI", "/openapi.json"),
            ("health", "/healthz"),
            ("mailbox", "/mailbox"),
        ):
            console.print(f"  {label:<10} {root}{path}")
        if not has_account:
            console.print("  no account yet: [bold]consultrack account create NAME --role admin[/]")
        console.print("  stop with Ctrl+C", style="dim")

    console.print(f"starting on {root} (Prefect first, a few seconds)...", style="dim")
    import flows  # noqa: F401 - sets Prefect's settings before the service imports Prefect
    from consultrack.service import serve as run_service

    try:
        run_service(host, port, on_ready=ready)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        pass
    console.print("consultrack stopped")
