"""The secure risk propagation worker: one region's player in TNO's protocol
(`tno.mpc.protocols.risk_propagation`), run by `suptech.federation.propagation` in its
own environment (`.venv-tno`, whose pins conflict with the main one's), with only TNO's
libraries, numpy and pyarrow; Parquet in, Parquet out.

    python propagation_worker.py CONFIG.json ACCOUNTS.parquet EDGES.parquet OUT.parquet

CONFIG names this region (`me`), every party's address, port and certificate (`parties`),
this region's TLS key and certificate and the federation's authority, the `sent_log`
every message sent is appended to (framed as `federation.wire` frames its own), where this
region's share of the campaign's Paillier key is kept (`key_share`; made with the other
parties by distributed key generation when `keygen` is true, so that no party ever holds
the whole private key), its length, `iterations` and `delta`. ACCOUNTS: `id`, `risk`
(this region's accounts, their own scores); EDGES: `source`, `source_region`,
`destination`, `destination_region`, `amount` (int32), every payment edge with one end
here. OUT: `id`, `risk`, the propagated risk of this region's accounts only; OUT's
sibling `.json` what the run cost.
"""

import asyncio
import json
import os
import socket
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


async def _everyone_listening(parties: dict, me: str, timeout: float = 120) -> None:
    """The protocol's first messages are lost on a party that is not listening yet."""
    deadline = time.monotonic() + timeout
    for name, p in parties.items():
        while True:
            try:
                socket.create_connection((p["host"], p["port"]), 0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{me}: party {name} never listened at "
                                       f"{p['host']}:{p['port']}") from None
                await asyncio.sleep(0.1)


def _kept(client, to: str, log: Path) -> None:
    """Every message to `to` also appended to the member's sent.log (as the federation's
    link frames its own), so that what left the region can be read back."""
    send = client._send

    async def sending(data: bytes, *args, **kwargs):
        # One write (the node's link appends to it too), readable by the member only
        # (as federation.wire.append_sent, which this environment cannot import).
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, f"--- to {to} propagation {len(data)} bytes\n".encode() + data + b"\n")
        finally:
            os.close(fd)
        return await send(data, *args, **kwargs)

    client._send = sending


async def run(config: dict, accounts: Path, edges: Path, out: Path) -> dict:
    from tno.mpc.communication import Pool
    from tno.mpc.protocols.distributed_keygen import DistributedPaillier
    from tno.mpc.protocols.risk_propagation import Player
    from tno.mpc.protocols.risk_propagation.accounts import nodes_expected_dtype
    from tno.mpc.protocols.risk_propagation.bank import transactions_expected_dtype

    me, parties = config["me"], config["parties"]
    pool = Pool(key=config["key"], cert=config["cert"], ca_cert=config["ca"])
    pool.add_http_server(parties[me]["port"], addr=config.get("bind", "0.0.0.0"))
    for name, p in parties.items():
        if name != me:  # a sender is known by its certificate's issuer and serial
            pool.add_http_client(name, p["host"], p["port"], cert=p["cert"])
            if config.get("sent_log"):
                _kept(pool.pool_handlers[name], name, Path(config["sent_log"]))
    await _everyone_listening(parties, me)
    started = time.monotonic()
    share = Path(config["key_share"])
    if config["keygen"]:
        scheme = await DistributedPaillier.from_security_parameter(
            pool, corruption_threshold=1, key_length=config["key_length"],
            prime_threshold=config.get("prime_threshold", 2000),
            correct_param_biprime=config.get("biprime_param", 40),
            stat_sec_shamir=config.get("stat_sec_shamir", 40),
            distributed=True, precision=8, batch_size=config.get("batch_size", 1000))
        share.parent.mkdir(parents=True, exist_ok=True)
        share.write_bytes(scheme.store_private_key())
        share.chmod(0o600)
    else:
        scheme = await DistributedPaillier.load_private_key_from_bytes(
            share.read_bytes(), pool, True)
    keyed = time.monotonic()
    a = pq.read_table(accounts)
    e = pq.read_table(edges)
    nodes = np.array(list(zip(a["id"].to_pylist(), a["risk"].to_pylist())),
                     dtype=nodes_expected_dtype)
    transactions = np.array(list(zip(
        e["source"].to_pylist(), e["source_region"].to_pylist(), e["destination"].to_pylist(),
        e["destination_region"].to_pylist(), e["amount"].to_pylist())),
        dtype=transactions_expected_dtype)
    delta = float(config["delta"])
    player = Player(me, nodes, transactions, pool, scheme, delta_func=lambda _: delta)
    await player.run_protocol(int(config["iterations"]))
    # The protocol's last messages (the other parties' partial decryptions of the last
    # region's scores) are sent without waiting: a party that left at once could take
    # them with it. Each says it is done and waits for all to say so before leaving.
    await pool.broadcast({"done": me}, msg_id="suptech: done")
    await pool.recv_all(msg_id="suptech: done")
    scores = player.risk_scores
    pq.write_table(pa.table({"id": list(scores), "risk": [float(v) for v in scores.values()]}),
                   out)
    cost = {"keygen_s": keyed - started, "propagation_s": time.monotonic() - keyed,
            "accounts": len(nodes), "edges": len(transactions),
            "bytes_sent": sum(h.total_bytes_sent for h in pool.pool_handlers.values()),
            "bytes_received": pool.http_server.total_bytes_recv}
    await pool.shutdown()
    return cost


def main() -> None:
    config = json.loads(Path(sys.argv[1]).read_text())
    out = Path(sys.argv[4])
    try:
        cost = asyncio.run(run(config, Path(sys.argv[2]), Path(sys.argv[3]), out))
    except Exception as e:
        # The line the node passes on (`workers.FAILED`: this runs in an environment of
        # its own, without suptech), then the traceback for the node's log.
        print(f"party failed: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        raise
    out.with_suffix(".json").write_text(json.dumps(cost))


if __name__ == "__main__":  # the key generation's process pool imports this module again
    main()
