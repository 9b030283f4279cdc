"""The VTIMEZONE builder lives in models/vtimezone.py: the feeds and the e-mails' invitations (notifications/,
which may not import calendars/) write the same zones."""

from __future__ import annotations

from models.vtimezone import vtimezone

__all__ = ["vtimezone"]
