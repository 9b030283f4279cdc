"""`consultrack worker`: serve the reminder sweep and the daily digest as Prefect deployments, when
`CONSULTRACK_SCHEDULER=prefect` hands the schedule from the service's APScheduler to a long-lived Prefect server."""

from __future__ import annotations

import contextlib
from typing import Annotated

import typer

from config.settings import get_settings
from consultrack.cli.common import console, require_database
from models.errors import InvalidInput


def _long_lived_server() -> str:
    """The server's URL: a worker of a temporary server would serve schedules that nobody else sees."""
    from flows.deployments import api_url

    url = api_url()
    if not url:
        raise InvalidInput(
            "PREFECT_API_URL is not set: a worker serves deployments of a long-lived Prefect server "
            "(e.g. PREFECT_API_URL=http://127.0.0.1:4200/api after 'prefect server start')"
        )
    import httpx

    try:
        httpx.get(f"{url.rstrip('/')}/health", timeout=5).raise_for_status()
    except httpx.HTTPError as exc:
        raise InvalidInput(
            f"the Prefect server at {url} does not answer ({type(exc).__name__}): start it first"
        ) from exc
    return url


def worker(
    limit: Annotated[int, typer.Option(min=1, help="Flow runs at most at once in this worker.")] = 4,
) -> None:
    """Serve the reminder sweep (every minute) and the daily digest as Prefect deployments. Ctrl+C stops."""
    if get_settings().scheduler != "prefect":
        raise InvalidInput(
            "CONSULTRACK_SCHEDULER is 'apscheduler': every 'consultrack serve' sweeps by itself. "
            "Set CONSULTRACK_SCHEDULER=prefect (for the service too) to hand the schedule to a worker"
        )
    require_database()
    url = _long_lived_server()
    from prefect import serve

    from flows.deployments import deployment_names, deployments

    console.print(f"[bold green]consultrack worker[/] serving {', '.join(deployment_names())} from {url}")
    with contextlib.suppress(KeyboardInterrupt):
        serve(*deployments(), pause_on_shutdown=False, print_starting_message=False, limit=limit)
