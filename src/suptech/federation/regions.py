"""One simulated payment network as the four regions' nodes hold it: each region's data
directory gets the payments it supervises (an account of an owner in the region at
either end, as `server.scope` decides what a region sees) and the party and account
register. A payment between two regions is in both; none leaves the regions it
touches."""

from __future__ import annotations

from pathlib import Path

import polars as pl


def owners(accounts: pl.DataFrame, parties: pl.DataFrame) -> pl.DataFrame:
    """account_id, region: where each account's owner is, from the register's accounts
    (account_id, owner_party_id) and parties (party_id, region)."""
    return accounts.join(parties, left_on="owner_party_id", right_on="party_id") \
        .select("account_id", "region")


def account_regions(sim: Path) -> pl.DataFrame:
    """account_id, region: where each simulated account's owner is."""
    return owners(pl.read_parquet(next(sim.glob("account-*.parquet")),
                                  columns=["account_id", "owner_party_id"]),
                  pl.read_parquet(next(sim.glob("party-*.parquet")),
                                  columns=["party_id", "region"]))


def store_regions(store) -> pl.DataFrame:
    """account_id, region: where each account's owner is, as a region's store has the
    register."""
    return owners(store.view("account").select("account_id", "owner_party_id").to_polars(),
                  store.view("party").select("party_id", "region").to_polars())


def split(sim: Path, out: Path) -> dict[str, list[Path]]:
    """Each region's report files, written under out/<region>/: the register, and the
    payments it supervises."""
    where = account_regions(sim)
    register = [p for p in sorted(sim.glob("*.parquet")) if not p.name.startswith("payment-")]
    payments = pl.concat([pl.read_parquet(p) for p in sorted(sim.glob("payment-*.parquet"))])
    files = {}
    for region in sorted(where["region"].unique()):
        mine = where.filter(pl.col("region") == region)["account_id"].implode()
        seen = payments.filter(pl.col("debtor_account_id").is_in(mine)
                               | pl.col("creditor_account_id").is_in(mine))
        (out / region).mkdir(parents=True, exist_ok=True)
        path = out / region / "payment-supervised.parquet"
        seen.write_parquet(path)
        files[region] = register + [path]
    return files
