"""A sweep in its own process, for the tests that kill one or run two at once:
`python -m tests.notifications.sweeper [START_AT_EPOCH]` prints the report as JSON."""

from __future__ import annotations

import asyncio
import json
import sys
import time

from notifications.reminders.sweep import sweep

if __name__ == "__main__":
    if len(sys.argv) > 1:
        time.sleep(max(0.0, float(sys.argv[1]) - time.time()))
    print(json.dumps(asyncio.run(sweep()).as_dict()), flush=True)
