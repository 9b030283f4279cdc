"""The service stopping while a sweep is sending: the batch on the wire is finished and recorded, nothing after it
starts, and only then does the service let go of the database: no half-sent batch, no lost row."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import time
from collections import Counter
from collections.abc import Callable

import pytest

from config import clock
from config.settings import reset_settings
from models.enums import ReminderStatus
from tests.conftest import seoul
from tests.notifications.conftest import FOCAL, rows
from tests.notifications.smtp_server import Faults, Server

pytestmark = pytest.mark.slow


def test_stop_mid_sweep_finishes_the_batch_and_sends_no_more(
    march: str, smtp: Callable[..., Server], prefect_server: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from consultrack.service import SWEEP_JOB, Service

    server = smtp(Faults(delay=1.0))  # six start notices, two to a batch: three batches of ~2 s
    monkeypatch.setenv("CONSULTRACK_REMINDER_BATCH_SIZE", "2")
    reset_settings()
    clock.set_now(seoul("2025-03-03 10:00"))

    async def body() -> dict[str, object]:
        service = Service()
        await service.start()  # the start-up catch-up sweep begins at once
        deadline = time.monotonic() + 60
        while not server.deliveries:
            assert time.monotonic() < deadline, "the sweep sent nothing"
            await asyncio.sleep(0.05)
        await service.stop()
        return {"at_stop": len(server.deliveries), "last_runs": dict(service.last_runs)}

    context = contextvars.copy_context()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        outcome = pool.submit(context.run, asyncio.run, body()).result(timeout=180)

    assert not rows(status=ReminderStatus.SENDING), "a claimed row was left half-sent"
    sent = rows(status=ReminderStatus.SENT)
    assert len(sent) == outcome["at_stop"], "stop() returned before the batch on the wire was recorded"
    assert len(sent) % 2 == 0 and 2 <= len(sent) < len(FOCAL), "the sweep must stop at a batch boundary"
    time.sleep(1.5)  # a sweep thread left running would go on sending
    assert len(server.deliveries) == outcome["at_stop"]
    recipients = server.recorder.recipients()
    assert all(n == 1 for n in Counter(recipients).values())
    pending = [r for r in rows(status=ReminderStatus.PENDING) if r.send_at <= clock.now()]
    assert len(pending) == len(FOCAL) - len(sent), "what was not sent stays due for the next sweep"
    assert outcome["last_runs"][SWEEP_JOB]["ok"] is True  # type: ignore[index]
