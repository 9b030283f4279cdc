"""Prefect flows: the short, observable operations that change the database. The rules live in models/."""

from flows.runtime import configure_prefect

configure_prefect()
