"""iCalendar feeds rendered from the models: process, member State and personal feeds."""
