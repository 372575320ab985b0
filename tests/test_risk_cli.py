"""`suptech risk ...` on a small market: a day's scan, its levels, its report as PDF
and PNG pages, and a rules file refused with the key that is wrong."""

from __future__ import annotations

from builders import BROKER_B, record, write_csv
from test_risk import Market, _columns, day, isin

from suptech.risk.rules import rules


def test_the_command_line_scans_a_day_shows_its_levels_and_refuses_bad_rules(tmp_path, cli):
    m = Market()
    m.closes(m.share(1), ["10", "10.5", "11.025", "12.1275"])
    for oid in ("O1", "O2"):
        m.add("order_event", order_id=oid, isin=isin(1), account_id="A2", member_lei=BROKER_B)
    files = [write_csv(tmp_path, f"{kind}.csv", rows, columns=_columns(rows))
             for kind, rows in m.rows.items()]
    parties = [record("party", 1), record("party", 2, party_id="P2")]
    accounts = [record("account", 1), record("account", 2, account_id="A2",
                                               owner_party_id="P2", member_lei=BROKER_B)]
    files = [write_csv(tmp_path, "party.csv", parties),
             write_csv(tmp_path, "account.csv", accounts), *files]
    assert cli("ingest", *map(str, files)).exit_code == 0
    scanned = cli("risk", "scan", "--date", day(3))
    # Day 3's +10 % is on the disclosure list as well.
    assert scanned.exit_code == 0 and "ABNORMAL_FLUCTUATION" in scanned.output
    assert "2 alerts on the day, 2 new" in scanned.output
    assert "2 alerts on the day, 0 new" in cli("risk", "scan", "--date", day(3)).output
    shown = cli("risk", "levels")  # the last day with trades
    assert shown.exit_code == 0 and f"Risk levels on {day(3)}" in shown.output
    assert "abnormal_fluctuation" in shown.output and "1.00" in shown.output
    made = cli("risk", "report", "--date", day(3), "--out", str(tmp_path / "r.pdf"),
               "--png", str(tmp_path / "pages"))
    assert made.exit_code == 0 and "2 at or past a line" in made.output
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "pages" / "page-1.png").exists()
    empty = cli("risk", "report", "--date", "2026-01-01", "--out", str(tmp_path / "e.pdf"))
    assert empty.exit_code == 1 and "nothing to report on 2026-01-01" in empty.output
    bad = tmp_path / "rules.toml"
    bad.write_text("[high_frequency]\nper_second = 0\n")
    refused = cli("risk", "levels", "--rules", str(bad))
    assert refused.exit_code == 2 and "high_frequency.per_second" in refused.output
    # A command's rules are its own: nothing else in the process (the server, where a
    # command may run) takes them up.
    assert rules().high_frequency.per_second == 300
