"""A four-region federation filled from the simulator: one payment network (with
laundering that spans regions) split as the regions' nodes hold it, each node's share
ingested into its own data directory and scanned there, and what each node brings to
the joint jobs made from its own data: the indicators it sums (alerts by typology,
payments by amount band) and a register of identifiers. The simulator's parties carry
no national identifiers, so the registers are planted (`population.plant`), with
customers known to two regions; that planting is the PSI's ground truth; so are the
customers with no identifier, for record linkage (`population.plant_people`)."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl

from suptech.federation.home import Home
from suptech.federation.population import plant, plant_people
from suptech.federation.regions import split

#: Payments by amount band: CNY 1-10, 10-100, ... up to 10^10.
AMOUNT_DECADES = 10


def indicators(store, folder: Path, alerts: pl.DataFrame) -> dict[str, list[int]]:
    """The node's indicators from its own data, written to folder/indicators/."""
    import suptech.detect.run  # noqa: F401  (registers the built-in detectors)
    from suptech.detect.base import REGISTRY

    typologies = sorted({c.typology for c in REGISTRY.detectors.values() if c.domain == "payments"})
    by_typology = alerts.group_by("typology").len() if alerts.height else pl.DataFrame(
        {"typology": [], "len": []}, schema={"typology": pl.String, "len": pl.UInt32})
    counts = dict(zip(by_typology["typology"], by_typology["len"]))
    amounts = store.view("payment").select("amount").to_polars()["amount"].cast(pl.Float64)
    bands = [0] * AMOUNT_DECADES
    for v in amounts.to_list():
        if v and v > 0:
            bands[min(AMOUNT_DECADES - 1, max(0, int(math.log10(v))))] += 1
    out = {"alerts_by_typology": [int(counts.get(t, 0)) for t in typologies],
           "payments_by_amount_band": bands}
    (folder / "indicators").mkdir(exist_ok=True)
    for name, values in out.items():
        pl.DataFrame({"count": values}, schema={"count": pl.Int64}).write_parquet(
            folder / "indicators" / f"{name}.parquet")
    return out


def load(home: Home, seed: int, accounts: int, days: int = 1, entities: int = 10_000,
         shared: int = 50, regions: list[str] | None = None, progress=print) -> dict:
    """Simulate, split, ingest and scan each region's share in its node's data directory
    (the nodes are not running); plant the registers. Returns the PSI's ground truth
    and each region's alerts."""
    from suptech.detect.scan import scan
    from suptech.ingest.pipeline import ingest_files
    from suptech.simulate.payments_run import simulate_payments
    from suptech.store.database import open_store

    from suptech.detect.base import REGISTRY

    # The nodes hold payments: the payment rules, as a plain scan runs them.
    payment_rules = [d for c in REGISTRY.detectors.values()
                     if c.domain == "payments" and (d := c()).by_default()]
    progress(f"simulating a payment network of {accounts:,} accounts over the four regions")
    sim = home.path / "simulation"
    simulate_payments(sim, seed=seed, days=days, accounts=accounts)
    files = split(sim, sim / "regions")
    alerts = {}
    for region in regions or home.regions:
        progress(f"{region}: ingesting and scanning its payments")
        store = open_store(home.member(region).data)
        try:
            ingest_files(store, files[region])
            alerts[region] = scan(store, payment_rules).new
            indicators(store, home.member(region).folder, alerts[region])
        finally:
            store.close()
    folders = {r: home.member(r).folder for r in home.regions}
    truth = plant(folders, entities, shared, seed)
    # Customers with no identifier on record, for record linkage: a tenth as many.
    people = plant_people(folders, max(100, entities // 10), max(1, shared // 5), seed)
    return {"truth": truth, "people": people, "alerts": alerts}
