"""Who may call the API: a bearer key for ``/v1``, and where the server may listen.

When an API key is set (``DAWN_API_KEY``), every ``/v1`` request needs the header
``Authorization: Bearer <key>``; keys are compared in constant time. Without a key the
server only listens on a loopback address, so an open API never leaves the machine.

>>> check_listen("127.0.0.1", None)
>>> check_listen("0.0.0.0", None)
Traceback (most recent call last):
...
dawn.errors.ConfigError: refusing to listen on '0.0.0.0' without an API key: ...
>>> key_matches("Bearer s3cret", "s3cret"), key_matches("Bearer nope", "s3cret")
(True, False)
"""

from __future__ import annotations

import hmac
import ipaddress
import os

from dawn.errors import ConfigError

__all__ = ["ENV_KEY", "api_key_from_env", "check_listen", "is_loopback", "key_matches"]

ENV_KEY = "DAWN_API_KEY"


def api_key_from_env(api_key: str | None = None) -> str | None:
    """``api_key`` if given, else ``$DAWN_API_KEY``; empty means no key."""
    key = api_key if api_key is not None else os.environ.get(ENV_KEY)
    return key or None


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) is reachable only from this machine."""
    if host.strip().lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def check_listen(host: str, api_key: str | None) -> None:
    """Raise :class:`ConfigError` when ``host`` is not loopback and no key is set."""
    if api_key is None and not is_loopback(host):
        raise ConfigError(
            f"refusing to listen on {host!r} without an API key: anyone who can reach it "
            f"could use the API. Set {ENV_KEY} (clients then send 'Authorization: Bearer "
            "<key>'), or listen on 127.0.0.1.")


def key_matches(authorization: str | None, api_key: str) -> bool:
    """Whether an ``Authorization`` header carries ``Bearer <api_key>`` (constant time)."""
    scheme, _, token = (authorization or "").partition(" ")
    ok_scheme = scheme.lower() == "bearer"
    same = hmac.compare_digest(token.strip().encode("utf-8"), api_key.encode("utf-8"))
    return ok_scheme and same
