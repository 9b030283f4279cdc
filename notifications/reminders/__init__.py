"""Reminders: rows planned from the timeline (who, when), claimed and swept exactly once, and the read models
(preview, history, digest) that show them."""
