"""Exposure contagion (DebtRank) over reported interbank exposures: the rule at, just below
and just above its line, the distress passing along a chain and once round a cycle, and
the exposure report's own validation."""

from __future__ import annotations

import json

from builders import record, write_csv
from stdnum.iso7064 import mod_97_10

from suptech.detect.run import run
from suptech.ingest.pipeline import ingest_files
from suptech.risk.debtrank import ExposureContagion
from suptech.risk.indicator import RuleParams
from suptech.risk.rules import rules
from suptech.store.database import open_store


def lei(name: str) -> str:
    body = f"5493{name:<14}".replace(" ", "0")[:18]
    return body + mod_97_10.calc_check_digits(body)


def day(n: int) -> str:
    return f"2026-03-0{2 + n}T18:00:00+08:00"  # Monday 2 March on


class Network:
    def __init__(self):
        self.capital, self.exposures = [], []

    def bank(self, name: str, capital: float, d: int = 0) -> None:
        self.capital.append(record("institution_capital", len(self.capital) + 1,
                                   institution_lei=lei(name), tier1_capital=str(capital),
                                   ts_event=day(d)))

    def lends(self, lender: str, borrower: str, amount: float, d: int = 0,
              currency: str = "CNY") -> None:
        self.exposures.append(record("exposure", len(self.exposures) + 1,
                                     lender_lei=lei(lender), borrower_lei=lei(borrower),
                                     amount=str(amount), currency=currency, ts_event=day(d)))

    def alerts(self, tmp_path, **lines) -> list[dict]:
        files = [write_csv(tmp_path, "institution_capital.csv", self.capital),
                 write_csv(tmp_path, "exposure.csv", self.exposures)]
        rule = rules().debtrank.model_copy(update=lines)
        store = open_store(tmp_path / "db")
        try:
            assert all(r.summary.rejected == 0 for r in ingest_files(store, files))
            found = run(store, [ExposureContagion(RuleParams(rule))]).to_dicts()
        finally:
            store.close()
        return sorted(({**json.loads(a["explanation"]), "day": a["window_start"]}
                       for a in found), key=lambda w: (w["day"], w["subject"]))


def test_an_institution_is_systemic_when_its_failure_would_cost_the_line_of_capital(tmp_path):
    """Three borrowers X1-X3 of 100 capital each, each owing a lender of 100 (a tenth of
    the system's 1,000): 80 (X1: the lender loses 0.8 of its capital, DebtRank 0.08,
    at a line of 0.08), 79 (below) and 81 (above). The lenders owe no one: their
    DebtRank is 0. An exposure in dollars is not counted."""
    n = Network()
    for k, owed in ((1, 80), (2, 79), (3, 81)):
        n.bank(f"X{k}", 100)
        n.bank(f"L{k}", 100)
        n.lends(f"L{k}", f"X{k}", owed)
    n.bank("F", 400)
    n.lends("F", "X2", 10, currency="USD")
    raised = n.alerts(tmp_path, line=0.08)
    assert [(a["subject"], a["debtrank"]) for a in raised] == \
        [(lei("X1"), 0.08), (lei("X3"), 0.081)]
    assert raised[0]["distressed"] == 1 and raised[0]["hardest_hit"] == lei("L1")


def test_distress_travels_a_chain_and_passes_once_round_a_cycle(tmp_path):
    """Capital 100 each, five institutions. X fails; A, having lent X all its capital,
    fails with it; B lent A half its capital: B loses half; C lent B a quarter of its:
    an eighth. X lent C a tenth of its capital, but X has failed already: the distress
    that comes round does not go round again. DebtRank of X = (1 + 0.5 + 0.125) / 5."""
    n = Network()
    for name in ("X", "A", "B", "C", "D"):
        n.bank(name, 100)
    n.lends("A", "X", 100)
    n.lends("B", "A", 50)
    n.lends("C", "B", 25)
    n.lends("X", "C", 10)  # round to X, which has failed already: no more to lose
    raised = n.alerts(tmp_path, line=0.3)
    assert [(a["subject"], a["debtrank"], a["wiped_out"]) for a in raised] == \
        [(lei("X"), 0.325, 1)]


def test_raised_when_it_becomes_systemic_not_each_day_it_stays_so(tmp_path):
    """Day 0 X owes L 50 (DebtRank 0.05, under a line of 0.08); day 1 it owes 90
    (0.09: raised); day 2 the loan is re-reported (still 0.09: not raised again); day 3
    it is repaid to 10 and day 4 borrowed again (raised again)."""
    n = Network()
    n.bank("X", 100)
    n.bank("L", 100)
    n.bank("F", 800)
    for d, owed in enumerate((50, 90, 90, 10, 90)):
        n.lends("L", "X", owed, d)
    raised = n.alerts(tmp_path, line=0.08)
    assert len(raised) == 2 and [a["debtrank"] for a in raised] == [0.09, 0.09]
    assert raised[1]["day"] - raised[0]["day"] == 3 * 86_400 * 10**9


def test_an_exposure_to_oneself_is_refused_and_the_others_kept(tmp_path):
    rows = [record("exposure", 1), record("exposure", 2, borrower_lei=record(
        "exposure")["lender_lei"]), record("exposure", 3, amount="-1")]
    store = open_store(tmp_path / "db")
    try:
        [result] = ingest_files(store, [write_csv(tmp_path, "exposure.csv", rows)])
        errors = result.feedback.select("report_id", "field", "code").rows()
        assert result.summary.accepted == 1
        assert ("borrower_lei", "E010") in [(f, c) for _, f, c in errors]
        assert ("amount", "E005") in [(f, c) for _, f, c in errors]
    finally:
        store.close()
