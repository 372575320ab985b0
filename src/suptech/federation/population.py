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


def _share(rng: random.Random, held: dict[str, list], shared: int, rewrite,
           prefix: str = "") -> dict[tuple[str, str], set[str]]:
    """`shared` of each region's entries also held by one other region, rewritten as
    that region writes them (in place); for each pair (a, b), the entity ids of a's that
    b also holds."""
    regions = sorted(held)
    truth: dict[tuple[str, str], set[str]] = {}
    free = {r: list(range(len(held[r]))) for r in regions}
    for r in free.values():
        rng.shuffle(r)
    for a in regions:
        for _ in range(shared):
            b = rng.choice([r for r in regions if r != a])
            i, j = free[a].pop(), free[b].pop()
            held[b][j] = rewrite(held[a][i], rng)
            truth.setdefault((a, b), set()).add(f"{a}-{prefix}{i}")
            truth.setdefault((b, a), set()).add(f"{b}-{prefix}{j}")
    return truth


def plant(folders: dict[str, Path], entities: int, shared: int, seed: int,
          buckets: int = 16) -> dict[tuple[str, str], set[str]]:
    """Write each region's register.parquet (`entities` identifiers) and its
    indicators/risk_band.parquet (`buckets` counts); `shared` identifiers of each region
    are also in one other region's register, written otherwise. Returns, for each pair
    of regions (a, b), the entity ids of a's register that b also holds."""
    rng = random.Random(seed)
    seen: set = set()
    held = {r: population(rng, entities, seen) for r in sorted(folders)}
    truth = _share(rng, held, shared, lambda kv, _: (kv[0], written_otherwise(*kv)))
    for r in sorted(folders):
        kinds, values = zip(*held[r])
        pl.DataFrame({"entity_id": [f"{r}-{i}" for i in range(entities)], "kind": kinds,
                      "value": values}).write_parquet(folders[r] / "register.parquet")
        (folders[r] / "indicators").mkdir(exist_ok=True)
        counts = [rng.randint(0, entities // buckets * 2) for _ in range(buckets)]
        pl.DataFrame({"count": counts}, schema={"count": pl.Int64}) \
            .write_parquet(folders[r] / "indicators" / "risk_band.parquet")
    return truth


SURNAMES = ["zhang", "wang", "li", "zhao", "liu", "chen", "yang", "huang", "zhou", "wu",
            "xu", "sun", "ma", "zhu", "hu", "guo", "he", "lin", "luo", "gao"]
GIVEN = ["wei", "fang", "na", "min", "jing", "li", "qiang", "lei", "jun", "yang", "yong",
         "yan", "jie", "juan", "tao", "ming", "chao", "xiu", "xia", "ping", "gang", "hui"]
CITIES = ["shanghai", "nanjing", "hangzhou", "hefei", "suzhou", "ningbo", "wuxi", "wuhu"]
STREETS = ["nanjing", "zhongshan", "renmin", "jiefang", "huaihai", "yan'an", "beijing"]


def person(rng: random.Random) -> dict:
    """A customer with no identifier on record: a pinyin name, a birth date, an address
    (common surnames, streets and cities, so that strangers look alike too)."""
    return {"name": f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}{rng.choice(GIVEN)}",
            "birth_date": f"{rng.randint(1950, 2004)}-{rng.randint(1, 12):02d}-"
                          f"{rng.randint(1, 28):02d}",
            "address": f"{rng.randint(1, 999)} {rng.choice(STREETS)} road, "
                       f"{rng.choice(CITIES)}"}


def as_another_bank_writes(p: dict, rng: random.Random) -> dict:
    """Upper case, the name run together, "Rd." for road; one in three with a typo."""
    name = p["name"].upper().replace(" ", "")
    if rng.random() < 1 / 3:
        i = rng.randrange(1, len(name) - 1)
        name = name[:i] + name[i + 1:]
    return {"name": name, "birth_date": p["birth_date"],
            "address": p["address"].replace("road,", "Rd.").title()}


def plant_people(folders: dict[str, Path], people: int, shared: int,
                 seed: int) -> dict[tuple[str, str], set[str]]:
    """Write each region's people.parquet (entity_id, name, birth_date, address: its
    customers with no identifier on record); `shared` of each region's are also one
    other region's customers, written that bank's way. The truth, as `plant`'s."""
    rng = random.Random(seed)
    held = {r: [person(rng) for _ in range(people)] for r in sorted(folders)}
    truth = _share(rng, held, shared, as_another_bank_writes, prefix="P")
    for r in sorted(folders):
        pl.DataFrame(held[r]).with_columns(
            pl.Series("entity_id", [f"{r}-P{i}" for i in range(people)])) \
            .select("entity_id", "name", "birth_date", "address") \
            .write_parquet(folders[r] / "people.parquet")
    return truth
