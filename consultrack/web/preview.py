"""The reschedule preview, as the dashboard and the API show it: computed in consultrack/reschedule_preview.py,
which the CLI shows too (the two faces do not import each other)."""

from consultrack.reschedule_preview import EventChange, Preview, ReminderChange, reschedule_preview

__all__ = ["EventChange", "Preview", "ReminderChange", "reschedule_preview"]
