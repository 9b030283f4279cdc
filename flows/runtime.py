"""Prefect reads its settings when it is imported: this sets them first, from ours."""

from __future__ import annotations

import os

from config.settings import get_settings


def configure_prefect() -> None:
    settings = get_settings()
    home = settings.prefect_home
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(home))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    # Runs and their logs go to the Prefect API (its UI shows them); the terminal shows only our own messages.
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
