"""A Merkle tree over audit chain heads, with inclusion proofs (the RFC 6962 / RFC 9162 tree shape).

A leaf is one chain's head: (chain id, length, hash of its last event), leaves sorted by chain id. Leaf
and node hashes are domain-separated (0x00 / 0x01) so a node can never pass for a leaf.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

Leaf = tuple[str, int, str]  # chain id, length, head hash


def leaf_hash(leaf: Leaf) -> bytes:
    chain_id, length, head = leaf
    data = json.dumps([chain_id, int(length), head], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(b"\x00" + data.encode("utf-8")).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _root(hashes: Sequence[bytes]) -> bytes:
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return _node(_root(hashes[:k]), _root(hashes[k:]))


def sorted_leaves(leaves: Sequence[Leaf]) -> list[Leaf]:
    return sorted(leaves, key=lambda leaf: leaf[0])


def merkle_root(leaves: Sequence[Leaf]) -> str:
    """The root (hex) of the tree over `leaves` in chain id order."""
    return _root([leaf_hash(leaf) for leaf in sorted_leaves(leaves)]).hex()


def _path(index: int, hashes: Sequence[bytes]) -> list[bytes]:
    if len(hashes) <= 1:
        return []
    k = _split(len(hashes))
    if index < k:
        return [*_path(index, hashes[:k]), _root(hashes[k:])]
    return [*_path(index - k, hashes[k:]), _root(hashes[:k])]


def inclusion_proof(leaves: Sequence[Leaf], chain_id: str) -> dict[str, object]:
    """The proof that `chain_id`'s leaf is in the tree: its index, the tree size and the audit path."""
    ordered = sorted_leaves(leaves)
    index = next(i for i, leaf in enumerate(ordered) if leaf[0] == chain_id)
    hashes = [leaf_hash(leaf) for leaf in ordered]
    return {
        "leaf": list(ordered[index]),
        "index": index,
        "tree_size": len(ordered),
        "path": [h.hex() for h in _path(index, hashes)],
    }


def verify_inclusion(leaf: Leaf, index: int, tree_size: int, path: Sequence[str], root: str) -> bool:
    """RFC 9162 section 2.1.3.2: does `path` lead from `leaf` at `index` to `root`?"""
    if not 0 <= index < tree_size:
        return False
    fn, sn = index, tree_size - 1
    result = leaf_hash(leaf)
    try:
        steps = [bytes.fromhex(p) for p in path]
    except ValueError:
        return False
    for step in steps:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            result = _node(step, result)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            result = _node(result, step)
        fn >>= 1
        sn >>= 1
    return sn == 0 and result.hex() == root
