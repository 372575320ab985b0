"""A simulated payment network: background flows, injected laundering, labels.

Persons and companies hold accounts at many banks. The background is what banks see
every day: salaries fanning out from employers, shoppers paying merchants (fan-in), rent
and loan repayments, person-to-person transfers, savers moving part of each salary to
their own account at another bank, companies paying their suppliers' invoices (a
supply web, with its rings), intra-group sweeps to parent companies and cash pools
whose parent funds its subsidiaries each morning, shopkeepers depositing cash below the
reporting threshold, and cross-border trade on CIPS with each trader's partners. Only
some companies mark their business payments with ISO 20022 purpose codes, and only
some groups are reported as such (`party.group_id`). Much of it has the shape of a
laundering typology, which is the point: those are the false positives a detector must
survive.

Laundering is injected by `suptech.simulate.payment_cases` at about 0.1 % of payments,
as in IBM's AMLworld. Everything is vectorised with numpy, so millions of payments take
seconds, and one seed gives the same files.

Each seed is its own network (`Shape`): the mix of persons and businesses, how often
people shop and pay each other, the scale of money, the time zone of its business day,
how many employers code their salaries as such, the currencies of its trade, the
channels people use and how much its lenders lend differ from one to the next, so that
a detector set on some networks can be scored on others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import polars as pl

from suptech.formats import ids

#: Countries of foreign counterparties; the last three are on FATF's lists.
PARTNER_COUNTRIES = ("HK", "SG", "US", "DE", "GB", "JP", "KR", "VN", "TH", "LA", "AE")
HIGH_RISK_COUNTRIES = ("KP", "IR", "MM")
PERSON, COMPANY, MERCHANT, LANDLORD, LOANBOOK, FOREIGN = range(6)
KIND_NAMES = ("PERSON", "COMPANY", "MERCHANT", "LANDLORD", "LOANBOOK", "FOREIGN")

COLUMNS = {"day": pl.Int64, "second": pl.Float64, "debtor": pl.Int64, "creditor": pl.Int64,
           "cents": pl.Int64, "currency": pl.String, "channel": pl.String,
           "purpose": pl.String}


@dataclass(frozen=True)
class Shape:
    """What differs from one simulated payment network to the next."""

    persons: float  # shares of the accounts
    companies: float
    merchants: float
    landlords: float
    shopping: float  # purchases per person a day
    transfers: float  # person-to-person transfers per person a day
    scale: float  # of money: every amount, ordinary or laundered, is multiplied by it
    hours: float  # the business day's offset from Shanghai's, in hours
    coded: float  # share of employers whose salaries carry the SALA purpose code
    foreign: float  # share of cross-border trade paid in a foreign currency
    currencies: tuple[str, ...]  # those foreign currencies
    mobile: float  # share of person-to-person transfers made on mobile (the rest RTGS)
    lending: float  # new loans a month per hundred borrowers
    #: Share of companies whose business payments (supplier invoices, group sweeps and
    #: pools, trade) carry an ISO 20022 purpose code; the others send plain transfers.
    coded_business: float
    suppliers: float  # suppliers a company pays, on average
    pooling: float  # share of groups whose parent also funds its subsidiaries each day
    grouped: float  # share of groups whose companies' banks report the group
    savers: float  # share of persons who also hold a savings account at another bank


def draw_shape(rng: np.random.Generator) -> Shape:
    return Shape(
        persons=rng.uniform(0.7, 0.88), companies=rng.uniform(0.02, 0.06),
        merchants=rng.uniform(0.03, 0.08), landlords=rng.uniform(0.02, 0.06),
        shopping=rng.uniform(0.5, 1.4), transfers=rng.uniform(0.1, 0.4),
        scale=float(np.exp(rng.uniform(np.log(0.5), np.log(2.0)))),
        hours=rng.uniform(-3, 3), coded=rng.uniform(0.3, 1.0), foreign=rng.uniform(0.3, 0.9),
        currencies=tuple(rng.choice(["USD", "EUR", "HKD", "JPY", "GBP", "SGD"], 2,
                                    replace=False)),
        mobile=rng.uniform(0.4, 0.95), lending=rng.uniform(1, 8),
        coded_business=rng.uniform(0.2, 1.0), suppliers=rng.uniform(2, 6),
        pooling=rng.uniform(0.2, 0.8), grouped=rng.uniform(0.0, 1.0),
        savers=rng.uniform(0.05, 0.3))


@dataclass
class Network:
    """Accounts as parallel arrays, indexed by account number."""

    rng: np.random.Generator
    days: int
    banks_cn: int
    shape: Shape
    #: Persons with ordinary payments (made by `background`): accounts a case may borrow.
    ordinary: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    #: Accounts idle for years, and the day each was last used; every other account was
    #: used in the weeks before the simulated days.
    idle_since: dict[int, date] = field(default_factory=dict)
    #: Cases start on this day or later (the days before are the accounts' past).
    first_case_day: int = 0
    kind: list[int] = field(default_factory=list)
    bank: list[int] = field(default_factory=list)  # index into `agents`
    country: list[str] = field(default_factory=list)
    opened: list[date] = field(default_factory=list)
    owner_type: list[str] = field(default_factory=list)  # PERSON or ENTITY
    #: The account whose party holds each account (itself, or a person's main account
    #: for a savings account at another bank), and the group each party belongs to
    #: where its bank reports one.
    owner: list[int] = field(default_factory=list)
    group: dict[int, str] = field(default_factory=dict)
    agents: list[str] = field(default_factory=list)  # BICs of banks
    bank_country: list[str] = field(default_factory=list)
    bank_leis: list[str] = field(default_factory=list)

    def add_bank(self, country: str) -> int:
        n = len(self.agents)
        self.agents.append(ids.bic(n, country))
        self.bank_country.append(country)
        self.bank_leis.append(ids.lei("BANK", n + 1))
        return n

    def add(self, n: int, kind: int, banks: np.ndarray | None = None,
            country: str = "CN", opened_before: date | None = None,
            opened_after: date | None = None) -> np.ndarray:
        start = len(self.kind)
        rng = self.rng
        if banks is None:
            banks = rng.integers(0, self.banks_cn, n)
        latest = (opened_before or date(2025, 12, 31)).toordinal()
        opened = rng.integers((opened_after or date(2005, 1, 1)).toordinal(), latest, n)
        self.kind += [kind] * n
        self.bank += [int(b) for b in banks]
        self.country += [country] * n
        self.opened += [date.fromordinal(int(o)) for o in opened]
        self.owner_type += ["PERSON" if kind in (PERSON, LANDLORD) else "ENTITY"] * n
        self.owner += list(range(start, start + n))
        return np.arange(start, start + n)

    def of_kind(self, kind: int) -> np.ndarray:
        return np.flatnonzero(np.array(self.kind) == kind)


def payments(day, second, debtor, creditor, cents, currency="CNY", channel="RTGS",
             purpose=None) -> pl.DataFrame:
    """A frame of payments from arrays (scalars are broadcast)."""
    n = len(debtor)

    def col(v, dtype):
        return pl.Series(np.broadcast_to(v, n).tolist() if np.ndim(v) == 0 else v, dtype=dtype)
    return pl.DataFrame({
        "day": col(day, pl.Int64), "second": col(second, pl.Float64),
        "debtor": col(debtor, pl.Int64), "creditor": col(creditor, pl.Int64),
        "cents": col(np.maximum(1, np.asarray(cents, dtype=np.int64)), pl.Int64),
        "currency": pl.Series([currency] * n if isinstance(currency, str) else currency, dtype=pl.String),
        "channel": pl.Series([channel] * n if isinstance(channel, str) else channel, dtype=pl.String),
        "purpose": pl.Series([purpose] * n if purpose is None or isinstance(purpose, str) else purpose,
                             dtype=pl.String),
    })


def _daytime(rng: np.random.Generator, n: int, start: float = 8, end: float = 22) -> np.ndarray:
    return rng.uniform(start * 3600, end * 3600, n)


def build_network(rng: np.random.Generator, n_accounts: int, days: int) -> Network:
    shape = draw_shape(rng)
    net = Network(rng, days, banks_cn=max(20, n_accounts // 2000), shape=shape)
    for _ in range(net.banks_cn):
        net.add_bank("CN")
    for c in PARTNER_COUNTRIES + HIGH_RISK_COUNTRIES:
        net.add_bank(c)
    n = n_accounts
    net.add(int(n * shape.persons), PERSON)
    net.add(max(10, int(n * shape.companies)), COMPANY)
    net.add(max(10, int(n * shape.merchants)), MERCHANT)
    net.add(max(5, int(n * shape.landlords)), LANDLORD)
    net.add(net.banks_cn, LOANBOOK, banks=np.arange(net.banks_cn))
    foreign_banks = np.arange(net.banks_cn, net.banks_cn + len(PARTNER_COUNTRIES))
    for k, c in enumerate(PARTNER_COUNTRIES):
        net.add(max(3, int(n * 0.005)), FOREIGN, banks=np.full(max(3, int(n * 0.005)),
                                                                 foreign_banks[k]), country=c)
    return net


def background(net: Network) -> pl.DataFrame:
    """Every benign flow over the simulated days."""
    rng, days, shape = net.rng, net.days, net.shape
    persons, companies = net.of_kind(PERSON), net.of_kind(COMPANY)
    merchants, landlords = net.of_kind(MERCHANT), net.of_kind(LANDLORD)
    loanbooks, foreign = net.of_kind(LOANBOOK), net.of_kind(FOREIGN)
    net.ordinary = persons

    def at(n: int, start: float = 8, end: float = 22) -> np.ndarray:
        """Times of day of `n` payments in the network's business hours."""
        return _daytime(rng, n, start, end) + shape.hours * 3600

    def money(cents: np.ndarray) -> np.ndarray:
        return np.round(cents * shape.scale)

    frames = []
    employer = rng.choice(companies, len(persons))
    payday = rng.integers(0, 30, len(companies))  # day of the month each employer pays
    coded = rng.random(len(companies)) < shape.coded  # salaries marked SALA
    employed = rng.random(len(persons)) < 0.7
    rent_day = rng.integers(0, 30, len(persons))
    renter = rng.random(len(persons)) < 0.35
    landlord = rng.choice(landlords, len(persons))
    borrower = rng.random(len(persons)) < 0.3
    lender = rng.choice(loanbooks, len(persons))
    salary = money(np.round(rng.lognormal(np.log(9000), 0.5, len(persons)), 0) * 100)
    rent = money(np.round(rng.lognormal(np.log(3500), 0.4, len(persons)), 0) * 100)
    loan = money(np.round(rng.lognormal(np.log(2500), 0.6, len(persons)), 0) * 100)
    parent = rng.choice(companies, len(companies))
    shopkeeper = rng.choice(persons, max(1, len(persons) // 100), replace=False)
    coded_business = rng.random(len(net.kind)) < shape.coded_business

    def business(payers: np.ndarray, purpose: str) -> list[str | None]:
        """The purpose code of business payments, where the payer codes them."""
        return np.where(coded_business[payers], purpose, None).tolist()

    sub = parent != companies
    sweeping = companies[sub]
    pooled = (rng.random(len(companies)) < shape.pooling)[np.searchsorted(companies, parent)]
    # The supply web: each company pays a few suppliers, popular ones more often.
    n_sup = rng.poisson(shape.suppliers, len(companies))
    buyer = np.repeat(companies, n_sup)
    popularity = rng.pareto(1.5, len(companies)) + 1
    seller = rng.choice(companies, len(buyer), p=popularity / popularity.sum())
    keep = buyer != seller
    buyer, seller = buyer[keep], seller[keep]
    invoice = np.round(rng.lognormal(np.log(5e6), 1.2, len(buyer)))
    invoice_day = rng.integers(0, 30, len(buyer))
    _group(net, companies, parent)
    # Savers: a person's own second account at another bank, fed from each salary.
    saver = persons[rng.random(len(persons)) < shape.savers]
    savings = net.add(len(saver), PERSON)
    for s_, p_ in zip(savings, saver):
        net.owner[s_] = int(p_)
    saved = rng.uniform(0.2, 0.6, len(saver))
    back_day = rng.integers(0, 30, len(saver))
    weekly = rng.random(len(buyer)) < 0.3  # the invoices' rhythm (after the savers)
    # Traders and their foreign partners: each trades with a few, buying or selling,
    # about half a payment a day per company in all.
    n_partners = np.where(rng.random(len(companies)) < 0.5,
                          rng.integers(1, 5, len(companies)), 0)
    partner_co = np.repeat(companies, n_partners)
    partner = rng.choice(foreign, len(partner_co))
    imports = rng.random(len(partner_co)) < 0.5
    partner_rate = np.full(len(partner_co), 0.5 * len(companies) / max(1, len(partner_co)))
    for d in range(days):
        dom = d % 30
        # Salaries: each employer's staff on its pay day (fan-out), coded as salaries by
        # some employers, sent as plain transfers by others.
        which = np.searchsorted(companies, employer)
        pay = employed & (payday[which] == dom)
        marked = coded[which][pay]
        frames.append(payments(d, at(pay.sum(), 9, 11), employer[pay], persons[pay],
                               salary[pay], channel=np.where(marked, "ACH", "RTGS").tolist(),
                               purpose=np.where(marked, "SALA", None).tolist()))
        # Savers put part of the salary aside the same evening, and take a larger sum
        # back once a month (for a purchase, a trip), both between their own accounts.
        paid = pay[np.searchsorted(persons, saver)]
        frames.append(payments(d, at(paid.sum(), 18, 22), saver[paid], savings[paid],
                               np.round(salary[np.searchsorted(persons, saver)][paid]
                                        * saved[paid]), channel="MOBILE"))
        back = back_day == dom
        frames.append(payments(d, at(back.sum(), 9, 21), savings[back], saver[back],
                               money(rng.lognormal(np.log(3e6), 0.8, back.sum())),
                               channel="MOBILE"))
        # Rent and loan repayments on their day of the month.
        r = renter & (rent_day == dom)
        frames.append(payments(d, at(r.sum()), persons[r], landlord[r], rent[r],
                               channel="MOBILE", purpose="RENT"))
        b = borrower & (rent_day == (dom + 7) % 30)
        frames.append(payments(d, at(b.sum()), persons[b], lender[b], loan[b],
                               channel="ACH", purpose="LOAR"))
        # New loans paid out by the lenders (a lender's fan-out).
        n_new = rng.poisson(shape.lending / 100 * len(persons) / 30)
        frames.append(payments(d, at(n_new, 9, 17), rng.choice(loanbooks, n_new),
                               rng.choice(persons, n_new),
                               money(rng.lognormal(np.log(2e7), 0.8, n_new)),
                               channel="RTGS", purpose="LOAN"))
        # Shopping (fan-in to merchants) and person-to-person transfers.
        n_shop = rng.poisson(shape.shopping * len(persons))
        frames.append(payments(d, at(n_shop, 7, 23), rng.choice(persons, n_shop),
                               rng.choice(merchants, n_shop),
                               money(rng.lognormal(np.log(12000), 1.0, n_shop)),
                               channel=np.where(rng.random(n_shop) < 0.6, "MOBILE", "CARD").tolist(),
                               purpose="GDDS"))
        n_p2p = rng.poisson(shape.transfers * len(persons))
        frames.append(payments(d, at(n_p2p, 7, 23), rng.choice(persons, n_p2p),
                               rng.choice(persons, n_p2p),
                               money(rng.lognormal(np.log(50000), 1.1, n_p2p)),
                               channel=np.where(rng.random(n_p2p) < shape.mobile, "MOBILE",
                                                "RTGS").tolist()))
        # Intra-group sweeps to the parent company, every business day; in a pooled
        # group the parent also tops up some of its subsidiaries each morning.
        frames.append(payments(d, at(len(sweeping), 16, 18), sweeping, parent[sub],
                               money(rng.lognormal(np.log(3e7), 1.0, len(sweeping))),
                               channel="RTGS", purpose=business(sweeping, "INTC")))
        topped = pooled[sub] & (rng.random(len(sweeping)) < 0.4)
        funded = sweeping[topped]
        frames.append(payments(d, at(len(funded), 8, 10), parent[sub][topped], funded,
                               money(rng.lognormal(np.log(2e7), 1.0, len(funded))),
                               channel="RTGS", purpose=business(parent[sub][topped], "INTC")))
        # Supplier invoices, each relationship on its own rhythm: monthly or weekly.
        due = (invoice_day == dom) | (weekly & (invoice_day % 7 == d % 7))
        frames.append(payments(d, at(due.sum(), 9, 17), buyer[due], seller[due],
                               money(invoice[due] * rng.lognormal(0, 0.2, due.sum())),
                               channel="RTGS", purpose=business(buyer[due], "SUPP")))
        # Shopkeepers deposit the day's cash takings: often just below CNY 50,000 (the
        # law's threshold, whatever the network's scale).
        deposit = shopkeeper[rng.random(len(shopkeeper)) < 0.5]
        frames.append(payments(d, at(len(deposit), 17, 20), deposit, deposit,
                               np.round(rng.uniform(5_000, 49_000, len(deposit))) * 100,
                               channel="CASH", purpose="CASH"))
        # Cross-border trade on CIPS with each trader's foreign partners, both directions.
        x = rng.random(len(partner)) < partner_rate
        co, fo, out = partner_co[x], partner[x], imports[x]
        n_x = len(co)
        currency = np.where(rng.random(n_x) < shape.foreign,
                            rng.choice(shape.currencies, n_x), "CNY")
        purpose = np.where(coded_business[co], rng.choice(["GDDS", "SUPP", "TRAD"], n_x), None)
        frames.append(payments(d, at(n_x, 9, 17), np.where(out, co, fo),
                               np.where(out, fo, co),
                               money(rng.lognormal(np.log(5e7), 1.2, n_x)),
                               currency=currency.tolist(), channel="CIPS",
                               purpose=purpose.tolist()))
    return pl.concat(frames)


def _group(net: Network, companies: np.ndarray, parent: np.ndarray) -> None:
    """Each group of companies (linked by parent) named, where its banks report it."""
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(companies.tolist())
    g.add_edges_from(zip(companies.tolist(), parent.tolist()))
    for members in nx.connected_components(g):
        if len(members) > 1 and net.rng.random() < net.shape.grouped:
            name = f"GRP{min(members)}"
            net.group.update({int(m): name for m in members})


def as_reports(frame: pl.DataFrame, net: Network, start: date, first_id: int) -> pl.DataFrame:
    """Payment reports, as the debtor's bank sends them (pacs.008 mapped)."""
    from suptech.ingest.checks.numeric import minor_units
    from suptech.simulate.market import midnight_ns

    agents = pl.Series(net.agents)
    bank = pl.Series(net.bank, dtype=pl.Int64)
    countries = pl.Series(net.country)
    leis = pl.Series(net.bank_leis)
    base = pl.Series([midnight_ns(start + timedelta(days=d)) for d in range(net.days)],
                     dtype=pl.Int64)
    frame = frame.sort(["day", "second"], maintain_order=True)
    # Amounts in the currency's own minor unit (a yen has no cents).
    exponent = frame["currency"].replace_strict(minor_units(), default=2, return_dtype=pl.Int64)
    unit = pl.lit(10, pl.Int64).pow(2 - exponent)
    frame = frame.with_columns(cents=pl.max_horizontal(unit, (pl.col("cents") // unit) * unit))
    debtor_bank = bank.gather(frame["debtor"])
    creditor_bank = bank.gather(frame["creditor"])
    return frame.select(
        pl.format("PY{}", pl.int_range(first_id, first_id + pl.len())).alias("report_id"),
        pl.lit("NEW").alias("action"),
        leis.gather(debtor_bank).alias("submitter"),
        (base.gather(frame["day"]) + (frame["second"] * 1e9).cast(pl.Int64)).alias("ts_event"),
        ids.uuid4s(net.rng, frame.height).alias("payment_id"),
        pl.format("PAY{}", "debtor").alias("debtor_account_id"),
        pl.format("PAY{}", "creditor").alias("creditor_account_id"),
        agents.gather(debtor_bank).alias("debtor_agent"),
        agents.gather(creditor_bank).alias("creditor_agent"),
        (pl.col("cents").cast(pl.Decimal(18, 0)) * pl.lit(0.01).cast(pl.Decimal(18, 2)))
        .alias("amount"),
        "currency", "channel",
        countries.gather(frame["debtor"]).alias("debtor_country"),
        countries.gather(frame["creditor"]).alias("creditor_country"),
        "purpose",
    )
