"""The mail layer: wording (Jinja2 templates, one .txt and one .html per message), MIME, the .ics attachment, SMTP
transport and the local sink. It knows nothing of reminders: whatever sends a message goes through here."""
