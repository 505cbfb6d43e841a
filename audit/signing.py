"""Ed25519 signatures over what Flex publishes: every record as sent, and every checkpoint.

The private key is read from ``FLEX_AUDIT_SIGNING_KEY_FILE`` (PKCS#8 PEM); with ``DEBUG``
on and none set, one is generated once under ``var/``. A key is named by its id, the first
16 hex digits of SHA-256 of the raw 32-byte public key. Each public key Flex signs with is
kept in ``SigningKey`` (``GET /api/audit/keys``, ``manage.py audit_keys``); when another
key takes over, the old one is marked retired and stays listed, so what it signed still
verifies. The gate signs each record as it writes it (``sign_draft``, over the text the
sinks will publish: ``audit/published.py``); the sinks sign whatever they send that was not.
Checking signatures is ``audit/verify.py``'s (it runs without Django).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import SigningKey
from audit.published import NotWritable, jsonb_text

ALG = "Ed25519"
DEV_KEY_NAME = "audit_signing_key.pem"
REGISTER_EVERY = 30.0  # seconds a process trusts that its key is listed before checking


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

    def sign_record(self, record, text: str) -> None:
        """Sign ``record`` as published (``text``): its signature, key id and text digest."""
        data = text.encode()
        record.signature = self.sign(data)
        record.key_id = self.key_id
        record.signed_sha256 = hashlib.sha256(data).hexdigest()


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


def signer_now() -> Signer:
    """The key Flex signs with now (generated first when DEBUG allows and there is none)."""
    path = key_path()
    if not settings.FLEX_AUDIT_SIGNING_KEY_FILE and not path.exists():
        with contextlib.suppress(FileExistsError):  # another process made it first
            generate_key_file(path)
    return load_signer(path)


def current_signer(*, listed: bool = False) -> Signer:
    """``signer_now()``, its public key listed: checked every ``REGISTER_EVERY`` seconds a
    process (at once when ``listed``). Whatever publishes signatures calls it."""
    signer = signer_now()
    if listed or time.monotonic() - _listed.get(signer.key_id, -REGISTER_EVERY) >= REGISTER_EVERY:
        register(signer)
        _listed[signer.key_id] = time.monotonic()
    return signer


_listed: dict[str, float] = {}  # key id -> when this process last saw it listed


def forget_listed() -> None:
    """Check again at the next signature that the key is listed (a test rolled it back)."""
    _listed.clear()


def sign_draft(record) -> None:
    """Sign a record about to be written, over the text the sinks will publish; left
    unsigned (the sink signs it then) when that cannot be done now. No query on the
    request path: the sinks list the key as they publish (``current_signer``)."""
    with contextlib.suppress(SigningKeyError, NotWritable):
        signer_now().sign_record(record, jsonb_text(record.document))


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
        current_signer(listed=True)
    keys = sorted(SigningKey.objects.all(), key=lambda k: (k.retired is not None, k.created))
    return {"keys": [key_json(k) for k in keys]}


def _iso(moment) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
