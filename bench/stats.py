#!/usr/bin/env python3
"""Time the coverage statistics over a year through the HTTP endpoint.

    python3 bench/stats.py --articles 1000000 [--db sqlite|postgres] [--year 2025] [--rounds 7]

Builds nothing: run `cargo build --release` first. Takes the data set like run.py
(`mediadesk generate --seed 42`, cached under bench/out/, or `--data/--params`),
imports it into a fresh database (timed; `--reuse` keeps a database imported by
an earlier run), starts `target/release/mediadesk serve` pinned to core 1 with
the response cache off (every answer computed), waits until the rollups are
fresh (`stats_dirty` empty; the time the first recount took is printed), then
asks `GET /api/v1/stats/mentions?group_by=G&from=YEAR-01-01&to=YEAR+1-01-01` for
each grouping (one warm-up, then `--rounds` timed requests, one at a time) and
prints the minimum, median and maximum wall time per grouping as the client
sees it, plus the same for GraphQL `mentionStats`. Each answer is checked: 200,
groups present, and `meta.total` equal across groupings.
"""
import argparse, json, os, shutil, sqlite3, statistics, subprocess, time, urllib.request

import dataset

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")
GROUPINGS = ["expert", "outlet", "topic", "language", "month", "week", "expert,month"]


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def get(url, body=None):
    headers = {"content-type": "application/json"} if body else {}
    req = urllib.request.Request(url, data=body, headers=headers)
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=120) as r:
        data = r.read()
        status = r.status
    return (time.perf_counter() - t0) * 1000, status, json.loads(data)


def dirty_count(args, env):
    if args.db == "sqlite":
        con = sqlite3.connect(os.path.join(env["MEDIADESK_DATA_DIR"], "mediadesk.db"), timeout=30)
        try:
            return con.execute("select count(*) from stats_dirty").fetchone()[0]
        finally:
            con.close()
    out = subprocess.run(["psql", env["DATABASE_URL"], "-Atc", "select count(*) from stats_dirty"],
                         check=True, capture_output=True, text=True).stdout
    return int(out.strip())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=1000000)
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--year", type=int, default=2025)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--port", type=int, default=18091)
    ap.add_argument("--reuse", action="store_true", help="keep the database an earlier run imported")
    dataset.add_arguments(ap, ROOT)
    args = ap.parse_args()

    os.makedirs(OUT, exist_ok=True)
    data, _params, n = dataset.prepare(args, OUT)
    env = dict(os.environ, RUST_LOG="warn", MEDIADESK_NO_DEMO="true", MEDIADESK_RESPONSE_CACHE="0")
    if args.db == "sqlite":
        ddir = os.path.join(OUT, f"stats-db-{n}")
        env["MEDIADESK_DATA_DIR"] = ddir
        env.pop("DATABASE_URL", None)
        fresh = not (args.reuse and os.path.exists(os.path.join(ddir, "mediadesk.db")))
        if fresh:
            shutil.rmtree(ddir, ignore_errors=True)
    else:
        name = f"mdstats_{n}"
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"
        exists = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc",
                                 f"select 1 from pg_database where datname = '{name}'"],
                                capture_output=True, text=True).stdout.strip() == "1"
        fresh = not (args.reuse and exists)
        if fresh:
            sh(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"])
            sh(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {name}"])
    if fresh:
        t0 = time.time()
        sh([args.bin, "import", data], env=env, stderr=subprocess.DEVNULL)
        print(f"import of {n} articles into {args.db}: {time.time() - t0:.1f} s")

    server = subprocess.Popen(["taskset", "-c", "1", args.bin, "serve", "--bind", f"127.0.0.1:{args.port}",
                               "--workers", "1"], env=env, stderr=subprocess.DEVNULL)
    try:
        dataset.wait_ready(args.port, 300)
        t0 = time.time()
        while dirty_count(args, env) > 0:
            time.sleep(0.5)
        print(f"rollups fresh {time.time() - t0:.1f} s after the server was ready")

        base = f"http://127.0.0.1:{args.port}"
        span = f"from={args.year}-01-01&to={args.year + 1}-01-01"
        rows, totals = [], set()
        for g in GROUPINGS:
            url = f"{base}/api/v1/stats/mentions?group_by={g}&{span}"
            times = []
            for i in range(args.rounds + 1):
                ms, status, body = get(url)
                if status != 200 or not body["data"]:
                    raise SystemExit(f"{g}: unexpected answer {status} {str(body)[:200]}")
                totals.add(body["meta"]["total"])
                if i:
                    times.append(ms)
            rows.append(("REST " + g, times))
        gql = ("query($g: [MentionGroupBy!]!, $f: ArticleFilter) { mentionStats(groupBy: $g, filter: $f) "
               "{ total groups { count keys { by value } } } }")
        for g in ["EXPERT", "TOPIC", "WEEK"]:
            span_filter = {"publishedAfter": f"{args.year}-01-01T00:00:00Z",
                           "publishedBefore": f"{args.year + 1}-01-01T00:00:00Z"}
            payload = json.dumps({"query": gql, "variables": {"g": [g], "f": span_filter}}).encode()
            times = []
            for i in range(args.rounds + 1):
                ms, status, body = get(f"{base}/graphql", payload)
                if status != 200 or "errors" in body:
                    raise SystemExit(f"GraphQL {g}: {str(body)[:300]}")
                totals.add(body["data"]["mentionStats"]["total"])
                if i:
                    times.append(ms)
            rows.append(("GraphQL " + g, times))
        if len(totals) != 1:
            raise SystemExit(f"totals differ between groupings: {totals}")
        print(f"\n{n} articles, {args.db}, {args.year}: {totals.pop()} published mentions; "
              f"{args.rounds} rounds, ms as the client sees them")
        print("| grouping | min | median | max |\n| --- | ---: | ---: | ---: |")
        for name, t in rows:
            print(f"| {name} | {min(t):.1f} | {statistics.median(t):.1f} | {max(t):.1f} |")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
