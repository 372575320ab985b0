"""ISO 20022 pacs.008 messages written from payment reports: what the simulator and the
tests send, and what the reader in `ingest.iso20022` maps back (its module doc has the
mapping). Kept apart from the reader so that the simulator need not import ingest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable
from xml.sax.saxutils import escape, quoteattr

import polars as pl

from suptech.model.reports import ENVELOPE, PAYMENT

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:pacs.008.001."
#: The version `write_pacs008` writes: the one SWIFT's CBPR+ and CIPS use.
WRITE_VERSION = "08"
COLUMNS = [f.name for f in (*ENVELOPE, *PAYMENT.fields)]


def _element(name: str, value: str | None, attrs: str = "") -> str:
    return "" if value is None else f"<{name}{attrs}>{escape(value)}</{name}>"


def _transaction(r: dict) -> str:
    agent = lambda a: (f"<BICFI>{escape(a)}</BICFI>" if len(a) in (8, 11)  # noqa: E731
                       else f"<LEI>{escape(a)}</LEI>")
    return "".join((
        "<CdtTrfTxInf><PmtId>", _element("EndToEndId", r["report_id"]),
        _element("TxId", r["report_id"]), _element("UETR", r["payment_id"]), "</PmtId>",
        "<PmtTpInf><LclInstrm>", _element("Prtry", r["channel"]), "</LclInstrm></PmtTpInf>",
        _element("IntrBkSttlmAmt", r["amount"], f" Ccy={quoteattr(r['currency'])}"),
        _element("AccptncDtTm", r["ts_event"]), "<ChrgBr>SHAR</ChrgBr>",
        f"<InstgAgt><FinInstnId>{_element('LEI', r['submitter'])}</FinInstnId></InstgAgt>"
        if r.get("submitter") else "",
        "<Dbtr><PstlAdr>", _element("Ctry", r["debtor_country"]), "</PstlAdr></Dbtr>",
        "<DbtrAcct><Id><Othr>", _element("Id", r["debtor_account_id"]), "</Othr></Id></DbtrAcct>",
        f"<DbtrAgt><FinInstnId>{agent(r['debtor_agent'])}</FinInstnId></DbtrAgt>",
        f"<CdtrAgt><FinInstnId>{agent(r['creditor_agent'])}</FinInstnId></CdtrAgt>",
        "<Cdtr><PstlAdr>", _element("Ctry", r["creditor_country"]), "</PstlAdr></Cdtr>",
        "<CdtrAcct><Id><Othr>", _element("Id", r["creditor_account_id"]), "</Othr></Id></CdtrAcct>",
        f"<Purp>{_element('Cd', r['purpose'])}</Purp>" if r.get("purpose") else "",
        "</CdtTrfTxInf>\n",
    ))


def pacs008_text(records: Iterable[dict], message_id: str, created: str) -> Iterable[str]:
    """A pacs.008.001.08 message for payment reports given as text fields.

    `ts_event` must be ISO 8601 with an offset and `amount` a plain decimal string.
    """
    records = list(records)
    yield ('<?xml version="1.0" encoding="UTF-8"?>\n'
           f'<Document xmlns="{NAMESPACE}{WRITE_VERSION}"><FIToFICstmrCdtTrf><GrpHdr>'
           f"{_element('MsgId', message_id)}{_element('CreDtTm', created)}"
           f"<NbOfTxs>{len(records)}</NbOfTxs><SttlmInf><SttlmMtd>CLRG</SttlmMtd></SttlmInf>"
           "</GrpHdr>\n")
    for r in records:
        yield _transaction(r)
    yield "</FIToFICstmrCdtTrf></Document>\n"


def write_pacs008(frame: pl.DataFrame, path: Path, message_id: str | None = None) -> Path:
    """Write payment reports (text columns; see `pacs008_text`) as one pacs.008 file."""
    frame = frame.select(c for c in COLUMNS if c in frame.columns)
    created = frame["ts_event"].max() if frame.height else "1970-01-01T00:00:00+00:00"
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(pacs008_text(frame.iter_rows(named=True), message_id or path.stem[:35],
                                  str(created)))
    return path
