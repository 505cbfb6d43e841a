"""Ed25519 signatures over what Flex publishes: every record as sent, and every checkpoint.

The private key is read from ``FLEX_AUDIT_SIGNING_KEY_FILE`` (PKCS#8 PEM); with ``DEBUG``
on and none set, one is generated once under ``var/``. A key is named by its id, the first
16 hex digits of SHA-256 of the raw 32-byte public key. Each public key Flex signs with is
kept in ``SigningKey`` (``GET /api/audit/keys``, ``manage.py audit_keys``); when another
key takes over, the old one is marked retired and stays listed, so what it signed still
verifies. Ed25519 signatures are deterministic: the same bytes under the same key always
give the same signature, so the record page can show the one a consumer received.
Checking signatures is ``audit/verify.py``'s (it runs without Django).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import SigningKey

ALG = "Ed25519"
DEV_KEY_NAME = "audit_signing_key.pem"
CHUNK = 50  # records signed per task of the signing thread


class SigningKeyError(Exception):
    """There is no usable signing key: the message says why."""


def key_id_for(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:16]


@dataclass(frozen=True)
class Signer:
    """A loaded private key, its raw public key and id."""

    key: Ed25519PrivateKey
    public_raw: bytes
    key_id: str

    @property
    def public_b64(self) -> str:
        return base64.b64encode(self.public_raw).decode()

    def sign(self, data: bytes) -> str:
        """The signature of ``data``, base64."""
        return base64.b64encode(self.key.sign(data)).decode()

    def sign_all(self, values: Sequence[bytes]) -> Iterator[str]:
        """Signatures of ``values`` in order, made from now on by a thread of their own.

        OpenSSL signs without holding the GIL: while the caller does other work (a batch
        on its way to Kafka, producing the first messages) they are made on the other core.
        """
        futures = [
            _pool().submit(self._sign_chunk, values[i : i + CHUNK])
            for i in range(0, len(values), CHUNK)
        ]
        return (signature for future in futures for signature in future.result())

    def _sign_chunk(self, chunk: Sequence[bytes]) -> list[str]:
        return [self.sign(value) for value in chunk]


_pool_lock = threading.Lock()
_pools: dict[int, ThreadPoolExecutor] = {}


def _pool() -> ThreadPoolExecutor:
    """One signing thread per process (a forked worker makes its own)."""
    with _pool_lock:
        pool = _pools.get(os.getpid())
        if pool is None:
            pool = _pools[os.getpid()] = ThreadPoolExecutor(1, thread_name_prefix="audit-sign")
        return pool


def key_path() -> Path:
    """Where the private key is; raises SigningKeyError when there is none to use."""
    if settings.FLEX_AUDIT_SIGNING_KEY_FILE:
        return Path(settings.FLEX_AUDIT_SIGNING_KEY_FILE)
    if settings.DEBUG:
        return Path(settings.VAR_DIR) / DEV_KEY_NAME
    raise SigningKeyError("FLEX_AUDIT_SIGNING_KEY_FILE is not set (and DEBUG is off)")


def generate_key_file(path: Path) -> None:
    """Write a new Ed25519 private key to ``path`` (PKCS#8 PEM, readable by its owner only)."""
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)


def load_signer(path: Path) -> Signer:
    """The key in ``path``; SigningKeyError naming what is wrong with the file."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise SigningKeyError(f"{path} cannot be read: {exc.strerror}") from None
    return _load(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int, size: int) -> Signer:
    try:
        with open(path, "rb") as file:
            key = serialization.load_pem_private_key(file.read(), password=None)
    except OSError as exc:
        raise SigningKeyError(f"{path} cannot be read: {exc.strerror}") from None
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{path} holds no unencrypted PKCS#8 PEM key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
    public_raw = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return Signer(key, public_raw, key_id_for(public_raw))


def current_signer() -> Signer:
    """The key Flex signs with now (generated first when DEBUG allows), its public key listed."""
    path = key_path()
    if not settings.FLEX_AUDIT_SIGNING_KEY_FILE and not path.exists():
        with contextlib.suppress(FileExistsError):  # another process made it first
            generate_key_file(path)
    signer = load_signer(path)
    register(signer)
    return signer


def register(signer: Signer) -> None:
    """List ``signer``'s public key as the current one; retire any other (they stay listed)."""
    if SigningKey.objects.filter(id=signer.key_id, retired=None).exists():
        return
    now = timezone.now()
    try:
        with transaction.atomic():
            SigningKey.objects.get_or_create(
                id=signer.key_id,
                defaults={"alg": ALG, "public_key": signer.public_b64, "created": now},
            )
    except IntegrityError:  # registered by another process meanwhile
        pass
    SigningKey.objects.filter(id=signer.key_id).update(retired=None)
    SigningKey.objects.filter(retired=None).exclude(id=signer.key_id).update(retired=now)


def key_json(key: SigningKey) -> dict:
    return {
        "id": key.id,
        "alg": key.alg,
        "public_key": key.public_key,
        "created": _iso(key.created),
        "retired": _iso(key.retired) if key.retired else None,
    }


def keys_json() -> dict:
    """Every public key Flex signed with, current first: ``{"keys": [...]}``."""
    with contextlib.suppress(SigningKeyError):  # none to sign with now: listed ones verify
        current_signer()
    keys = sorted(SigningKey.objects.all(), key=lambda k: (k.retired is not None, k.created))
    return {"keys": [key_json(k) for k in keys]}


def _iso(moment) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
