"""The dashboard in a real browser (Debian's chromium through Playwright) against a real uvicorn on loopback."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from models.audit import AuditEntry
from models.db import read_session
from models.enums import StageState
from models.process import Stage
from models.queries import get_process, get_stage
from tests.web.conftest import ARTIFACTS, PROCESS, login

pytestmark = pytest.mark.browser
STAGE_URL = f"/p/{PROCESS}/stages/outline-feedback"
XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">"\'&'


def stage_state(key: str) -> StageState:
    with read_session() as session:
        return get_stage(session, get_process(session, PROCESS), key).state


def audit_count(action: str, stage: str) -> int:
    with read_session() as session:
        return len(
            session.exec(select(AuditEntry).where(AuditEntry.action == action, AuditEntry.stage_key == stage)).all()
        )


def record(page: Any, code: str, note: str = "", channel: str = "e-mail") -> None:
    page.goto(STAGE_URL)
    form = page.locator("form#respond")
    form.locator("select[name=member_state]").select_option(code)
    form.locator("input[name=channel]").fill(channel)
    form.locator("input[name=note]").fill(note)
    form.locator("button[type=submit]").click()


def test_timeline_screenshot(page: Any) -> None:
    login(page)
    assert page.locator(".g-today").count() == 9, "the today line crosses every row"
    row = page.locator(".g-row", has_text="Adoption at SOM-28")
    assert "to be confirmed" in row.inner_text(), "a tentative stage says so in words"
    assert page.locator(".g-row.state-active .badge", has_text="active").count() == 1
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "timeline.png"), full_page=True)
    assert (ARTIFACTS / "timeline.png").stat().st_size > 20_000


def test_refused_then_record_responses_then_advance(page: Any) -> None:
    login(page)
    page.goto(STAGE_URL)
    page.click("form[action$='/advance'] button[type=submit]")
    error = page.locator("#error")
    assert "waiting for responses from" in error.inner_text()
    assert "Japan" in error.inner_text()
    assert stage_state("outline-feedback") is StageState.ACTIVE
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "stage-refused.png"), full_page=True)

    for code in ("JP", "MN", "KP"):
        record(page, code, note=f"comments from {code}")
        assert page.locator(".notice-ok").inner_text().startswith(f"Response from {code} recorded")
    assert "The gate is met" in page.locator("section[aria-labelledby=gate-h]").inner_text()

    page.click("form[action$='/advance'] button[type=submit]")
    assert "outline-feedback completed." in page.locator(".notice-ok").inner_text()
    assert stage_state("outline-feedback") is StageState.COMPLETED
    assert stage_state("consultations") is StageState.PLANNED  # ready: it opens with its window on 1 April


def test_reschedule_with_preview(page: Any) -> None:
    login(page)
    page.goto(STAGE_URL)
    form = page.locator("form#reschedule")
    form.locator("input[name=end]").fill("2025-04-15")
    form.locator("button[type=submit]").click()
    preview = page.locator("main").inner_text()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "reschedule-preview.png"), full_page=True)
    assert "Nothing has changed yet" in preview
    assert "Consultations" in preview and "follows outline-feedback" in preview
    with read_session() as session:
        assert (
            get_stage(session, get_process(session, PROCESS), "outline-feedback").end_date.isoformat() == "2025-03-31"
        ), "a preview changes nothing"
    page.fill("input[name=reason]", "NFPs asked for two more weeks")
    page.click("button:has-text('Apply the reschedule')")
    assert "Rescheduled: outline-feedback, consultations" in page.locator(".notice-ok").inner_text()
    with read_session() as session:
        process = get_process(session, PROCESS)
        assert get_stage(session, process, "outline-feedback").end_date.isoformat() == "2025-04-15"
        assert get_stage(session, process, "consultations").start_date.isoformat() == "2025-04-16"


def test_a_date_is_picked_natively_and_a_wrong_one_is_one_clear_message(page: Any) -> None:
    """Dates are native date inputs (no JavaScript, no format to guess); a date the rules refuse is one message."""
    login(page)
    page.goto(STAGE_URL)
    form = page.locator("form#respond")
    received = form.locator("input[name=received_on]")
    assert received.get_attribute("type") == "date" and received.input_value() == "2025-03-20"  # today, filled in
    assert page.locator("form[action$='/reschedule'] input[name=end]").get_attribute("type") == "date"
    received.fill("2025-03-27")
    form.locator("select[name=member_state]").select_option("JP")
    form.locator("button[type=submit]").click()
    assert "is in the future" in page.locator("#error").inner_text()
    assert audit_count("response.record", "outline-feedback") == 3


def test_script_in_every_text_field_is_shown_not_run(page: Any) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto("/login")
    page.fill("input[name=username]", XSS)
    page.fill("input[name=password]", XSS)
    page.click("button:has-text('Sign in')")
    assert page.locator(".notice-error").count() == 1, "refused with a message"
    assert page.locator("input[name=username]").input_value() == XSS
    login(page)

    page.goto(STAGE_URL)
    form = page.locator("form#respond")
    form.locator("select[name=member_state]").select_option("JP")
    for name in ("channel", "note"):
        form.locator(f"input[name={name}]").fill(XSS)
    form.locator("input[name=link]").fill("javascript:alert(1)")
    form.locator("button[type=submit]").click()
    assert "a link must be an http(s) address" in page.locator("#error").inner_text()
    page.locator("form#respond input[name=link]").fill("https://example.org/<script>")
    page.locator("form#respond button[type=submit]").click()
    assert page.locator(".notice-ok").count() == 1

    page.goto(f"{STAGE_URL}/reschedule?end=2025-04-15")
    page.fill("input[name=reason]", XSS)
    page.click("button:has-text('Apply the reschedule')")
    page.goto(STAGE_URL)
    page.locator("form[action$='/advance'] details summary").click()
    page.locator("form[action$='/advance'] input[name=override_reason]").fill(XSS)
    page.click("form[action$='/advance'] button[type=submit]")
    assert "(gate overridden)" in page.locator(".notice-ok").inner_text()
    page.goto(f"/p/{PROCESS}/stages/consultations")
    page.locator("form[action$='/skip'] input[name=reason]").fill(XSS)
    page.click("form[action$='/skip'] button[type=submit]")
    assert "consultations is now skipped" in page.locator(".notice-ok").inner_text()

    page.goto(STAGE_URL)
    shown = page.locator("main").inner_text()
    assert shown.count(XSS) >= 3, "note, channel and override reason are shown as text"
    for url in (STAGE_URL, f"/p/{PROCESS}/stages/consultations", "/audit", f"/audit?actor={XSS}", f"/p/{PROCESS}"):
        page.goto(url)
        assert page.evaluate("window.__xss") is None, url
        assert page.locator("main script, main img[src=x]").count() == 0, url
    page.goto("/audit")
    assert page.locator("table.audit").inner_text().count(XSS) >= 3
    assert dialogs == []


def test_two_browsers_advance_the_same_stage_at_once(browser: Any, live_server: str) -> None:
    pages = []
    for _ in range(2):
        tab = browser.new_context(base_url=live_server).new_page()
        login(tab)
        pages.append(tab)
    for code in ("JP", "MN", "KP"):
        record(pages[0], code)
    for tab in pages:
        tab.goto(STAGE_URL)
    # Both forms are submitted before either answer arrives: the two POSTs are in flight together.
    for tab in pages:
        tab.locator("form[action$='/advance']").evaluate("f => f.requestSubmit()")
    outcomes = []
    for tab in pages:
        tab.wait_for_load_state()
        notice = tab.locator(".notice-ok, #error").first
        notice.wait_for()
        outcomes.append(notice.inner_text())
    assert sum("outline-feedback completed" in o for o in outcomes) == 1, outcomes
    assert sum("was already advanced" in o for o in outcomes) == 1, outcomes
    assert audit_count("stage.advance", "outline-feedback") == 1
    assert audit_count("stage.start", "consultations") == 0  # ready, opening with its window
    for tab in pages:
        tab.context.close()


def test_double_submission_changes_once(page: Any) -> None:
    login(page)
    page.goto(STAGE_URL)
    form = page.locator("form#respond")
    form.locator("select[name=member_state]").select_option("JP")
    form.locator("input[name=channel]").fill("e-mail")
    # Two submissions of the same filled form before the first answer arrives.
    fields = {
        "csrf_token": form.locator("input[name=csrf_token]").input_value(),
        "member_state": "JP",
        "received_on": "2025-03-20",
        "channel": "e-mail",
        "note": "",
        "link": "",
    }
    with page.expect_navigation():  # the answer to the last submission: by then one of them has recorded JP
        form.evaluate("f => { f.requestSubmit(); f.requestSubmit(); }")
    assert page.locator(".notice-ok, #error").count() == 1
    replay = page.request.post(f"{STAGE_URL}/respond", form=fields, max_redirects=0)
    assert replay.status == 409
    assert "Japan already responded to outline-feedback" in replay.text()
    assert audit_count("response.record", "outline-feedback") == 4
    with read_session() as session:
        stage = session.exec(select(Stage).where(Stage.key == "outline-feedback")).one()
        assert stage.state is StageState.ACTIVE


@pytest.mark.parametrize(("path", "shown"), [("/docs", ".opblock-summary-path"), ("/redoc", "[data-section-id]")])
def test_api_docs_render_with_nothing_from_outside(page: Any, live_server: str, path: str, shown: str) -> None:
    """Swagger UI and ReDoc come from this site: with every other host unreachable (as here, and behind many a
    secretariat's proxy) the operations are listed, and the page's CSP refused nothing of ours (ReDoc's footer
    asks its maker's CDN for a logo, which the CSP keeps out)."""
    outside: list[str] = []
    page.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(live_server)
            else (outside.append(route.request.url), route.abort())
        ),
    )
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(path)
    page.wait_for_selector(shown)
    listed = " ".join(page.locator(shown).all_inner_texts())
    assert "/api/processes" in listed or "processes" in listed.lower()
    assert outside == []
    assert all("https://" in m and live_server not in m and "inline" not in m for m in refused), refused


