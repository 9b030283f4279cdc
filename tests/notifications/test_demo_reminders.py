"""The demo replays March 2025 and its reminders flow into the local mailbox, on time, to those who still owe."""

from __future__ import annotations

from collections import Counter
from datetime import date
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest

from consultrack.demo import build_demo
from models.enums import ReminderStatus
from tests.notifications.conftest import mailbox_files, rows

pytestmark = [pytest.mark.usefixtures("prefect_server"), pytest.mark.slow]


def test_demo_fills_the_mailbox_through_march(data_dir: Path) -> None:
    build_demo(date(2025, 3, 31), reset=False, say=lambda _: None)
    messages = [message_from_bytes(f.read_bytes(), policy=default) for f in mailbox_files(data_dir)]
    march = [
        m
        for m in messages
        if "annotated outline" in str(m["Subject"])
        and str(m["Subject"]).endswith(": preliminary feedback on the annotated outline (NEASPEC SP 2026-2030)")
    ]
    to = Counter(str(m["X-Envelope-To"]) for m in march)
    assert to["park.jiwoo@example.org"] == 1  # Korea responded on 10 March: only the start notice
    assert to["li.wei@example.org"] == 1  # China responded on 14 March
    assert to["ri.song@example.org"] == 5  # the DPRK never did: start, 14, 7, 2 and 0 days
    assert to["sato.yuki@example.org"] == 3  # Japan responded on 25 March, after the 7-day reminder
    assert to["tsetseg.b@example.org"] == 3  # Mongolia at 09:30 on 28 March: its 2-day reminder (10:00) dropped
    assert any(
        str(m["Subject"]).startswith("Response due Monday 31 March: ")
        and "is due in 7 days" in m.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        for m in march
    )
    assert all(
        m.get_content_type() == "multipart/mixed" and any(p.get_content_type() == "text/calendar" for p in m.walk())
        for m in march
    )
    sent = rows(status=ReminderStatus.SENT)
    assert len(sent) == len(messages) and not any(r.late for r in sent)
