"""E-mail addresses as the directory stores them: checked by email-validator, lowercased whole.

email-validator spends most of its time on the part after the @ (IDNA and UTS #46 checks, character by
character), which in a directory is the same few domains over and over: a directory of 200,000 people spent
three quarters of its import there. For the usual address (a plain ASCII local part and an ASCII host name) the
domain's verdict is therefore taken once per domain and reused; anything else, and anything that fails, is
judged by email-validator on the whole address, so the answers and the messages are the library's own."""

from __future__ import annotations

import re
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

_ATEXT = r"A-Za-z0-9!#$%&'*+\-/=?^_`{|}~"
_PLAIN = re.compile(rf"([{_ATEXT}]+(?:\.[{_ATEXT}]+)*)@([A-Za-z0-9.\-]+)\Z")
"""A dot-atom local part (RFC 5322 3.2.3, which email-validator accepts as it is) at an ASCII host name."""
_MAX_LENGTH = 254
"""email-validator's limit on the whole address (RFC 5321 4.5.3.1.3), as given and as normalised."""


@lru_cache(maxsize=4096)
def _domain(domain: str) -> tuple[str, str]:
    """The normalised and the ASCII (IDNA) form of a domain, as email-validator gives them for any local part
    that passes its own checks; raises EmailNotValidError for a domain it refuses."""
    checked = validate_email(f"a@{domain}", check_deliverability=False)
    return checked.domain, checked.ascii_domain


def normalized_address(address: str) -> str:
    """`validate_email(address, check_deliverability=False).normalized.lower()`, faster when domains repeat;
    raises email-validator's EmailNotValidError with its message."""
    plain = _PLAIN.match(address)
    if plain is not None:
        local = plain.group(1)
        try:
            domain, ascii_domain = _domain(plain.group(2))
        except EmailNotValidError:
            pass  # judged again below, whole, for the library's own message
        else:
            normalized = f"{local}@{domain}"
            if max(len(address), len(normalized.encode()), len(local) + 1 + len(ascii_domain)) <= _MAX_LENGTH:
                return normalized.lower()
    return validate_email(address, check_deliverability=False).normalized.lower()