def test_move_a_meeting_from_the_dashboard_on_a_phone(browser: Any, live_server: str) -> None:
    """390 px wide: a wrong zone is refused beside its field; the move then shows on the page and in the feed."""
    from zoneinfo import ZoneInfo

    import icalendar

    context = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844})
    tab = context.new_page()
    tab.set_default_timeout(20000)
    try:
        login(tab)
        tab.click("text=All meetings: move, edit, cancel, record held")
        tab.locator("#m-nfp-2025-04 summary", has_text="Move").click()  # each form is folded until chosen
        form = tab.locator("form#move-nfp-2025-04")
        form.locator("input[name=date]").fill("2025-04-24")
        form.locator("input[name=timezone]").fill("Asia/Atlantis")
        form.locator("button[type=submit]").click()
        zone = tab.locator("form#move-nfp-2025-04 input[name=timezone]")
        assert zone.get_attribute("aria-invalid") == "true"
        beside = tab.locator(f"#{zone.get_attribute('aria-describedby')}")
        assert "unknown time zone 'Asia/Atlantis'" in beside.inner_text()
        assert tab.locator("form#move-nfp-2025-04 input[name=date]").input_value() == "2025-04-24"
        assert tab.evaluate("document.documentElement.scrollWidth") <= 390, "nothing wider than the phone"

        zone.fill("Asia/Tokyo")
        tab.locator("form#move-nfp-2025-04 textarea[name=reason]").fill("NFPs asked")
        tab.locator("form#move-nfp-2025-04 button[type=submit]").click()
        assert "moved to 24 April 2025, 15:00-18:00 (Asia/Tokyo)" in tab.locator(".notice-ok").inner_text()
        card = tab.locator("#m-nfp-2025-04 .when")
        assert card.inner_text() == "24 April 2025, 15:00-18:00 (Asia/Tokyo)"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / "meeting-moved-390.png"), full_page=True)

        feed = icalendar.Calendar.from_ical(tab.request.get(f"/calendars/processes/{PROCESS}.ics").body())
        (event,) = [e for e in feed.walk("VEVENT") if str(e["UID"]).endswith(".meeting.nfp-2025-04@consultrack")]
        start = event.decoded("DTSTART").astimezone(ZoneInfo("Europe/Moscow"))
        assert start.strftime("%Y-%m-%d %H:%M") == "2025-04-24 09:00" and int(event["SEQUENCE"]) == 1

        tab.locator("form#invite-nfp-2025-04 button[type=submit]").click()  # the invitations, from the page too
        assert "14 invitations queued" in tab.locator(".notice-ok").inner_text()
        assert "yes: a reschedule keeps it" in tab.locator("#m-nfp-2025-04").inner_text()  # invited: the date agreed
        tab.locator("form#invite-nfp-2025-04 button[type=submit]").click()
        assert "everyone is already invited; nothing sent" in tab.locator(".notice-ok").inner_text()
    finally:
        context.close()
