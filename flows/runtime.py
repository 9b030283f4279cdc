"""Prefect reads its settings when it is imported: this sets them first, from ours."""

from __future__ import annotations

import os
from pathlib import Path

from config.private_files import private_dir, private_file
from config.settings import get_settings

DATABASE_URL_VARIABLES = ("PREFECT_SERVER_DATABASE_CONNECTION_URL", "PREFECT_API_DATABASE_CONNECTION_URL")


def configure_prefect() -> None:
    settings = get_settings()
    private_dir(settings.prefect_home)
    home = Path(os.environ.setdefault("PREFECT_HOME", str(settings.prefect_home)))
    private_dir(home)
    if not any(os.environ.get(name) for name in DATABASE_URL_VARIABLES):
        # Prefect's own SQLite database (run parameters name people and addresses): owner-only from the start,
        # whichever Prefect server (the service's, or a CLI command's temporary one) creates its tables.
        private_file(home / "prefect.db")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    # Runs and their logs go to the Prefect API (its UI shows them); the terminal shows only our own messages.
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
