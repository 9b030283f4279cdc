"""Rendering e-mails with Jinja2: every message is three templates, its subject (`<name>.subject.txt`, made one
line), a plain-text part (`<name>.txt`) and an autoescaped HTML part (`<name>.html`, given the subject for its
title; most extend `_layout.html`, the inline-styled frame that mail clients render alike), so the wording lives
in templates only and `CONSULTRACK_MAIL_TEMPLATES_DIR` can override all of it. StrictUndefined: a template that
names an unknown variable fails to render, and a half-rendered mail is never sent."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, TemplateError, select_autoescape

from config.settings import get_settings

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


class RenderError(Exception):
    """A template could not be rendered; the message is not sent and the row is marked failed."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@cache
def _environment(override: Path | None) -> Environment:
    loaders = [FileSystemLoader(str(override))] if override else []
    env = Environment(
        loader=ChoiceLoader([*loaders, FileSystemLoader(str(TEMPLATES_DIR))]),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["day"] = long_date
    env.filters["weekday"] = weekday_date
    env.filters["times"] = times
    env.filters["phrase"] = phrase
    return env


def times(count: int) -> str:
    """How often, in words: "once", "twice", "3 times"."""
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


def one_line(text: str) -> str:
    """Header values are one line: control characters (CR, LF, NUL, ...) become spaces, runs of space one."""
    return re.sub(r"\s+", " ", re.sub(r"[\x00-\x1f\x7f]", " ", text)).strip()


def long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def weekday_date(day: date) -> str:
    """'Monday 31 March': a date within the year, as subjects give it."""
    return f"{day:%A} {day.day} {day:%B}"


def zone_words(moment: datetime, zone: str) -> str:
    """'Seoul time (UTC+9)', 'Ulaanbaatar time (UTC+8)', 'Kathmandu time (UTC+5:45)': the city people know the
    zone by and its offset at that moment, instead of the IANA key."""
    offset = moment.astimezone(ZoneInfo(zone)).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign, minutes = ("+" if minutes >= 0 else "-"), abs(minutes)
    utc = "UTC" if minutes == 0 else f"UTC{sign}{minutes // 60}" + (f":{minutes % 60:02d}" if minutes % 60 else "")
    city = zone.rsplit("/", 1)[-1].replace("_", " ")
    return utc if city in ("UTC", "GMT", "UCT", "Zulu") else f"{city} time ({utc})"


def clock_text(moment: datetime, zone: str) -> str:
    """'18:00 on Monday 31 March 2025, Moscow time (UTC+3)'."""
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local:%H:%M} on {local:%A} {long_date(local.date())}, {zone_words(moment, zone)}"


def span_text(start: datetime, end: datetime, zone: str) -> str:
    """'Thursday 10 April 2025, 15:00 to 18:00, Seoul time (UTC+9)'; both ends in full when they fall on two days."""
    first, last = start.astimezone(ZoneInfo(zone)), end.astimezone(ZoneInfo(zone))
    if first.date() != last.date():
        return f"{clock_text(start, zone)} to {clock_text(end, zone)}"
    return f"{first:%A} {long_date(first.date())}, {first:%H:%M} to {last:%H:%M}, {zone_words(start, zone)}"


def deadline_text(closes: datetime, zone: str) -> str:
    """A deadline closes at midnight, which people read as the next day: 'by 23:59 on Monday 31 March 2025, Seoul
    time (UTC+9)', and the same minute in every other zone ('00:59 ... Vladivostok time')."""
    return clock_text(closes - timedelta(minutes=1), zone)


def days_text(days_left: int) -> str:
    if days_left == 0:
        return "today"
    if days_left > 0:
        return "1 day" if days_left == 1 else f"{days_left} days"
    late = -days_left
    return "1 day overdue" if late == 1 else f"{late} days overdue"


def phrase(stage_name: str) -> str:
    """'Preliminary feedback on ...' -> 'preliminary feedback on ...'; leaves acronyms ('NFP meeting') alone."""
    if len(stage_name) > 1 and stage_name[0].isupper() and stage_name[1].islower():
        return stage_name[0].lower() + stage_name[1:]
    return stage_name


def subject_for(message: str, ctx: dict[str, Any]) -> str:
    """The subject, from `<message>.subject.txt` (so an override directory can reword it like the rest), made one
    line; RenderError as `render`."""
    try:
        return one_line(
            _environment(get_settings().mail_templates_dir).get_template(f"{message}.subject.txt").render(ctx)
        )
    except TemplateError as exc:
        raise RenderError(f"template {message}: {type(exc).__name__}: {exc}") from exc


def render(message: str, ctx: dict[str, Any]) -> Rendered:
    """Subject, text and HTML of `message`; RenderError when a template is missing or names an unknown value."""
    env = _environment(get_settings().mail_templates_dir)
    subject = subject_for(message, ctx)
    try:
        text = env.get_template(f"{message}.txt").render(ctx)
        html = env.get_template(f"{message}.html").render({**ctx, "subject": subject})
    except TemplateError as exc:
        raise RenderError(f"template {message}: {type(exc).__name__}: {exc}") from exc
    return Rendered(subject, text, html)
