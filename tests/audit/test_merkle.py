"""The Merkle tree of the ledger against RFC 6962's own recursive definitions (§2.1)."""

from __future__ import annotations

import hashlib

import pytest

from audit import merkle


def mth(leaves: list[bytes]) -> bytes:
    """MTH, as RFC 6962 §2.1 defines it (leaves given as leaf hashes)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return merkle.node_hash(mth(leaves[:k]), mth(leaves[k:]))


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]), RFC 6962 §2.1.1."""
    if len(leaves) <= 1:
        return []
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


def subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b), RFC 6962 §2.1.2."""
    n = len(leaves)
    if m == n:
        return [] if complete else [mth(leaves)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*subproof(m, leaves[:k], complete), mth(leaves[k:])]
    return [*subproof(m - k, leaves[k:], False), mth(leaves[:k])]


LEAVES = [merkle.leaf_hash(f"record {i}".encode()) for i in range(40)]
OTHER = merkle.leaf_hash(b"a record not in the tree")


def stored(leaves: list[bytes]):
    """The perfect subtrees Flex stores, as a lookup that refuses anything else."""

    def lookup(block: merkle.Block) -> bytes:
        level, position = block
        start, end = position << level, (position + 1) << level
        assert end <= len(leaves), f"{block} is not a complete subtree of {len(leaves)} leaves"
        return mth(leaves[start:end])

    return lookup


def test_leaf_and_node_hashes_are_domain_separated():
    assert merkle.leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert merkle.node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()
    assert merkle.root_of([]) == hashlib.sha256(b"").digest()


@pytest.mark.parametrize("size", range(1, 41))
def test_roots_and_inclusion_proofs_match_the_rfc(size):
    leaves, nodes = LEAVES[:size], stored(LEAVES[:size])
    root = mth(leaves)
    assert merkle.root_of(leaves) == root
    assert merkle.range_hash(0, size, nodes) == root
    for index in range(size):
        proof = merkle.inclusion_proof(index, size, nodes)
        assert proof == path(index, leaves)
        assert merkle.verify_inclusion(index, size, leaves[index], proof, root)
        assert not merkle.verify_inclusion(index, size, OTHER, proof, root)
        if size > 1:  # the leaf at another place does not verify
            assert not merkle.verify_inclusion((index + 1) % size, size, leaves[index], proof, root)
        assert not merkle.verify_inclusion(index, size, leaves[index], proof[:-1] or [root], root)


@pytest.mark.parametrize("new", range(2, 41))
def test_consistency_proofs_match_the_rfc(new):
    leaves, nodes = LEAVES[:new], stored(LEAVES[:new])
    for old in range(1, new):
        proof = merkle.consistency_proof(old, new, nodes)
        assert proof == subproof(old, leaves, True)
        assert merkle.verify_consistency(old, new, mth(leaves[:old]), mth(leaves), proof)
        rewritten = [OTHER, *leaves[1:old]]
        assert not merkle.verify_consistency(old, new, mth(rewritten), mth(leaves), proof)


def test_a_proof_needs_only_logarithmically_many_stored_nodes():
    size = 2_000_000
    assert len(merkle.inclusion_blocks(1_234_567, size)) <= 2 * size.bit_length()
    assert len(merkle.consistency_blocks(1_999_000, size)) <= 2 * size.bit_length()
