"""Four regions add up their counts of a risk indicator without any of them seeing
another's: one MPyC process a region; the released sum is the plaintext sum plus the
stated Gaussian noise, the same for every party, with its privacy budget."""

from __future__ import annotations

import numpy as np

from suptech.federation.aggregate import secure_sum


def test_four_regions_release_the_sum_within_the_stated_noise(tmp_path):
    rng = np.random.default_rng(3)
    # 10,000 accounts a region, each in one of 40 buckets of a risk score.
    counts = {region: np.bincount(rng.integers(0, 40, 10_000), minlength=40).tolist()
              for region in ("CN-AH", "CN-JS", "CN-SH", "CN-ZJ")}
    plain = np.sum([counts[r] for r in counts], axis=0)
    released = secure_sum(counts, scale=3.0, work=tmp_path)
    error = np.array(released["sum"]) - plain
    assert released["regions"] == sorted(counts) and len(released["sum"]) == 40
    assert np.abs(error).max() <= 6 * 3.0  # six scales: about one bucket in 10^8 beyond
    assert error.std() > 0.5  # noise there is, of about the stated scale
    assert released["rho"] == 1 / (2 * 3.0 ** 2) and released["parties"] == 4
