"""Reminder e-mails: planning rows from the timeline, rendering, sending exactly once."""
