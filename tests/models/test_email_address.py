"""The directory's address check gives email-validator's answers (and messages) while validating each domain once."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email

from models.email_address import _domain, normalized_address

LONG_LABEL = "l" * 63
ADDRESSES = [
    # plain addresses: the per-domain path
    "anna.volkova@example.org",
    "Anna.Volkova@Example.ORG",
    "info@example.org",
    "SUPPORT@example.org",
    "a@b.co",
    "o'brien+tag@example.org",
    "x!#$%&'*+-/=?^_`{|}~@example.org",
    "first.last@sub.example.co.uk",
    "user@xn--bcher-kva.example",
    "user@EXAMPLE.xn--p1ai",
    "user@my-host.example.org",
    "user@123.example",
    f"{'a' * 64}@example.org",
    f"{'a' * 65}@example.org",
    f"a@{LONG_LABEL}.{LONG_LABEL}.{LONG_LABEL}.example.org",
    f"{'a' * 60}@{LONG_LABEL}.{LONG_LABEL}.{LONG_LABEL}.org",  # over 254 characters in all
    f"{'a' * 64}@{LONG_LABEL}.{LONG_LABEL}.{'l' * 57}.org",  # exactly 254 characters
    # domains email-validator refuses
    "user@localhost",
    "user@example",
    "user@example.invalid",
    "user@example.test",
    "user@host.local",
    "user@example.123",
    "user@-example.org",
    "user@example-.org",
    "user@example..org",
    "user@.example.org",
    "user@example.org.",
    f"user@{'l' * 64}.org",
    "user@ex_ample.org",
    "user@xn--zz.example",
    "user@ab--cd.example",
    "user@1.2.3.4",
    "user@[127.0.0.1]",
    # local parts and shapes that take the library's own path
    "",
    "@example.org",
    "user@",
    "user",
    "user@@example.org",
    ".user@example.org",
    "user.@example.org",
    "us..er@example.org",
    '"quoted user"@example.org',
    '"plain"@example.org',
    "Anna <anna@example.org>",
    "anna volkova@example.org",
    "user@exa mple.org",
    "анна@example.org",
    "user@bücher.example",
    "USER@BÜCHER.EXAMPLE",
    "user@example.org\n",
    "us\x00er@example.org",
    "user\u200b@example.org",
    "user@exam\u00adple.org",
    "a@b@example.org",
]


def _library(address: str) -> str:
    try:
        return validate_email(address, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        return f"refused: {exc}"


def _ours(address: str) -> str:
    try:
        return normalized_address(address)
    except EmailNotValidError as exc:
        return f"refused: {exc}"


@pytest.mark.parametrize("address", ADDRESSES)
def test_the_same_answer_as_email_validator(address: str) -> None:
    _domain.cache_clear()
    assert _ours(address) == _library(address)
    assert _ours(address) == _library(address)  # and again, with the domain's verdict now remembered


def test_each_domain_is_validated_once() -> None:
    _domain.cache_clear()
    for n in range(1000):
        normalized_address(f"person.{n}@example.org")
        normalized_address(f"person.{n}@Example.org")
    assert _domain.cache_info().misses == 2
