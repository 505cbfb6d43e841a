"""Check Flex's audit records and checkpoints without Flex: ``python -m audit.verify``.

Needs only the standard library and ``cryptography`` (no Django, no database), so an
auditor runs it anywhere on files saved from Flex's API and from the audit topic:

    python -m audit.verify --keys keys.json --checkpoint cp.json \\
        --record rec.json --proof proof.json

- ``keys.json``: ``GET /api/audit/keys``.
- ``cp.json``: a checkpoint (``GET /api/audit/checkpoints/latest`` or ``…/<seq>``),
  saved somewhere Flex cannot change it.
- ``rec.json``: the record exactly as published (the topic message's value, or the
  ``value`` of the proof answer); its signature comes from ``proof.json`` or from
  ``--signature``/``--key-id`` (the topic's ``flex-signature`` and ``flex-key-id`` headers).
- ``proof.json``: ``GET /api/audit/<id>/proof?checkpoint=<seq>`` (an inclusion proof).
- ``--from-checkpoint old.json --consistency c.json``: the checkpoint of ``--checkpoint``
  extends ``old.json`` (``GET /api/audit/checkpoints/consistency?from=&to=``).

Exit 0 when everything given checks out, 1 naming each problem. Flex uses the helpers
below (``checkpoint_message``, ``signature_problem``) for its own checks too.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit import merkle

CHECKPOINT_FIELDS = ("seq", "head", "root", "records", "ts")


def checkpoint_message(checkpoint: dict) -> bytes:
    """The bytes a checkpoint's signature covers: its five fields as canonical JSON."""
    body = {name: checkpoint[name] for name in CHECKPOINT_FIELDS}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def public_keys(keys_json: dict) -> dict[str, Ed25519PublicKey]:
    """Key id → public key, from the answer of ``GET /api/audit/keys``."""
    keys = {}
    for entry in keys_json.get("keys", []):
        if entry.get("alg") == "Ed25519":
            raw = base64.b64decode(entry["public_key"])
            keys[entry["id"]] = Ed25519PublicKey.from_public_bytes(raw)
    return keys


def signature_problem(
    keys: dict[str, Ed25519PublicKey], key_id: str | None, signature: str | None, data: bytes
) -> str | None:
    """None when ``signature`` (base64) by key ``key_id`` signs ``data``; else what is wrong."""
    if not signature or not key_id:
        return "not signed (no signature or key id)"
    key = keys.get(key_id)
    if key is None:
        return f"signed with an unknown key {key_id!r}"
    try:
        key.verify(base64.b64decode(signature, validate=True), data)
    except (InvalidSignature, binascii.Error, ValueError):
        return f"the signature does not verify with key {key_id}"
    return None


def _hex(value: str) -> bytes:
    return bytes.fromhex(value)


