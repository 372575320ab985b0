"""What each region's node holds for the joint jobs, made for a labelled federation: a
register of identifiers (resident ID numbers, unified social credit codes, mobile
numbers, account numbers, each valid of its kind) with customers planted in two or
more regions, each region writing them its own way, and indicators to sum. The planted
sharing is the ground truth a PSI run is scored on."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import polars as pl
from stdnum.cn import ric, uscc

from suptech.federation.psi import KINDS

_USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def resident_id(rng: random.Random) -> str:
    """A valid 18-character resident identity card number (born in Beijing's Chaoyang or
    Shanghai's Huangpu, its check character right)."""
    body = f"{rng.choice(['110105', '310101'])}{rng.randint(1950, 2005)}" \
           f"{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return body + ric.calc_check_digit(body + "0")  # it takes a number with a check place


def credit_code(rng: random.Random) -> str:
    body = "91" + f"{rng.randint(110000, 659999)}" + "".join(rng.choice(_USCC) for _ in range(9))
    return body + uscc.calc_check_digit(body)


MAKE = {"resident_id": resident_id, "uscc": credit_code,
        "phone": lambda r: f"1{r.randint(30, 99)}{r.randint(0, 99_999_999):08d}",
        "account": lambda r: f"62{r.randint(10**15, 10**16 - 1)}"}


def population(rng: random.Random, n: int, seen: set | None = None) -> list[tuple[str, str]]:
    """n identifiers, the kinds in turn, none of them in `seen` (which takes them in): a
    resident ID drawn twice would be one person in two places, sharing not planted."""
    seen = set() if seen is None else seen
    out = []
    for kind in itertools.islice(itertools.cycle(KINDS), n):
        value = MAKE[kind](rng)
        while (kind, value) in seen:
            value = MAKE[kind](rng)
        seen.add((kind, value))
        out.append((kind, value))
    return out


def written_otherwise(kind: str, value: str) -> str:
    """The same identifier as another bank writes it."""
    return {"resident_id": value.lower()[:6] + " " + value.lower()[6:],
            "uscc": value.lower(), "phone": f"+86 {value[:3]}-{value[3:7]}-{value[7:]}",
            "account": f"{value[:4]} {value[4:8]} {value[8:]}"}[kind]


def plant(folders: dict[str, Path], entities: int, shared: int, seed: int,
          buckets: int = 16) -> dict[tuple[str, str], set[str]]:
    """Write each region's register.parquet (`entities` identifiers) and its
    indicators/risk_band.parquet (`buckets` counts); `shared` identifiers of each region
    are also in one other region's register, written otherwise. Returns, for each pair
    of regions (a, b), the entity ids of a's register that b also holds."""
    rng = random.Random(seed)
    regions = sorted(folders)
    seen: set = set()
    held = {r: population(rng, entities, seen) for r in regions}
    truth: dict[tuple[str, str], set[str]] = {}
    free = {r: list(range(entities)) for r in regions}
    for r in free.values():
        rng.shuffle(r)
    for a in regions:
        for _ in range(shared):
            b = rng.choice([r for r in regions if r != a])
            i, j = free[a].pop(), free[b].pop()
            kind, value = held[a][i]
            held[b][j] = (kind, written_otherwise(kind, value))
            truth.setdefault((a, b), set()).add(f"{a}-{i}")
            truth.setdefault((b, a), set()).add(f"{b}-{j}")
    for r in regions:
        kinds, values = zip(*held[r])
        pl.DataFrame({"entity_id": [f"{r}-{i}" for i in range(entities)], "kind": kinds,
                      "value": values}).write_parquet(folders[r] / "register.parquet")
        (folders[r] / "indicators").mkdir(exist_ok=True)
        counts = [rng.randint(0, entities // buckets * 2) for _ in range(buckets)]
        pl.DataFrame({"count": counts}, schema={"count": pl.Int64}) \
            .write_parquet(folders[r] / "indicators" / "risk_band.parquet")
    return truth
