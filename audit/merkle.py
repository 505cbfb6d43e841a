"""Merkle tree hashing, proofs and their verification, as RFC 6962 §2.1 (RFC 9162 §2.1).

Standard library only, no Django: the standalone verifier (``python -m audit.verify``) uses
this module as Flex does. Leaf hash ``SHA-256(0x00 || leaf)``, node hash
``SHA-256(0x01 || left || right)``; a tree of n leaves splits at the largest power of two
below n. Proofs are built from hashes of *perfect* subtrees (aligned blocks of 2**level
leaves), which Flex stores (``audit.models.MerkleNode``): ``inclusion_proof`` and
``consistency_proof`` first name the blocks they need (``*_blocks``), the caller reads
those O(log n) rows, then they compute the proof from them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

Block = tuple[int, int]  # (level, position): leaves position * 2**level … + 2**level - 1
Nodes = Callable[[Block], bytes]


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_blocks(start: int, end: int) -> list[Block]:
    """The perfect blocks whose hashes make MTH(leaves[start:end]), left to right.

    ``start`` is a multiple of the largest power of two not above ``end - start`` (every
    range RFC 6962's recursion visits is), so each left part is one aligned block.
    """
    blocks = []
    while end - start > 0:
        size = end - start
        if size & (size - 1) == 0:
            blocks.append((size.bit_length() - 1, start // size))
            break
        k = _split(size)
        blocks.append((k.bit_length() - 1, start // k))
        start += k
    return blocks


def range_hash(start: int, end: int, nodes: Nodes) -> bytes:
    """MTH(leaves[start:end]) from its perfect blocks: folded right to left."""
    hashes = [nodes(block) for block in range_blocks(start, end)]
    value = hashes[-1]
    for left in reversed(hashes[:-1]):
        value = node_hash(left, value)
    return value


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """PATH(index, D[0:size]) as leaf ranges, leaf to root (RFC 6962 §2.1.1)."""
    ranges, start, end = [], 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    return list(reversed(ranges))


def _consistency_ranges(old: int, new: int) -> list[tuple[int, int]]:
    """PROOF(old, D[0:new]) as leaf ranges (RFC 6962 §2.1.2, SUBPROOF)."""
    ranges: list[tuple[int, int]] = []
    start, end, complete = 0, new, True
    while True:
        m, n = old - start, end - start
        if m == n:
            if not complete:
                ranges.append((start, end))
            break
        k = _split(n)
        if m <= k:
            ranges.append((start + k, end))
            end, complete = start + k, complete
        else:
            ranges.append((start, start + k))
            start, complete = start + k, False
    return list(reversed(ranges))


def inclusion_blocks(index: int, size: int) -> set[Block]:
    return {b for r in _inclusion_ranges(index, size) for b in range_blocks(*r)}


def consistency_blocks(old: int, new: int) -> set[Block]:
    if not 0 < old < new:
        return set()
    return {b for r in _consistency_ranges(old, new) for b in range_blocks(*r)}


def inclusion_proof(index: int, size: int, nodes: Nodes) -> list[bytes]:
    return [range_hash(a, b, nodes) for a, b in _inclusion_ranges(index, size)]


def consistency_proof(old: int, new: int, nodes: Nodes) -> list[bytes]:
    if not 0 < old < new:
        return []
    return [range_hash(a, b, nodes) for a, b in _consistency_ranges(old, new)]


def root_of(leaves: Iterable[bytes]) -> bytes:
    """MTH over leaf hashes given in order, in O(log n) memory (stack of perfect subtrees)."""
    stack: list[tuple[int, bytes]] = []  # (size, hash), sizes strictly decreasing
    for leaf in leaves:
        size, value = 1, leaf
        while stack and stack[-1][0] == size:
            left_size, left = stack.pop()
            size, value = left_size + size, node_hash(left, value)
        stack.append((size, value))
    if not stack:
        return hashlib.sha256(b"").digest()
    value = stack[-1][1]
    for _, left in reversed(stack[:-1]):
        value = node_hash(left, value)
    return value


# Verification (RFC 9162 §2.1.3.2 and §2.1.4.2) -----------------------------------------


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    """Whether ``leaf`` (a leaf hash) is leaf ``index`` of the tree of ``size`` with ``root``."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: list[bytes]
) -> bool:
    """Whether the tree of ``new`` leaves with ``new_root`` extends the one of ``old``."""
    if old == new:
        return not proof and old_root == new_root
    if not 0 < old < new or not proof:
        return False
    if old & (old - 1) == 0:  # a power of two: the old root is the proof's first node
        proof = [old_root, *proof]
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root
