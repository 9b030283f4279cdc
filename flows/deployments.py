"""The reminder sweep and the secretariat's digest as Prefect deployments on a schedule, served by a worker process
(`consultrack worker`) when `CONSULTRACK_SCHEDULER=prefect`.

The schedules then live in the Prefect server, one for the whole installation: each fires once however many web
replicas run, every run shows in Prefect's UI, and a sweep that outlasts its minute makes the next one give way
(concurrency limit 1, new run cancelled) instead of piling up. Running twice would still be safe (the rows are
claimed), only wasteful. The service's in-process APScheduler (`CONSULTRACK_SCHEDULER=apscheduler`) uses the same
cadence, from here, so the two schedulers never disagree."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, cast

from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import EntrypointType
from prefect.schedules import Cron, Interval
from prefect.settings import PREFECT_API_URL

from config.settings import get_settings
from flows import reminders

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

SWEEP_EVERY = timedelta(minutes=1)
DIGEST_HOUR = 8
"""Local time in the secretariat's zone: before the office's day, after the night's reminders were planned."""

SWEEP_DEPLOYMENT, DIGEST_DEPLOYMENT = "every-minute", "daily"
TAGS = ["consultrack", "reminders"]


def api_url() -> str | None:
    """The Prefect server flows report to; None when each process would start a temporary one of its own."""
    url = PREFECT_API_URL.value()
    return str(url) if url else None


def deployment_names() -> list[str]:
    """The full names (flow/deployment), as `prefect deployment run` and the API know them."""
    return [f"{reminders.sweep_reminders.name}/{SWEEP_DEPLOYMENT}", f"{reminders.send_digest.name}/{DIGEST_DEPLOYMENT}"]


def deployments() -> list[RunnerDeployment]:
    """What the worker serves. The entrypoints are module paths, so a run starts wherever the package is installed."""
    zone = get_settings().secretariat_timezone
    one_at_a_time = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)
    # `to_deployment` is Prefect's sync-or-async dual: called outside an event loop it returns the deployment itself.
    return [
        cast(
            "RunnerDeployment",
            reminders.sweep_reminders.to_deployment(
                name=SWEEP_DEPLOYMENT,
                schedule=Interval(SWEEP_EVERY, timezone=zone),
                concurrency_limit=one_at_a_time,
                tags=TAGS,
                entrypoint_type=EntrypointType.MODULE_PATH,
                description="Send the reminders due now (safe late, twice, or from several workers: rows are claimed).",
            ),
        ),
        cast(
            "RunnerDeployment",
            reminders.send_digest.to_deployment(
                name=DIGEST_DEPLOYMENT,
                schedule=Cron(f"0 {DIGEST_HOUR} * * *", timezone=zone),
                concurrency_limit=one_at_a_time,
                tags=TAGS,
                entrypoint_type=EntrypointType.MODULE_PATH,
                description="The secretariat's daily digest (once a day, however often it fires).",
            ),
        ),
    ]
