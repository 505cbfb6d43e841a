"""Counters shared by every process (the ``shared`` cache: Redis when ``REDIS_URL`` is set).

Fixed windows: the first hit starts a window of ``window`` seconds; what counts within it
decides. Used to throttle password sign-in (per account and per address) and to cap the
``auth/api-refused`` records one address can cause. When Redis cannot be reached the
counters answer 0: sign-in and recording go on rather than failing with it (logged).
"""

from __future__ import annotations

import logging

from django.core.cache import caches

log = logging.getLogger("flex.throttle")

SIGN_IN_FAILURES = 10  # failed sign-ins within SIGN_IN_WINDOW before refusing
SIGN_IN_WINDOW = 300  # seconds; a throttled account or address waits out the window
API_REFUSED_RECORDS = 5  # auth/api-refused records per address per API_REFUSED_WINDOW
API_REFUSED_WINDOW = 60


def _cache():
    return caches["shared"]


def hit(key: str, window: int) -> int:
    """Count one more in ``key``'s window; the count so far (this one included)."""
    try:
        cache = _cache()
        cache.add(key, 0, timeout=window)
        return cache.incr(key)
    except ValueError:  # the window closed between add and incr
        return hit(key, window)
    except Exception as exc:
        log.warning("throttle counter %s unavailable: %s", key, exc)
        return 0


def count(key: str) -> int:
    try:
        return int(_cache().get(key) or 0)
    except Exception as exc:
        log.warning("throttle counter %s unavailable: %s", key, exc)
        return 0


def sign_in_keys(username: str, address: str) -> tuple[str, str]:
    return f"sign-in:account:{username.strip().lower()[:150]}", f"sign-in:address:{address}"


def sign_in_throttled(username: str, address: str) -> bool:
    """Has this account or this address failed ``SIGN_IN_FAILURES`` times in the window?"""
    return any(count(key) >= SIGN_IN_FAILURES for key in sign_in_keys(username, address))


def sign_in_failed(username: str, address: str) -> None:
    for key in sign_in_keys(username, address):
        hit(key, SIGN_IN_WINDOW)


def api_refusal_recordable(address: str) -> bool:
    """Whether this refused API authentication still gets its record (a flood does not)."""
    return hit(f"api-refused:{address}", API_REFUSED_WINDOW) <= API_REFUSED_RECORDS
