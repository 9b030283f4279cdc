"""Working days per member State: a reminder day that is a weekend or public holiday moves earlier."""

from __future__ import annotations

from datetime import date

from notifications.reminders.workdays import country_of_zone, is_working_day, working_day_on_or_before


def test_weekend_moves_to_friday() -> None:
    assert working_day_on_or_before(date(2025, 3, 29), "JP") == date(2025, 3, 28)  # Saturday -> Friday
    assert working_day_on_or_before(date(2025, 3, 30), "RU") == date(2025, 3, 28)  # Sunday -> Friday


def test_public_holidays_differ_by_country() -> None:
    # 3 March 2025 is Korea's substitute holiday for Independence Movement Day; an ordinary Monday in Japan.
    assert not is_working_day(date(2025, 3, 3), "KR")
    assert is_working_day(date(2025, 3, 3), "JP")
    assert working_day_on_or_before(date(2025, 3, 3), "KR") == date(2025, 2, 28)
    # Qingming (4 April 2025) in China; Seollal 28-30 January 2025 in Korea, plus the temporary holiday of
    # 27 January, so the Thursday moves back to the Friday before; the Day of the Sun (15 April) in the DPRK.
    assert working_day_on_or_before(date(2025, 4, 4), "CN") == date(2025, 4, 3)
    assert working_day_on_or_before(date(2025, 1, 30), "KR") == date(2025, 1, 24)
    assert working_day_on_or_before(date(2025, 4, 15), "KP") == date(2025, 4, 14)


def test_never_later_and_not_before_a_bound() -> None:
    assert working_day_on_or_before(date(2025, 3, 30), "KR", not_before=date(2025, 3, 29)) is None
    for day in (date(2025, 5, 1), date(2025, 5, 5), date(2025, 10, 3)):
        for country in ("CN", "KP", "JP", "MN", "KR", "RU"):
            moved = working_day_on_or_before(day, country)
            assert moved is not None and moved <= day and is_working_day(moved, country)


def test_russian_working_saturday() -> None:
    # Russia moves days off around holidays and works some Saturdays: 1 November 2025 is a working Saturday.
    assert is_working_day(date(2025, 11, 1), "RU")
    assert not is_working_day(date(2025, 11, 1), "JP")


def test_country_of_zone() -> None:
    assert country_of_zone("Asia/Bangkok") == "TH"
    assert country_of_zone("Europe/Moscow") == "RU"
    assert country_of_zone("Etc/UTC") is None
