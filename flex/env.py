"""Typed readers for environment variables.

Each reader returns the default when the variable is unset or empty and raises
``ImproperlyConfigured`` naming the variable when its value is malformed, so a
typo stops start-up instead of silently meaning something else.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}


def _raw(name: str, env: Mapping[str, str] | None) -> str | None:
    value = (os.environ if env is None else env).get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def env_str(name: str, default: str = "", env: Mapping[str, str] | None = None) -> str:
    value = _raw(name, env)
    return default if value is None else value


def env_bool(name: str, default: bool, env: Mapping[str, str] | None = None) -> bool:
    value = _raw(name, env)
    if value is None:
        return default
    if value.lower() in TRUE:
        return True
    if value.lower() in FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(
    name: str,
    default: int,
    env: Mapping[str, str] | None = None,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    value = _raw(name, env)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}, not {number}")
    return number


def env_list(name: str, default: list[str], env: Mapping[str, str] | None = None) -> list[str]:
    value = _raw(name, env)
    if value is None:
        return list(default)
    items = [item.strip() for item in value.split(",")]
    if any(item == "" for item in items):
        raise ImproperlyConfigured(f"{name} has an empty item in {value!r}")
    return items


def env_choice(
    name: str,
    default: str,
    choices: tuple[str, ...],
    env: Mapping[str, str] | None = None,
) -> str:
    value = _raw(name, env)
    if value is None:
        return default
    for choice in choices:
        if value.lower() == choice.lower():
            return choice
    raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {value!r}")


def env_url(
    name: str, schemes: tuple[str, ...], env: Mapping[str, str] | None = None
) -> str | None:
    """A URL whose scheme is one of ``schemes`` and which names a host (or a path for files)."""
    value = _raw(name, env)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in schemes:
        raise ImproperlyConfigured(
            f"{name} must be a URL starting with {' or '.join(s + '://' for s in schemes)}, "
            f"not {value!r}"
        )
    if not parts.netloc and not parts.path.strip("/"):
        raise ImproperlyConfigured(f"{name} names no host: {value!r}")
    return value


def env_bootstrap(name: str, default: str, env: Mapping[str, str] | None = None) -> str:
    """Kafka bootstrap servers: comma-separated host:port pairs."""
    value = _raw(name, env) or default
    for server in value.split(","):
        host, sep, port = server.strip().rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ImproperlyConfigured(
                f"{name} must be comma-separated host:port pairs, not {value!r}"
            )
    return ",".join(s.strip() for s in value.split(","))


def env_path(name: str, env: Mapping[str, str] | None = None) -> str:
    """A file path, made absolute (``~`` expanded) so every process reads the same file
    whatever its working directory; "" when unset. Whether it exists is a system check."""
    value = _raw(name, env)
    if value is None:
        return ""
    if "\x00" in value or "\n" in value:
        raise ImproperlyConfigured(f"{name} must be a file path, not {value!r}")
    return os.path.abspath(os.path.expanduser(value))


def env_secret(name: str, env: Mapping[str, str] | None = None) -> str:
    """A password, kept exactly as given (spaces included); "" when unset or blank."""
    value = (os.environ if env is None else env).get(name)
    if value is None or value.strip() == "":
        return ""
    return value


def env_networks(name: str, env: Mapping[str, str] | None = None) -> tuple:
    """Comma-separated IP addresses or CIDRs (``10.0.0.0/8``, ``::1``); () when unset."""
    import ipaddress

    networks = []
    for item in env_list(name, [], env):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} must be IP addresses or CIDRs separated by commas, not {item!r}"
            ) from None
    return tuple(networks)
