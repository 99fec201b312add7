#!/usr/bin/env python3
"""Benchmark the write path: bulk import over HTTP, recording mentions, changes.

    python3 bench/writes.py [--articles 100000] [--db sqlite|postgres] [--mentions 2000]

Run `cargo build --release` first. Starts `target/release/mediadesk serve` pinned
to core 1 over a fresh database (no demo data), makes an editor key with the CLI,
then measures from core 0:

1. `POST /api/v1/import` of the data set (`mediadesk generate`, or `--data FILE
   --params FILE`, e.g. gen.py's; streamed NDJSON): wall time and
   the server's peak memory;
2. `POST /api/v1/mentions` with distinct URLs from 8 concurrent clients:
   requests per second, p50/p99;
3. the same mentions again (idempotent replays, nothing written);
4. `PATCH /api/v1/experts/{slug}` one after another, each with the ETag of the
   last: requests per second, p50/p99.

Every answer's status is checked; counts are checked against the API afterwards.
Prints a table and writes bench/out/writes-<db>-<n>.json.
"""
import argparse, concurrent.futures as cf, json, os, shutil, signal, subprocess, time, urllib.error, urllib.request

import dataset

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")


def call(port, method, path, token, body=None, headers=None, ctype="application/json"):
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    req.add_header("authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("content-type", ctype)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            out = (r.status, dict(r.headers), r.read())
    except urllib.error.HTTPError as e:
        out = (e.code, dict(e.headers), e.read())
    return out + (time.perf_counter() - t0,)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] * 1000


def peak_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=100000)
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--mentions", type=int, default=2000)
    ap.add_argument("--patches", type=int, default=500)
    ap.add_argument("--port", type=int, default=18282)
    dataset.add_arguments(ap, ROOT)
    args = ap.parse_args()
    BIN = args.bin
    os.makedirs(OUT, exist_ok=True)
    data, _, n = dataset.prepare(args, OUT)
    env = dict(os.environ, RUST_LOG="warn", MEDIADESK_NO_DEMO="true",
               MEDIADESK_WRITES_PER_MINUTE="1000000", MEDIADESK_WRITE_BURST="1000000")
    if args.db == "sqlite":
        ddir = os.path.join(OUT, f"writes-db-{n}")
        shutil.rmtree(ddir, ignore_errors=True)
        env["MEDIADESK_DATA_DIR"] = ddir
        env.pop("DATABASE_URL", None)
    else:
        name = f"mdwrites_{n}"
        for sql in (f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}"):
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"
    subprocess.run([BIN, "migrate"], env=env, check=True, stderr=subprocess.DEVNULL)
    key = subprocess.run([BIN, "key", "create", "--role", "editor", "--name", "bench"], env=env, check=True,
                         capture_output=True, text=True).stdout.strip().splitlines()[-1]
    server = subprocess.Popen(["taskset", "-c", "1", BIN, "serve", "--bind", f"127.0.0.1:{args.port}",
                               "--workers", "1"], env=env, stderr=subprocess.DEVNULL)
    results = {"articles": n, "db": args.db}
    try:
        dataset.wait_ready(args.port, 100)
        req = urllib.request.Request(f"http://127.0.0.1:{args.port}/api/v1/auth/token",
                                     data=json.dumps({"api_key": key}).encode(),
                                     headers={"content-type": "application/json"})
        token = json.load(urllib.request.urlopen(req))["access_token"]

        with open(data, "rb") as f:
            body = f.read()
        status, _, out, secs = call(args.port, "POST", "/api/v1/import", token, body, ctype="application/x-ndjson")
        assert status == 200, (status, out[:500])
        report = json.loads(out)["data"]
        assert report["created"]["articles"] == n, report
        results["import"] = {"seconds": round(secs, 1), "articles_per_s": round(n / secs),
                             "server_peak_mb": round(peak_mb(server.pid), 1)}
        print(f"import over HTTP: {n} articles in {secs:.1f} s ({n / secs:,.0f}/s), server peak RSS {peak_mb(server.pid):.0f} MB")

        experts = json.loads(call(args.port, "GET", "/api/v1/experts?limit=20", token)[2])["data"]
        names = [e["name"] for e in experts]

        def mention(i):
            return {"title": f"Bench mention {i}", "url": f"https://news.example/{i}?utm_source=bench",
                    "outlet": None, "experts": [names[i % len(names)]], "published_at": "2026-11-27T12:00:00Z",
                    "language": "en", "summary": "Recorded by the write benchmark."}

        for label, expect in (("mentions (new)", 201), ("mentions (replayed)", 200)):
            t0 = time.perf_counter()
            with cf.ThreadPoolExecutor(8) as ex:
                res = list(ex.map(lambda i: call(args.port, "POST", "/api/v1/mentions", token, mention(i)),
                                  range(args.mentions)))
            wall = time.perf_counter() - t0
            bad = [r[0] for r in res if r[0] != expect]
            assert not bad, (label, bad[:5], res[0][2][:300])
            lat = [r[3] for r in res]
            results[label] = {"rps": round(len(res) / wall, 1), "p50_ms": round(pct(lat, 0.5), 2),
                              "p99_ms": round(pct(lat, 0.99), 2)}
            print(f"{label}: {len(res) / wall:,.0f} req/s  p50 {pct(lat, 0.5):.2f} ms  p99 {pct(lat, 0.99):.2f} ms")

        slug = experts[0]["slug"]
        tag = call(args.port, "GET", f"/api/v1/experts/{slug}", token)[1]["etag"]
        lat = []
        t0 = time.perf_counter()
        for i in range(args.patches):
            status, headers, out, secs = call(args.port, "PATCH", f"/api/v1/experts/{slug}", token,
                                              {"title": f"Fellow {i}"}, headers={"if-match": tag},
                                              ctype="application/merge-patch+json")
            assert status == 200, (status, out[:300])
            tag = headers["etag"]
            lat.append(secs)
        wall = time.perf_counter() - t0
        results["patch"] = {"rps": round(args.patches / wall, 1), "p50_ms": round(pct(lat, 0.5), 2),
                            "p99_ms": round(pct(lat, 0.99), 2)}
        print(f"PATCH expert (sequential): {args.patches / wall:,.0f} req/s  p50 {pct(lat, 0.5):.2f} ms  p99 {pct(lat, 0.99):.2f} ms")

        total = json.loads(call(args.port, "POST", "/graphql", token, {"query": "{ articles { totalCount } }"})[2])
        assert total["data"]["articles"]["totalCount"] == n + args.mentions, total
        results["server_peak_mb"] = round(peak_mb(server.pid), 1)
        out = os.path.join(OUT, f"writes-{args.db}-{n}.json")
        json.dump(results, open(out, "w"), indent=2)
        print(f"written {out}")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