class Verifier:
    """Collects what checked out and what did not."""

    def __init__(self, keys: dict[str, Ed25519PublicKey]) -> None:
        self.keys = keys
        self.ok: list[str] = []
        self.problems: list[str] = []

    def check(self, problem: str | None, good: str) -> bool:
        if problem:
            self.problems.append(problem)
        else:
            self.ok.append(good)
        return problem is None

    def checkpoint(self, cp: dict, name: str) -> bool:
        try:
            data = checkpoint_message(cp)
        except KeyError as exc:
            return self.check(f"{name}: not a checkpoint (no {exc})", "")
        problem = signature_problem(self.keys, cp.get("key_id"), cp.get("signature"), data)
        return self.check(
            problem and f"{name} #{cp['seq']}: {problem}",
            f"{name} #{cp['seq']} ({cp['records']} records) signed by key {cp.get('key_id')}",
        )

    def record(self, value: bytes, key_id: str | None, signature: str | None) -> None:
        rid = _record_id(value)
        problem = signature_problem(self.keys, key_id, signature, value)
        self.check(problem and f"record {rid}: {problem}", f"record {rid}: signature valid")

    def inclusion(self, value: bytes, proof: dict, cp: dict) -> None:
        rid, index = _record_id(value), proof.get("leaf_index")
        if proof.get("tree_size") != cp["records"]:
            self.check(
                f"record {rid}: the proof is for a tree of {proof.get('tree_size')} records, "
                f"checkpoint #{cp['seq']} covers {cp['records']}: ask for ?checkpoint={cp['seq']}",
                "",
            )
            return
        good = merkle.verify_inclusion(
            index,
            cp["records"],
            merkle.leaf_hash(value),
            [_hex(h) for h in proof.get("inclusion", [])],
            _hex(cp["root"]),
        )
        self.check(
            None
            if good
            else f"record {rid}: NOT included in checkpoint #{cp['seq']} "
            "(the record was altered, or the proof does not belong to it)",
            f"record {rid}: leaf {index} of checkpoint #{cp['seq']}",
        )

    def consistency(self, old: dict, new: dict, proof: dict) -> None:
        good = merkle.verify_consistency(
            old["records"],
            new["records"],
            _hex(old["root"]),
            _hex(new["root"]),
            [_hex(h) for h in proof.get("proof", [])],
        )
        self.check(
            None
            if good
            else f"checkpoint #{new['seq']} does NOT extend checkpoint "
            f"#{old['seq']}: history was rewritten",
            f"checkpoint #{new['seq']} extends checkpoint #{old['seq']}",
        )


def _record_id(value: bytes) -> str:
    try:
        return str(json.loads(value).get("id", "?"))
    except (ValueError, AttributeError):
        return "?"


def _read_json(path: Path) -> dict:
    return json.loads(path.read_bytes())


def _record_bytes(path: Path) -> bytes:
    # Exactly as published; a saved file may have gained a final newline (JSON never ends so).
    return path.read_bytes().rstrip(b"\r\n")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m audit.verify", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--keys", type=Path, required=True, help="GET /api/audit/keys, saved")
    parser.add_argument("--checkpoint", type=Path, required=True, help="a saved checkpoint")
    parser.add_argument("--record", type=Path, help="the record's value, exactly as published")
    parser.add_argument("--proof", type=Path, help="GET /api/audit/<id>/proof, saved")
    parser.add_argument("--signature", help="the record's flex-signature header (base64)")
    parser.add_argument("--key-id", help="the record's flex-key-id header")
    parser.add_argument("--from-checkpoint", type=Path, help="an older saved checkpoint")
    parser.add_argument("--consistency", type=Path, help="consistency proof, from → checkpoint")
    args = parser.parse_args(argv)
    if args.proof and not args.record:
        parser.error("--proof needs --record")
    if bool(args.from_checkpoint) != bool(args.consistency):
        parser.error("--from-checkpoint and --consistency go together")
    return args


def run(args: argparse.Namespace) -> Verifier:
    verifier = Verifier(public_keys(_read_json(args.keys)))
    cp = _read_json(args.checkpoint)
    cp_ok = verifier.checkpoint(cp, "checkpoint")
    proof = _read_json(args.proof) if args.proof else {}
    if args.record:
        value = _record_bytes(args.record)
        verifier.record(
            value,
            args.key_id or proof.get("key_id"),
            args.signature or proof.get("signature"),
        )
        if args.proof and cp_ok:
            verifier.inclusion(value, proof, cp)
    if args.from_checkpoint:
        old = _read_json(args.from_checkpoint)
        if verifier.checkpoint(old, "older checkpoint") and cp_ok:
            verifier.consistency(old, cp, _read_json(args.consistency))
    return verifier


def main(argv: list[str] | None = None) -> int:
    try:
        verifier = run(parse_args(argv))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"FAILED: cannot read the files given ({exc})", file=sys.stderr)
        return 1
    for line in verifier.ok:
        print(f"ok: {line}")
    for line in verifier.problems:
        print(f"FAILED: {line}", file=sys.stderr)
    return 1 if verifier.problems else 0


if __name__ == "__main__":
    sys.exit(main())
