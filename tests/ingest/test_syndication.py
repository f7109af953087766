"""Signatures read back from the manifest (rag.ingest.syndication): the same MinHash as the one stored."""

from __future__ import annotations

import numpy as np

from rag.ingest.syndication import SyndicationIndex, decode, encode, minhash

STORY = (
    "The city council voted on Tuesday to rebuild the old harbour wall before winter, after storms in March "
    "flooded the fish market twice and closed the ferry pier for a week."
)


def test_a_decoded_signature_is_the_stored_one() -> None:
    original = minhash(STORY)
    read_back = decode(encode(original))
    assert read_back is not None
    assert np.array_equal(read_back.hashvalues, original.hashvalues)
    assert all(np.array_equal(a, b) for a, b in zip(read_back.permutations, original.permutations, strict=True))
    index = SyndicationIndex()
    index.add("stored", read_back)
    assert index.match(minhash(STORY + " The work starts in May.")) == "stored"
    assert index.match(minhash("A bakery in the north of the town now sells rye bread on Sundays only.")) is None
    assert decode("not base64!") is None and decode(encode(original)[:-8]) is None
