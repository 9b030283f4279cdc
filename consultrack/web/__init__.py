"""The web face: FastAPI app serving the dashboard, the JSON API and the calendar feeds."""
