"""Analyst reads while a submitter uploads a large CSV, against the real server
(`suptech serve`): the reads' latency during the upload, beside the same reads with no
upload (the baseline, measured in the same run).

    .venv/bin/python bench/upload.py ROWS        # e.g. 700000 (a 103 MB file)
"""
import sys, time, threading, subprocess, socket, uuid, tempfile
sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent.parent / "tests"))
from builders import record, BANK, csv_text
import httpx
from pathlib import Path
data = Path(tempfile.mkdtemp()) / "data"
from suptech.ops import access
from suptech.ops.db import connect
ops = connect(data)
with ops.begin() as con:
    ana = access.add_user(con, "t", "ana", "analyst", "CN-SH")
    bank = access.add_user(con, "t", "bank", "submitter", "CN-SH", BANK)
ops.dispose()
n = int(sys.argv[1])
rows = [record("payment", i, submitter=BANK, report_id=f"P{i}", payment_id=str(uuid.UUID(int=i+1, version=4))) for i in range(n)]
body = csv_text(rows).encode()
print(f"upload {len(body)/1e6:.0f} MB")
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
srv = subprocess.Popen([sys.executable, "-m", "suptech.cli", "serve", "--port", str(port), "--data-dir", str(data)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
base = f"http://127.0.0.1:{port}"
for _ in range(100):
    try: httpx.get(base + "/v1/me", headers={"Authorization": f"Bearer {ana}"}); break
    except Exception: time.sleep(0.2)
def baseline(seconds=2.0):
    out, end = [], time.perf_counter() + seconds
    with httpx.Client() as c:
        while time.perf_counter() < end:
            t = time.perf_counter(); c.get(base + "/v1/alerts", headers={"Authorization": f"Bearer {ana}"}); out.append(time.perf_counter() - t)
            time.sleep(0.05)
    return sorted(out)
quiet = baseline()
lat = []; stop = False
def reads():
    with httpx.Client() as c:
        while not stop:
            t = time.perf_counter(); c.get(base + "/v1/alerts", headers={"Authorization": f"Bearer {ana}"}); lat.append(time.perf_counter() - t)
            time.sleep(0.05)
th = threading.Thread(target=reads); th.start(); time.sleep(1)
t = time.perf_counter()
r = httpx.post(base + "/v1/submissions", files={"file": ("payment-big.csv", body)}, headers={"Authorization": f"Bearer {bank}"}, timeout=600)
up = time.perf_counter() - t
time.sleep(0.5); stop = True; th.join(); srv.terminate()
lat.sort()
print(f"baseline (no upload): reads {len(quiet)}, max {quiet[-1]*1000:.0f} ms, p50 {quiet[len(quiet)//2]*1000:.0f} ms")
print(f"upload {up:.1f} s, status {r.status_code}, accepted {r.json().get('accepted')}; reads {len(lat)}, max {lat[-1]*1000:.0f} ms, p50 {lat[len(lat)//2]*1000:.0f} ms")
