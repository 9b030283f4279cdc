"""Every calendar test starts from an empty feed cache, so no test sees another test's rendering."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from calendars import feeds


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    feeds.clear_cache()
    yield
    feeds.clear_cache()
