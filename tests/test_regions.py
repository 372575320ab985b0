"""A simulated payment network split as the four regions' nodes hold it: each region has
the payments that touch its accounts and no other; a payment between two regions is in
both; together they are the whole flow."""

from __future__ import annotations

import polars as pl

from suptech.federation.regions import account_regions, split
from suptech.simulate.payments_run import simulate_payments


def test_each_region_holds_what_it_supervises_and_nothing_else(tmp_path):
    sim = tmp_path / "sim"
    simulate_payments(sim, seed=31, days=1, accounts=3_000)
    where = dict(account_regions(sim).iter_rows())
    files = split(sim, tmp_path / "regions")
    assert sorted(files) == ["CN-AH", "CN-JS", "CN-SH", "CN-ZJ"]
    flow = pl.concat([pl.read_parquet(p) for p in sim.glob("payment-*.parquet")])
    held = {}
    for region, paths in files.items():
        mine = pl.read_parquet(next(p for p in paths if p.name.startswith("payment-")))
        ends = zip(mine["debtor_account_id"], mine["creditor_account_id"])
        assert all(region in (where.get(d), where.get(c)) for d, c in ends)
        held[region] = set(mine["report_id"])
    assert set().union(*held.values()) == set(flow.filter(
        pl.col("debtor_account_id").is_in(list(where)) | pl.col("creditor_account_id")
        .is_in(list(where)))["report_id"])
    crossing = flow.filter(pl.struct("debtor_account_id", "creditor_account_id").map_elements(
        lambda r: None not in (where.get(r["debtor_account_id"]), where.get(r["creditor_account_id"]))
        and where[r["debtor_account_id"]] != where[r["creditor_account_id"]],
        return_dtype=pl.Boolean))
    assert crossing.height > 0
    for r in crossing.head(20).iter_rows(named=True):
        both = {where[r["debtor_account_id"]], where[r["creditor_account_id"]]}
        assert {g for g, ids in held.items() if r["report_id"] in ids} == both
