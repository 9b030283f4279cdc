"""Rendering e-mails with Jinja2: every message is three templates, its subject (`<name>.subject.txt`, made one
line), a plain-text part (`<name>.txt`) and an autoescaped HTML part (`<name>.html`), so the wording lives in
templates only and `CONSULTRACK_MAIL_TEMPLATES_DIR` can override all of it. StrictUndefined: a template that
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


def clock_text(moment: datetime, zone: str) -> str:
    """'Monday 31 March 2025, 18:00 (Europe/Moscow)'; midnight is shown as 24:00 of the day before."""
    local = moment.astimezone(ZoneInfo(zone))
    if local.hour == 0 and local.minute == 0:
        day, hhmm = (local - timedelta(days=1)).date(), "24:00"
    else:
        day, hhmm = local.date(), f"{local:%H:%M}"
    return f"{day:%A} {long_date(day)}, {hhmm} ({zone})"


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
    try:
        text = env.get_template(f"{message}.txt").render(ctx)
        html = env.get_template(f"{message}.html").render(ctx)
    except TemplateError as exc:
        raise RenderError(f"template {message}: {type(exc).__name__}: {exc}") from exc
    return Rendered(subject_for(message, ctx), text, html)
