"""The HTML part of every e-mail, as the golden files pin it (tests/notifications/test_render.py keeps them equal
to what the templates render), opened in chromium at a phone's width: nothing scrolls sideways, and axe-core
finds no serious or critical accessibility violation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import missing_tool

GOLDEN = Path(__file__).resolve().parent.parent / "notifications" / "golden"
AXE = Path(__file__).resolve().parent.parent / "js" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}


def html_part(golden: Path) -> str:
    return golden.read_text(encoding="utf-8").split("\n----- html -----\n", 1)[1]


@pytest.fixture
def phone(browser: object) -> Iterator[object]:
    if not AXE.exists():
        missing_tool("axe-core is not installed (scripts/test runs npm ci in tests/js)")
    context = browser.new_context(viewport=PHONE)  # type: ignore[attr-defined]
    tab = context.new_page()
    tab.route("**/*", lambda route: route.abort())  # an e-mail loads nothing from outside
    yield tab
    context.close()


@pytest.mark.parametrize("golden", sorted(GOLDEN.glob("*.txt")), ids=lambda p: p.stem)
def test_every_email_reads_on_a_phone_and_passes_axe(phone: object, golden: Path) -> None:
    phone.set_content(html_part(golden))  # type: ignore[attr-defined]
    widths = phone.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")  # type: ignore[attr-defined]
    assert widths[0] <= widths[1] == PHONE["width"], f"{golden.stem} scrolls sideways at 390 px: {widths}"
    assert phone.evaluate("document.documentElement.lang") == "en"  # type: ignore[attr-defined]
    assert phone.title().strip(), f"{golden.stem} has no <title>"  # type: ignore[attr-defined]
    phone.add_script_tag(path=str(AXE))  # type: ignore[attr-defined]
    results = phone.evaluate("axe.run(document)")  # type: ignore[attr-defined]
    serious = [
        (v["id"], v["impact"], [n["html"][:80] for n in v["nodes"]])
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert results["passes"], "axe ran no rule"
    assert serious == [], f"{golden.stem}: {serious}"
