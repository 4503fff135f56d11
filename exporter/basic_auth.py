"""HTTP basic auth against bcrypt hashes (the `basic_auth_users` of the web config file).

The password is checked with bcrypt against the user's hash; an unknown user is checked against a
dummy hash of the same cost, so the answer takes as long as for a known user. Successful checks
are remembered as an HMAC of user and password under a per-process random key, and looked up by
comparing with every remembered value in constant time, so that a scraper does not cost a bcrypt
run at every scrape. Failures are never remembered. At most two bcrypt checks run at once, so a
flood of wrong passwords cannot take every core. bcrypt reads at most 72 bytes: a longer password
never matches.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
from collections.abc import Mapping

_BCRYPT_MAX_BYTES = 72
_CACHE_SIZE = 256
_CHECKS_AT_ONCE = 2


class BasicAuth:
    """Checks `Authorization: Basic ...` headers against bcrypt hashes (see module docstring)."""

    def __init__(self, users: Mapping[str, bytes]) -> None:
        import bcrypt

        self._bcrypt = bcrypt
        self._users = dict(users)
        cost = max((int(h[4:6]) for h in self._users.values()), default=10)
        self._dummy = bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt(cost))
        self._key = secrets.token_bytes(32)
        self._verified: dict[bytes, None] = {}
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(_CHECKS_AT_ONCE)

    def __call__(self, header: str | None) -> bool:
        credentials = parse_basic(header)
        if credentials is None:
            return False
        user, password = credentials
        digest = hmac.new(self._key, user.encode() + b"\0" + password, hashlib.sha256).digest()
        with self._lock:
            known = list(self._verified)
        remembered = False
        for item in known:  # every item compared, in constant time each
            remembered |= hmac.compare_digest(item, digest)
        if remembered:
            return True
        hashed = self._users.get(user)
        ok = self._check(password, hashed if hashed is not None else self._dummy)
        if ok and hashed is not None:
            with self._lock:
                if len(self._verified) >= _CACHE_SIZE:
                    self._verified.pop(next(iter(self._verified)))
                self._verified[digest] = None
            return True
        return False

    def _check(self, password: bytes, hashed: bytes) -> bool:
        if len(password) > _BCRYPT_MAX_BYTES:
            password = b""  # bcrypt only reads 72 bytes; such a password never matches
        if not self._slots.acquire(timeout=10.0):
            return False
        try:
            return bool(self._bcrypt.checkpw(password, hashed))
        except ValueError:
            return False
        finally:
            self._slots.release()


def parse_basic(header: str | None) -> tuple[str, bytes] | None:
    """(user, password) from an `Authorization: Basic` header, or None when it is not one."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, sep, password = decoded.partition(b":")
    if not sep:
        return None
    try:
        return user.decode("utf-8"), password
    except UnicodeDecodeError:
        return None
