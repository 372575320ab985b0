"""A federation's home folder, made by `suptech federation init`: who the members are and
where they listen, the authority and each member's keys, the published agreements and
rulebook, and each member's own folder (its data directory, the agreements it adopted).

    federation.json          members, their addresses and ports; the campaign
    agreements.json          the agreements the coordinator publishes
    rulebook.json            the detector rulebook the coordinator publishes
    ca/ca.crt, ca/ca.key     the federation's authority
    <member>/tls.crt, .key   the member's certificate and key
    <member>/data/           its suptech data directory (report and operational databases)
    <region>/agreements.json the agreements the node adopted (a copy of the published)
    <region>/campaign.key    the campaign's key for pseudonyms in shared alerts
    <region>/mpyc/.config/   its certificates for the secure sums' channel
    <region>/paillier/       its shares of the campaigns' keys for risk propagation

On one machine every member's folder is under one home; in a real federation each
member holds only its own folder, federation.json, and the authority's certificate.
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from suptech.federation import pki
from suptech.ops.access import JURISDICTIONS

COORDINATOR = "coordinator"
#: A job's parties are at most the four regions: MPyC positions 0..3.
MAX_PARTIES = len(JURISDICTIONS)


@dataclass(frozen=True)
class Member:
    name: str
    folder: Path
    url: str  # where its federation listener is (mutual TLS)
    dashboard: str | None  # a node's own server (API and dashboard), None for the coordinator
    mpc_port: int | None  # a node's port for secure sums (MPyC)
    rp_port: int | None = None  # and for secure risk propagation (TNO)

    @property
    def cert(self) -> tuple[str, str]:
        return str(self.folder / "tls.crt"), str(self.folder / "tls.key")

    @property
    def data(self) -> Path:
        return self.folder / "data"


@dataclass(frozen=True)
class Home:
    path: Path
    campaign: str
    members: dict[str, Member]

    @classmethod
    def load(cls, path: Path) -> Home:
        path = Path(path)
        try:
            raw = json.loads((path / "federation.json").read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise ValueError(f"{path}: not a federation home (run `suptech federation init`):"
                             f" {e}") from None
        members = {name: Member(name, path / name, m["url"], m.get("dashboard"), m.get("mpc"),
                                 m.get("rp"))
                   for name, m in raw["members"].items()}
        return cls(path, raw["campaign"], members)

    @property
    def ca(self) -> str:
        return str(self.path / "ca" / "ca.crt")

    @property
    def regions(self) -> list[str]:
        return [n for n in self.members if n != COORDINATOR]

    def member(self, name: str) -> Member:
        if name not in self.members:
            raise ValueError(f"{name!r} is not a member of this federation "
                             f"(members: {', '.join(self.members)})")
        return self.members[name]

    def agreements_of(self, name: str) -> Path:
        """The agreements a member goes by: a node's adopted copy, the coordinator's
        published ones."""
        return self.path / "agreements.json" if name == COORDINATOR \
            else self.member(name).folder / "agreements.json"

    def campaign_key(self, region: str) -> bytes:
        return (self.member(region).folder / "campaign.key").read_bytes()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def delta_agreements(regions: tuple[str, ...] = JURISDICTIONS) -> list[dict]:
    """The example agreements of the Yangtze River Delta: every pair of regions may
    match identifiers, and people by name, birth date and address, share alerts and
    work cases jointly, each learning its own matches; all four may propagate risk along their payments, each learning its own
    accounts' risk, and sum risk indicators, each release costing at most rho 0.5."""
    from suptech.federation.linkage import LINKED
    from suptech.federation.psi import KINDS
    from suptech.federation.sharing import RELEASED

    every = {"regions": list(regions), "released_to": list(regions), "version": 1,
             "valid_from": "2026-01-01"}
    return [{"id": "delta-psi", "job": "psi", "fields": list(KINDS), **every},
            {"id": "delta-linkage", "job": "linkage", "fields": list(LINKED), **every},
            {"id": "delta-alerts", "job": "alerts", "fields": list(RELEASED), **every},
            {"id": "delta-joint-cases", "job": "joint_cases", "fields": ["case"], **every},
            {"id": "delta-risk-propagation", "job": "risk_propagation", "fields": ["risk"],
             **every},
            {"id": "delta-risk-sums", "job": "secure_sum", "max_rho": 0.5,
             "fields": ["risk_band", "alerts_by_typology", "payments_by_amount_band"], **every}]


def init(path: Path, agreements: Path | None = None, regions: tuple[str, ...] = JURISDICTIONS,
         host: str = "127.0.0.1", campaign: str = "campaign-1") -> Home:
    """A new federation home at `path` (which must not hold one): an authority, keys and
    certificates for the coordinator and each region, ports free on this machine, the
    agreements published and adopted by every node, and the installed rulebook
    published."""
    from suptech.federation.agreements import Agreements
    from suptech.federation.rulebook import rulebook

    path = Path(path)
    if (path / "federation.json").exists():
        raise ValueError(f"{path} already holds a federation (federation.json)")
    if agreements is None:
        path.mkdir(parents=True, exist_ok=True)
        agreements = path / "agreements.json"
        agreements.write_text(json.dumps(delta_agreements(regions), indent=1))
    Agreements.load(agreements)  # refuse a malformed file before anything is made
    ca = pki.authority(path / "ca", "suptech federation CA")
    members = {}
    for name in (COORDINATOR, *regions):
        folder = path / name
        pki.issue(ca, name, folder / "tls.key", folder / "tls.crt", hosts=(host, "localhost"))
        (folder / "data").mkdir(parents=True, exist_ok=True)
        members[name] = {"url": f"https://{host}:{free_port()}"}
        if name == COORDINATOR:
            continue
        members[name].update(dashboard=f"http://{host}:{free_port()}", mpc=free_port(),
                            rp=free_port())
        shutil.copy(agreements, folder / "agreements.json")
        config = folder / "mpyc" / ".config"
        for i in range(MAX_PARTIES):
            pki.issue(ca, f"MPyC party {i}", config / f"party_{i}.key",
                      config / f"party_{i}.crt", hosts=(), organisation=name)
        shutil.copy(path / "ca" / "ca.crt", config / "mpyc_ca.crt")
    key = secrets.token_bytes(32)
    for region in regions:
        (path / region / "campaign.key").write_bytes(key)
        (path / region / "campaign.key").chmod(0o600)
    if Path(agreements).resolve() != (path / "agreements.json").resolve():
        shutil.copy(agreements, path / "agreements.json")
    (path / "rulebook.json").write_text(json.dumps(rulebook(), indent=1, sort_keys=True))
    (path / "federation.json").write_text(json.dumps(
        {"campaign": campaign, "members": members}, indent=1))
    return Home.load(path)
