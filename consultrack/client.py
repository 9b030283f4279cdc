"""Where a change runs. When a service answers for this database, the CLI sends the change through its API (Prefect
is warm there, so it costs a fraction of a second); otherwise the flow runs in this process, as it always could.

The service is the one at CONSULTRACK_SERVICE_URL, else the base URL. It is used only if its /healthz names the
same database as ours and we hold an API token (CONSULTRACK_API_TOKEN, or <data_dir>/api-token written by
`consultrack api-token new --save`). Changes made through the API are audited under the token's account."""

from __future__ import annotations

import hashlib
import os
from datetime import date, time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from config.settings import get_settings
from flows.operations import Operation
from models.errors import error_for

PROBE_TIMEOUT = 0.5
TOKEN_FILE = "api-token"  # noqa: S105 - a file name, not a secret


def database_identity() -> str:
    """A digest of where the database is (the URL without its password, so the public digest is no help in
    guessing one), published by /healthz."""
    from sqlalchemy.engine import URL, make_url

    url = make_url(get_settings().sqlalchemy_url)
    where = URL.create(url.drivername, url.username, None, url.host, url.port, url.database, url.query)
    return hashlib.sha256(where.render_as_string(hide_password=False).encode()).hexdigest()[:16]


def api_token() -> str | None:
    token = os.environ.get("CONSULTRACK_API_TOKEN")
    if token:
        return token.strip()
    path = Path(get_settings().data_dir) / TOKEN_FILE
    return path.read_text().strip() if path.is_file() else None


def service_url() -> str:
    settings = get_settings()
    return (settings.service_url or settings.base_url).rstrip("/")


def running_service() -> str | None:
    """The URL of a service working on our database, or None (nothing answers, or it serves another one)."""
    import httpx

    url = service_url()
    try:
        answer = httpx.get(f"{url}/healthz", timeout=PROBE_TIMEOUT)
        facts = answer.json()
    except (httpx.HTTPError, ValueError):
        return None
    same_db = isinstance(facts, dict) and facts.get("database", {}).get("id") == database_identity()
    return url if same_db and facts.get("prefect", {}).get("ok") else None


def _through_api(url: str, token: str, operation: Operation, kwargs: dict[str, Any]) -> Any:
    """POST the operation to its route; a refusal comes back as the error its code names (models/errors.py)."""
    import httpx

    path = "/api" + operation.api_path.format(
        **{k: quote(str(kwargs[k]), safe="") for k in ("process_key", operation.key_parameter)}
    )
    body = {
        k: (v.isoformat() if isinstance(v, date | time) else v)
        for k, v in kwargs.items()
        if k in operation.parameters and v is not None
    }
    answer = httpx.post(url + path, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=120)
    if answer.status_code == 200:
        return answer.json()
    try:
        refusal = answer.json()
        message, code = refusal.get("error") or answer.text, refusal.get("code")
    except (ValueError, AttributeError):
        message, code = answer.text, None
    raise error_for(code, f"{message} (via the service at {url})")


def run_operation(operation: Operation, **kwargs: Any) -> Any:
    token = api_token()
    url = running_service() if token else None
    if url is not None and token is not None:
        return _through_api(url, token, operation, kwargs)
    from flows.engine import run

    return run(operation.flow, **kwargs)
