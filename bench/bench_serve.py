"""The HTTP API (`mirror-kit serve`) on a journal of 100k reflections: latency p50/p99 of the list,
detail and mapping routes, and requests/s with 16 concurrent loopback clients.

The journal is synthetic (no model): reflections spread over 5 years, 20 patterns covering them and the
5 seed tensions observed on every reflection, written straight into the tables. The server is the real
`mirror-kit serve` process (uvicorn, one worker) on a free loopback port; clients use http.client.
The earlier design's estimate was 50-150 ms per request. The analysis routes (pattern list, tension
list, mapping) reuse their answer until the journal changes (`mirror_kit.server.results`): the table
gives the first (computing) request too, and the previous behaviour (computed per request) beside it.

Run: .venv/bin/python -m bench serve  (BENCH_SERVE_N=20000 for a smaller journal)
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import mirror_kit

N = int(os.environ.get("BENCH_SERVE_N", "100000"))
REPEAT = 60
CLIENTS = 16
DURATION_S = 8.0
EARLIER = "50-150 ms"
WORDS = ["work", "walk", "river", "friend", "tired", "calm", "family", "deadline", "sleep", "coffee", "run", "rain", "garden", "call", "mother", "project", "music", "book", "alone", "together", "change", "plan", "feel", "think"]


def build(path: Path, n: int) -> tuple[str, dict]:
    rng = random.Random(0)
    t0 = datetime(2020, 1, 1)
    with mirror_kit.open(path) as j:
        j.identities.add("maya")
        iid = j.identities.get("maya").id
        recs = [{"content": " ".join(rng.choice(WORDS) for _ in range(40)),
                 "created_at": (t0 + timedelta(minutes=int(i * 5 * 365 * 24 * 60 / n))).isoformat(),
                 "tags": [rng.choice(("work", "home", "health"))]} for i in range(n)]
        ids = j.reflections.add_many("maya", recs)
        j.tensions._ensure_seed_tensions()
        seeds = [r[0] for r in j.execute("SELECT id FROM tensions WHERE is_seed = 1")]
        now = "2025-01-01T00:00:00Z"
        with j.transaction() as c:
            for k in range(20):
                c.execute("INSERT INTO patterns (id, identity_id, label, keywords, confidence, size, first_seen, "
                          "last_seen, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          (f"p_{k:016d}", iid, f"theme {k}", json.dumps(WORDS[k:k + 4]), 0.5 + k / 50, n // 20,
                           "2020-01-01T00:00:00Z", now, now, now))
            c.executemany("INSERT INTO pattern_occurrences VALUES (?, ?, ?)",
                          ((f"p_{i % 20:016d}", rid, rng.random()) for i, rid in enumerate(ids)))
            c.executemany("INSERT INTO tension_observations VALUES (?, ?, ?, ?, 'synthetic', ?)",
                          ((t, rid, rng.uniform(-1, 1), rng.random(), now) for rid in ids for t in seeds))
        token, _ = j.tokens.create("maya", "read")
    return token, {"reflection": ids[n // 2], "pattern": "p_0000000000000003"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(conn: http.client.HTTPConnection, url: str, token: str) -> float:
    t = time.perf_counter()
    conn.request("GET", url, headers={"Authorization": f"Bearer {token}"})
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        raise RuntimeError(f"{url}: {r.status} {body[:200]!r}")
    return (time.perf_counter() - t) * 1000


def peer_uncached(path: Path, routes: dict, token: str, port: int) -> None:
    """The analysis routes as they were: every request computes from all observations. Peer: the same
    computation in this process (no HTTP), alternating with a request to the server, medians of 3."""
    from mirror_kit.server.common import records

    compute = {
        "list patterns": lambda j: records(j.patterns.frame("maya", sort="size", include_dormant=True)),
        "tension list": lambda j: records(j.tensions.frame("maya", period="auto")),
        "mapping": lambda j: records(j.tensions.map("maya")),
    }
    print("\n| route | served p50 ms (reused answer) | previous behaviour ms (computed per request) | ratio |\n"
          "| --- | ---: | ---: | ---: |")
    with mirror_kit.open(path, readonly=True) as j:
        for name, fn in compute.items():
            ours, peer = [], []
            for _ in range(3):
                # a new connection each time: the server closes one left idle while the peer computes
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                ours.append(request(conn, routes[name], token))
                conn.close()
                t = time.perf_counter()
                fn(j)
                peer.append((time.perf_counter() - t) * 1000)
            o, p = statistics.median(ours), statistics.median(peer)
            print(f"| {name} | {o:.1f} | {p:.0f} | {p / o:.0f}x faster |", flush=True)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        t = time.perf_counter()
        token, ids = build(path, N)
        print(f"journal: {N} reflections, 20 patterns, {5 * N} tension observations "
              f"(built in {time.perf_counter() - t:.1f} s)")
        port = free_port()
        exe = Path(sys.executable).parent / "mirror-kit"
        server = subprocess.Popen([str(exe), "--db", str(path), "serve", "--port", str(port), "--rate-limit", "0"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            for _ in range(300):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            routes = {
                "list reflections (50)": "/api/reflections?limit=50",
                "list reflections (deep page, text search)": "/api/reflections?limit=50&q=garden%20call",
                "list patterns": "/api/patterns/identity/maya",
                "detail reflection": f"/api/reflections/{ids['reflection']}",
                "detail pattern (occurrences page)": f"/api/patterns/{ids['pattern']}?limit=50",
                "tension list": "/api/tensions/identity/maya",
                "mapping": "/api/tensions/mapping/maya",
            }
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            print("\n| route | p50 ms | p99 ms | first request ms | earlier estimate |\n"
                  "| --- | ---: | ---: | ---: | --- |")
            for name, url in routes.items():
                first = request(conn, url, token)  # cold: computes (and, for the analysis routes, keeps)
                reps = REPEAT if "pattern" not in name and "tension" not in name and "mapping" not in name else 15
                lat = sorted(request(conn, url, token) for _ in range(reps))
                p99 = lat[min(len(lat) - 1, int(round(0.99 * (len(lat) - 1))))]
                print(f"| {name} | {statistics.median(lat):.1f} | {p99:.1f} | {first:.0f} | {EARLIER} |", flush=True)
            conn.close()
            peer_uncached(path, routes, token, port)
            for name in ("list reflections (50)", "detail reflection"):
                url = routes[name]
                done, errors = [0] * CLIENTS, []
                stop = time.perf_counter() + DURATION_S

                def client(k: int, url: str = url, stop: float = stop, done: list = done,
                           errors: list = errors) -> None:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    while time.perf_counter() < stop:
                        try:
                            request(c, url, token)
                            done[k] += 1
                        except Exception as exc:  # counted, not fatal: the figure says how many failed
                            errors.append(str(exc)[:80])
                    c.close()

                threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
                t0 = time.perf_counter()
                for th in threads:
                    th.start()
                for th in threads:
                    th.join()
                secs = time.perf_counter() - t0
                print(f"\n{CLIENTS} concurrent clients, {name}: {sum(done) / secs:.0f} requests/s "
                      f"({sum(done)} in {secs:.1f} s, {len(errors)} errors)", flush=True)
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
