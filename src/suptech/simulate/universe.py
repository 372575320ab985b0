"""Who and what trades in a simulated market: venues, members, parties, accounts, listings.

Plain data built from a seed. Everything a simulator writes as reference data comes from
here, and the order and trade generators refer to accounts and instruments by index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from suptech.formats import ids

REGIONS = ("CN-SH", "CN-JS", "CN-ZJ", "CN-AH")
REGION_WEIGHTS = (0.35, 0.30, 0.25, 0.10)
INVESTOR_CLASSES = ("C1", "C2", "C3", "C4", "C5")

VENUES = {"XSHG": ids.lei("SSEX", 1), "XSHE": ids.lei("SZSE", 1), "CCFX": ids.lei("CFFE", 1)}
#: Each venue's name and where it is.
VENUE_NAMES = {"XSHG": ("Shanghai Stock Exchange", "CN-SH"),
               "XSHE": ("Shenzhen Stock Exchange", "CN-GD"),
               "CCFX": ("China Financial Futures Exchange", "CN-SH")}


@dataclass
class Instrument:
    isin: str
    mic: str
    name: str
    asset_class: str
    tick_cents: int  # tick size in 0.01 CNY
    lot: int
    board: str
    limit_pct: int
    price: int  # opening reference price, in ticks
    underlying: int | None = None  # index of the underlying instrument (futures)


@dataclass
class Party:
    party_id: str
    party_type: str  # PERSON or ENTITY
    region: str
    investor_class: str
    lei: str | None = None
    group_id: str | None = None


@dataclass
class Account:
    account_id: str
    owner: int  # party index
    member: int  # member index
    account_type: str
    opened: date


@dataclass
class Universe:
    members: list[str] = field(default_factory=list)  # member LEIs
    instruments: list[Instrument] = field(default_factory=list)
    parties: list[Party] = field(default_factory=list)
    accounts: list[Account] = field(default_factory=list)
    #: accounts of ordinary investors, by which the benign agents trade
    retail: list[int] = field(default_factory=list)
    institutions: list[int] = field(default_factory=list)
    #: one proprietary account per member, by member index
    proprietary: list[int] = field(default_factory=list)
    #: family group -> its accounts; families trade their favourite stock
    families: dict[str, list[int]] = field(default_factory=dict)
    favourite: dict[str, int] = field(default_factory=dict)

    def add_party(self, rng: np.random.Generator, party_type: str = "PERSON",
                  group_id: str | None = None, investor_class: str | None = None) -> int:
        n = len(self.parties)
        lei = ids.lei("ENTY", n) if party_type == "ENTITY" else None
        cls = investor_class or ("PROFESSIONAL" if party_type == "ENTITY"
                                 else INVESTOR_CLASSES[int(rng.integers(0, 5))])
        region = REGIONS[int(rng.choice(4, p=REGION_WEIGHTS))]
        self.parties.append(Party(f"P{n:07d}", party_type, region, cls, lei, group_id))
        return n

    def add_account(self, rng: np.random.Generator, owner: int, member: int | None = None,
                    account_type: str = "CASH") -> int:
        n = len(self.accounts)
        member = int(rng.integers(0, len(self.members))) if member is None else member
        opened = date.fromordinal(date(2010, 1, 4).toordinal() + int(rng.integers(0, 5000)))
        self.accounts.append(Account(f"A{n:08d}", owner, member, account_type, opened))
        return n

    def retail_array(self) -> np.ndarray:
        """`retail` as an array, made once: drawing from a list converts it every time."""
        if getattr(self, "_retail", None) is None or len(self._retail) != len(self.retail):
            self._retail = np.array(self.retail)
        return self._retail


def build(rng: np.random.Generator, n_instruments: int, n_accounts: int,
          n_members: int) -> Universe:
    u = Universe(members=[ids.lei("MEMB", i + 1) for i in range(n_members)])
    for m in range(n_members):
        owner = u.add_party(rng, "ENTITY")
        u.proprietary.append(u.add_account(rng, owner, member=m, account_type="PROPRIETARY"))
    # Listed shares: main boards of Shanghai and Shenzhen and the STAR market (±20 %).
    for i in range(n_instruments):
        star = rng.random() < 0.15
        mic = "XSHG" if star or rng.random() < 0.55 else "XSHE"
        price_cny = float(np.exp(rng.uniform(np.log(3), np.log(120))))
        u.instruments.append(Instrument(
            isin=ids.isin_code("CN", i + 1, "E"), mic=mic, name=f"Sim Industries {i + 1}",
            asset_class="EQUITY", tick_cents=1, lot=200 if star else 100,
            board="STAR" if star else "MAIN", limit_pct=20 if star else 10,
            price=int(round(price_cny * 100))))
    # Stock futures on CFFEX for some shares: cross-market manipulation needs them.
    for k, under in enumerate(range(0, n_instruments, 10)):
        base = u.instruments[under]
        u.instruments.append(Instrument(
            isin=ids.isin_code("CN", k + 1, "F"), mic="CCFX", name=f"{base.name} future",
            asset_class="FUTURE", tick_cents=20, lot=1, board="FUTURES", limit_pct=10,
            price=int(round(base.price / 20)), underlying=under))
    # Investors: persons (a fifth of them in families of 2-4) and institutions.
    n_inst = max(5, n_accounts // 200)
    for _ in range(n_inst):
        owner = u.add_party(rng, "ENTITY")
        u.institutions.append(u.add_account(rng, owner))
    while len(u.retail) < n_accounts:
        if rng.random() < 0.2:
            group = f"G{len(u.families):06d}"
            members = []
            for _ in range(int(rng.integers(2, 5))):
                acct = u.add_account(rng, u.add_party(rng, group_id=group))
                members.append(acct)
                u.retail.append(acct)
            u.families[group] = members
            u.favourite[group] = int(rng.integers(0, n_instruments))
        else:
            kind = "MARGIN" if rng.random() < 0.1 else "CASH"
            u.retail.append(u.add_account(rng, u.add_party(rng), account_type=kind))
    return u
