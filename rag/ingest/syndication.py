"""Syndication: the same story published by several outlets, found by MinHash/LSH (datasketch).

An article's signature is a MinHash of its word 5-shingles (lower-cased words), stored
compactly in the manifest. `SyndicationIndex` finds a stored article whose text is a near
duplicate (estimated Jaccard similarity of shingles at or above the threshold) of a new
one; the ingest then stores the story once and records the copy's source and URL with it.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Container

import numpy as np
from datasketch import MinHash, MinHashLSH

NUM_PERM = 64
SCHEME = "affine32"  # datasketch's hashing scheme; signatures stored with one are only comparable within it
SHINGLE_WORDS = 5
THRESHOLD = 0.6  # estimated Jaccard of 5-word shingles: re-publications with edits score ~0.7-1.0
_WORD = re.compile(r"\w+")


def minhash(text: str) -> MinHash:
    words = _WORD.findall(text.lower())
    shingles = {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(max(1, len(words) - SHINGLE_WORDS + 1))}
    signature = MinHash(num_perm=NUM_PERM, scheme=SCHEME)
    signature.update_batch([shingle.encode("utf-8") for shingle in shingles])
    return signature


def encode(signature: MinHash) -> str:
    return base64.b64encode(np.asarray(signature.hashvalues, dtype=np.uint32).tobytes()).decode("ascii")


def decode(value: str) -> MinHash | None:
    try:
        values = np.frombuffer(base64.b64decode(value), dtype=np.uint32)
    except ValueError:
        return None
    if values.size != NUM_PERM:
        return None
    return MinHash(num_perm=NUM_PERM, hashvalues=values, scheme=SCHEME, permutations=_permutations())


@functools.cache
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    """The permutations every signature of this scheme uses (datasketch's default seed): drawn once, not
    again for each decoded signature (that drawing was two thirds of reading a stored signature back)."""
    a, b = MinHash(num_perm=NUM_PERM, scheme=SCHEME).permutations
    return a, b


class SyndicationIndex:
    """Stored articles' signatures; `match` finds the stored article a new text re-publishes."""

    def __init__(self, threshold: float = THRESHOLD) -> None:
        self.threshold = threshold
        self._lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        self._signatures: dict[str, MinHash] = {}

    def add(self, article_id: str, signature: MinHash) -> None:
        if article_id not in self._signatures:
            self._lsh.insert(article_id, signature)
            self._signatures[article_id] = signature

    def match(self, signature: MinHash, exclude: str = "", skip: Container[str] = ()) -> str | None:
        """The stored article most similar to `signature` at or above the threshold, if any
        (neither `exclude` nor any of `skip`)."""
        best, best_score = None, self.threshold
        for candidate in self._lsh.query(signature):
            if candidate == exclude or candidate in skip:
                continue
            score = float(self._signatures[candidate].jaccard(signature))
            if score >= best_score:
                best, best_score = candidate, score
        return best
