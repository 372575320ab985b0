"""Synthetic identifiers that pass the real checks (python-stdnum computes check digits).

Every identifier a simulator writes must be valid, because its files must ingest with
no rejections; they are made deterministic from a number so that a seed reproduces
them. Prefixes mark them as synthetic ("SIM" in LEIs, "SIM" in BICs).
"""

from __future__ import annotations

import numpy as np
import polars as pl
from stdnum import isin
from stdnum.iso7064 import mod_97_10

_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _base36(n: int, width: int) -> str:
    digits = []
    for _ in range(width):
        n, r = divmod(n, 36)
        digits.append(_ALNUM[r])
    return "".join(reversed(digits))


def lei(kind: str, n: int) -> str:
    """An ISO 17442 LEI: 4-character LOU prefix, 14 characters, 2 check digits.

    `kind` (up to 4 letters) keeps members, venues and companies apart.
    """
    body = f"5493{kind[:4].upper():X<4}{_base36(n, 10)}"
    return body + mod_97_10.calc_check_digits(body)


def isin_code(country: str, n: int, prefix: str = "") -> str:
    """An ISO 6166 ISIN such as CNE000000016: country, 9 characters, check digit."""
    body = f"{country}{prefix}{n:0{9 - len(prefix)}d}"
    return body + isin.calc_check_digit(body)


def bic(bank: int, country: str) -> str:
    """An 8-character ISO 9362 BIC: bank code, country, location."""
    letters = "".join(chr(65 + (bank // 26 ** i) % 26) for i in range(3))
    return f"S{letters}{country}{_ALNUM[10 + bank % 26]}{_ALNUM[bank % 10]}"


_HEX = np.array([f"{i:02x}" for i in range(256)])


def uuid4s(rng: np.random.Generator, n: int) -> pl.Series:
    """`n` UUID version 4 strings (UETRs), vectorised; deterministic for the generator."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    hexed = pl.DataFrame({f"b{j}": _HEX[raw[:, j]] for j in range(16)},
                         schema={f"b{j}": pl.String for j in range(16)})
    parts = []
    for j in range(16):
        if j in (4, 6, 8, 10):
            parts.append(pl.lit("-"))
        parts.append(pl.col(f"b{j}"))
    return hexed.select(pl.concat_str(parts).alias("uuid")).to_series()
