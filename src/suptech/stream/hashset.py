"""A set of values by their 128-bit hashes, looked up thousands at a time.

The streaming consumer asks, for each batch, which of thousands of values (order ids,
accounts) it already knows among millions. A Python set answers one value at a time,
and a polars `is_in` hashes the millions again on every call. This keeps the hashes in
a numpy table (open addressing, linear probing, at most half full) that a batch is
added to or looked up in with a few vectorised passes.

A value is known by two independent 64-bit hashes: the first places it in the table,
the second confirms it. Two different values are taken for the same one only if both
hashes collide (about one chance in 2**128). A value whose first hash is taken by
another value is never added, and so is never reported as present: the caller asks the
database about it, as about any value not seen.
"""

from __future__ import annotations

import numpy as np
import polars as pl

EMPTY = np.uint64(0)
SEEDS = (11, 23)


def hashes(values: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Two independent 64-bit hashes of each value; the first never EMPTY."""
    first = values.hash(seed=SEEDS[0]).to_numpy()
    first = np.where(first == EMPTY, np.uint64(1), first)
    return first, values.hash(seed=SEEDS[1]).to_numpy()


class HashSet:
    def __init__(self, values: int = 512):
        """Room for `values` values before the table grows (growing rehashes them all,
        a pause of about half a second a million values). The table is zeroed memory:
        what no value reaches takes no memory."""
        self._allocate(1 << max(10, int(2 * values - 1).bit_length()))

    def _allocate(self, capacity: int) -> None:
        # A value's two hashes side by side: one cache line read or written, not two
        # (tables of tens of MB miss the processor's cache at almost every access).
        slots = np.zeros((capacity, 2), dtype=np.uint64)
        self.keys, self.checks = slots[:, 0], slots[:, 1]
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def add(self, values: pl.Series) -> None:
        self._add(*hashes(values))

    def contains(self, values: pl.Series) -> np.ndarray:
        """Whether each value is in the set (boolean array in the values' order)."""
        return self.contains_hashes(*hashes(values))

    def contains_hashes(self, keys: np.ndarray, checks: np.ndarray) -> np.ndarray:
        """`contains` for values already hashed (`hashes`): values looked up in several
        sets are hashed once."""
        found = np.zeros(len(keys), dtype=bool)
        mask = np.uint64(len(self.keys) - 1)
        slot = keys & mask
        pending = np.arange(len(keys))
        while pending.size:
            at = slot[pending]
            here = self.keys[at]
            hit = here == keys[pending]
            found[pending[hit]] = self.checks[at[hit]] == checks[pending[hit]]
            pending = pending[~(hit | (here == EMPTY))]
            slot[pending] = (slot[pending] + np.uint64(1)) & mask
        return found

    def _add(self, keys: np.ndarray, checks: np.ndarray) -> None:
        # Each value once (polars' hashing: numpy's `unique(return_index=True)` sorts
        # stably, four times slower).
        first = pl.Series(keys).is_first_distinct().to_numpy()
        keys, checks = keys[first], checks[first]
        if 2 * (self.size + len(keys)) > len(self.keys):
            self._grow(self.size + len(keys))
        mask = np.uint64(len(self.keys) - 1)
        slot = keys & mask
        pending = np.arange(len(keys))
        while pending.size:
            at = slot[pending]
            here = self.keys[at]
            done = here == keys[pending]  # there already (or another value's first hash)
            empty = np.flatnonzero(here == EMPTY)
            if empty.size:
                # Several values reaching one empty slot all write it: the last write
                # stays, and the value that reads itself back took the slot; the others
                # probe on (no sort to pick one).
                at, values = at[empty], pending[empty]
                self.keys[at] = keys[values]
                took = self.keys[at] == keys[values]
                self.checks[at[took]] = checks[values[took]]
                self.size += int(took.sum())
                done[empty[took]] = True
            pending = pending[~done]
            slot[pending] = (slot[pending] + np.uint64(1)) & mask

    def _grow(self, wanted: int) -> None:
        used = self.keys != EMPTY
        keys, checks = self.keys[used], self.checks[used]
        capacity = len(self.keys)
        while 2 * wanted > capacity:
            capacity *= 2
        self._allocate(capacity)
        self._add(keys, checks)
