"""Whose address a sign-in comes from, against a real uvicorn configured as `consultrack serve` is: the
connecting address, unless the connection comes from a configured trusted proxy (CONSULTRACK_TRUSTED_PROXIES),
which names the client in X-Forwarded-For. A header sent by anyone else changes nothing, so it cannot dodge the
throttle; a client of the proxy locked out does not lock out the others.

The whole of 127.0.0.0/8 is this machine on Linux: a client bound to 127.0.0.2 is another address to the server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from config.settings import reset_settings
from models.accounts import MAX_LOGIN_FAILURES
from tests.web.conftest import ADMIN, ADMIN_PASSWORD, csrf_of, serving

ATTACKER, OWNER = "203.0.113.7", "198.51.100.20"


def _browser(url: str, source: str = "127.0.0.1") -> httpx.Client:
    """A client with its own cookies, connecting from `source`."""
    return httpx.Client(
        base_url=url, follow_redirects=False, timeout=30, transport=httpx.HTTPTransport(local_address=source)
    )


def _sign_in(browser: httpx.Client, password: str, forwarded_for: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    token = csrf_of(browser.get("/login", headers=headers).text)
    return browser.post(
        "/login", headers=headers, data={"csrf_token": token, "username": ADMIN, "password": password}
    ).status_code


@pytest.fixture
def direct(accounts: dict[str, str]) -> Iterator[str]:
    """The service with no trusted proxy (the default)."""
    from consultrack.web.app import create_app

    with serving(create_app()) as url:
        yield url


@pytest.fixture
def behind_proxy(accounts: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The service trusting 127.0.0.1 as its proxy, as deploy/up sets up its replicas behind nginx."""
    from consultrack.web.app import create_app

    monkeypatch.setenv("CONSULTRACK_TRUSTED_PROXIES", "127.0.0.1")
    reset_settings()
    with serving(create_app()) as url:
        yield url
    reset_settings()


def _lock_out(browser: httpx.Client, forwarded_for: Any = lambda n: None) -> None:
    for n in range(MAX_LOGIN_FAILURES):
        assert _sign_in(browser, f"wrong password {n}", forwarded_for(n)) == 401


def test_forwarded_for_from_an_untrusted_peer_is_ignored(direct: str) -> None:
    with _browser(direct) as attacker, _browser(direct, "127.0.0.2") as owner:
        _lock_out(attacker, lambda n: f"192.0.2.{n + 1}")  # a new claimed address each time: all one client
        assert _sign_in(attacker, ADMIN_PASSWORD, OWNER) == 429  # claiming to be someone else does not help
        assert _sign_in(attacker, ADMIN_PASSWORD) == 429
        assert _sign_in(owner, ADMIN_PASSWORD) == 303  # another address: the owner gets in


def test_forwarded_for_from_a_trusted_proxy_names_the_client(behind_proxy: str) -> None:
    with _browser(behind_proxy) as proxy, _browser(behind_proxy, "127.0.0.2") as stranger:
        _lock_out(proxy, lambda n: ATTACKER)
        assert _sign_in(proxy, ADMIN_PASSWORD, ATTACKER) == 429
        # The proxy appends the address it sees to whatever the client sent: the right-most address that is not
        # a trusted proxy is the client, so a spoofed one to its left does not help either.
        assert _sign_in(proxy, ADMIN_PASSWORD, f"{OWNER}, {ATTACKER}") == 429
        assert _sign_in(proxy, ADMIN_PASSWORD, f"{OWNER}, 127.0.0.1") == 303  # the proxy's other client gets in

        # A peer that is not a trusted proxy is its own client, whatever it claims.
        _lock_out(stranger, lambda n: f"192.0.2.{n + 1}")
        assert _sign_in(stranger, ADMIN_PASSWORD, "192.0.2.99") == 429
        assert _sign_in(proxy, ADMIN_PASSWORD, "192.0.2.99") == 303


def test_trusted_proxies_are_addresses_or_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    from config.settings import InvalidSettings, get_settings

    monkeypatch.setenv("CONSULTRACK_TRUSTED_PROXIES", " 127.0.0.1, 10.1.2.3/8,::1,, ")
    reset_settings()
    assert get_settings().trusted_proxy_list == ["127.0.0.1", "10.0.0.0/8", "::1"]
    monkeypatch.setenv("CONSULTRACK_TRUSTED_PROXIES", "127.0.0.1,nginx")
    reset_settings()
    with pytest.raises(InvalidSettings) as refused:
        get_settings()
    assert str(refused.value) == (
        "invalid settings: CONSULTRACK_TRUSTED_PROXIES='127.0.0.1,nginx': "
        "'nginx' is not an IP address or a CIDR network"
    )
    monkeypatch.delenv("CONSULTRACK_TRUSTED_PROXIES")
    reset_settings()
    assert get_settings().trusted_proxy_list == []
