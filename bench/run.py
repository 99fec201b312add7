#!/usr/bin/env python3
"""Benchmark the five read workloads (bench/workloads, copies of the shared harness's).

    python3 bench/run.py --articles 100000 [--db sqlite|postgres] [--duration 20]

Builds nothing: run `cargo build --release` first. Generates the data set with
`mediadesk generate` (cached under bench/out/; `--data FILE --params FILE` imports
another, e.g. gen.py's), imports it into a fresh database (timed), starts
`target/release/mediadesk serve` pinned to core 1, checks each workload's answer,
then drives it with wrk pinned to core 0: 5 s warm-up, 20 s at 32 connections, 5 s
at 1 connection. Besides W1-W5 (GraphQL POSTs) it measures the REST, feed and
widget equivalents of the sidebar (REST, RSS, WIDGET: plain GETs). With the
response cache on and nginx installed, STATIC is nginx (one worker, pinned to
core 1) serving W1's answer bytes as a static file to the same POST, the upper
bound a cache hit is compared with (unchecked, as the shared harness measures
it). Prints a table and writes bench/out/results-*.json. `--check-only`
stops after the checks (no wrk needed); `--bin` runs another build.
"""
import argparse, json, os, re, shutil, signal, subprocess, sys, time, urllib.request

import dataset

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")
LUA = os.path.join(ROOT, "bench", "post.lua")
WORKLOADS = os.path.join(ROOT, "bench", "workloads")


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def gql(port, query, variables):
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        body = json.load(r)
    if "errors" in body:
        raise SystemExit(f"workload answered errors: {body['errors']}")
    return body["data"]


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


# The REST, feed and widget equivalents of W1 (plain GETs).
GETS = {
    "REST": "/api/v1/articles?limit=20",
    "RSS": "/feeds/mentions.rss",
    "WIDGET": "/embed/mentions.json?limit=10",
}


def wrk(port, body_file, conns, secs, path="/graphql", check=True):
    """Drives one request with wrk pinned to core 0: a POST of `body_file` to
    /graphql, or a GET of `path` when `body_file` is None. `check` counts every
    answer that is not a 200 without GraphQL errors (its Lua costs the client
    some speed: turn it off only where the client is the bottleneck)."""
    cmd = ["taskset", "-c", "0", "wrk", "-t1", f"-c{conns}", f"-d{secs}s", "-s", LUA,
           f"http://127.0.0.1:{port}{path}", "--", body_file or ""]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         env={**os.environ, "WRK_CHECK": "1" if check else "0"}).stdout
    line = next(l for l in out.splitlines() if l.startswith("RESULT"))
    return {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", line)}


NGINX_CONF = """worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  server {{
    listen 127.0.0.1:{port};
    # W1's POST answered with the file's bytes.
    location / {{ root {dir}/root; default_type application/json; error_page 405 =200 $uri; }}
  }}
}}
"""


def static_nginx(port, body):
    """nginx serving `body` at /graphql (GET or POST) on `port`, pinned to core 1."""
    d = os.path.join(OUT, "static")
    os.makedirs(os.path.join(d, "root"), exist_ok=True)
    with open(os.path.join(d, "root", "graphql"), "wb") as f:
        f.write(body)
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(dir=d, port=port))
    p = subprocess.Popen(["taskset", "-c", "1", "nginx", "-c", conf, "-p", d], stderr=subprocess.DEVNULL)
    for _ in range(50):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/graphql", timeout=1) as r:
                if r.read() == body:
                    return p
        except OSError:
            time.sleep(0.1)
    p.terminate()
    raise SystemExit("nginx did not serve the static answer")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=100000)
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--duration", type=int, default=20)
    ap.add_argument("--port", type=int, default=18181)
    ap.add_argument("--only", help="comma-separated workloads, e.g. W1,W4,REST,RSS,WIDGET")
    ap.add_argument("--no-cache", action="store_true", help="turn the response cache off (every request recomputed)")
    ap.add_argument("--no-search-index", action="store_true",
                    help="rank relevance searches in the database (the server's --no-search-index), for a before/after")
    ap.add_argument("--check-only", action="store_true", help="import and check the answers, measure nothing")
    dataset.add_arguments(ap, ROOT)
    args = ap.parse_args()
    if not args.check_only and shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    BIN = args.bin
    os.makedirs(OUT, exist_ok=True)
    data, params, n = dataset.prepare(args, OUT)

    env = dict(os.environ, RUST_LOG="warn", MEDIADESK_NO_DEMO="true")
    if args.no_cache:
        env["MEDIADESK_RESPONSE_CACHE"] = "0"
    if args.no_search_index:
        env["MEDIADESK_NO_SEARCH_INDEX"] = "true"
    tag = f"{args.db}-{n}" + ("-nocache" if args.no_cache else "") + ("-noindex" if args.no_search_index else "")
    if args.db == "sqlite":
        ddir = os.path.join(OUT, f"db-{n}")
        shutil.rmtree(ddir, ignore_errors=True)
        env["MEDIADESK_DATA_DIR"] = ddir
        env.pop("DATABASE_URL", None)
    else:
        name = f"mdbench_{n}"
        sh(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"])
        sh(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {name}"])
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"

    t0 = time.time()
    sh([BIN, "import", data], env=env, stderr=subprocess.DEVNULL)
    import_s = time.time() - t0
    print(f"import of {n} articles into {args.db}: {import_s:.1f} s")

    server = subprocess.Popen(["taskset", "-c", "1", BIN, "serve", "--bind", f"127.0.0.1:{args.port}",
                               "--workers", "1"], env=env, stderr=subprocess.DEVNULL)
    try:
        dataset.wait_ready(args.port, 100, search_index=True)
        wl = {}
        for i in range(1, 6):
            with open(os.path.join(WORKLOADS, f"w{i}.graphql")) as f:
                wl[f"W{i}"] = f.read()
        variables = {
            "W1": {},
            "W2": {"slug": params["w2_article_slug"]},
            "W3": {"expert": params["w3_expert_slug"], "from": params["w3_from"], "to": params["w3_to"]},
            "W4": {"query": params["w4_query"]},
            "W5": {"from": params["w5_after"]},
        }
        # W3 is measured on the page after 50 pages: walk there first.
        after = None
        for _ in range(params["w3_pages_skipped"]):
            d = gql(args.port, wl["W3"], {**variables["W3"], "after": after})
            after = d["articles"]["pageInfo"]["endCursor"]
        variables["W3"]["after"] = after

        # Check the answers before measuring them.
        d = gql(args.port, wl["W1"], {})["articles"]["nodes"]
        assert len(d) == 20 and all(d[i]["publishedAt"] >= d[i + 1]["publishedAt"] for i in range(19)), "W1 order"
        d = gql(args.port, wl["W2"], variables["W2"])["article"]
        assert d and d["slug"] == params["w2_article_slug"] and d["experts"], "W2"
        d = gql(args.port, wl["W3"], variables["W3"])["articles"]["nodes"]
        assert len(d) == 20 and all(params["w3_from"] <= x["publishedAt"].replace("+00:00", "Z") < params["w3_to"] for x in d), "W3 window"
        d = gql(args.port, wl["W4"], variables["W4"])["articles"]["nodes"]
        assert len(d) == 20, "W4 count"
        word = params["w4_query"].split()[0].lower()
        for x in d:  # the query's first word in the title or summary, else in the body
            if word not in (x["title"] + " " + (x["summary"] or "")).lower():
                body = gql(args.port, "query($s: String!) { article(slug: $s) { body } }", {"s": x["slug"]})
                assert word in ((body["article"] or {}).get("body") or "").lower(), ("W4 relevance", x["slug"])
        d = gql(args.port, wl["W5"], variables["W5"])["events"]["nodes"]
        assert len(d) == 10 and all(x["startsAt"] >= "2026-01-01" for x in d), "W5"
        if args.db == "sqlite":
            direct = subprocess.run(["sqlite3", os.path.join(env["MEDIADESK_DATA_DIR"], "mediadesk.db"),
                                     "SELECT slug FROM articles ORDER BY published_at DESC, id DESC LIMIT 20"],
                                    capture_output=True, text=True, check=True).stdout.split()
            got = [x["slug"] for x in gql(args.port, wl["W1"], {})["articles"]["nodes"]]
            assert got == direct, "W1 differs from direct SQL"
        if args.check_only:
            print("every workload answered as expected")
            return

        results = {"articles": n, "db": args.db, "import_seconds": round(import_s, 1), "workloads": {}}
        for name, path in GETS.items():  # the GET equivalents answer too
            with urllib.request.urlopen(f"http://127.0.0.1:{args.port}{path}", timeout=60) as r:
                assert r.status == 200 and r.read(), name
        names = args.only.split(",") if args.only else list(wl) + list(GETS)
        for name in [x for x in names if x != "STATIC"]:
            if name in GETS:
                body_file, path = None, GETS[name]
            else:
                body_file, path = os.path.join(OUT, f"{name}.json"), "/graphql"
                with open(body_file, "w") as f:
                    json.dump({"query": wl[name], "variables": variables[name]}, f)
            wrk(args.port, body_file, 32, 5, path)  # warm-up, discarded
            hot = wrk(args.port, body_file, 32, args.duration, path)
            one = wrk(args.port, body_file, 1, 5, path)
            r = {
                "rps": round(hot["rps"], 1), "p50_ms": hot["p50_us"] / 1000, "p99_ms": hot["p99_us"] / 1000,
                "errors": int(hot["err_connect"] + hot["err_read"] + hot["err_write"] + hot["err_timeout"] + hot["err_status"] + hot["bad_answers"]),
                "single_rps": round(one["rps"], 1), "single_p50_ms": one["p50_us"] / 1000,
                "rss_mb": round(rss_mb(server.pid), 1),
            }
            results["workloads"][name] = r
            print(f"{name}: {r['rps']:>9.1f} req/s  p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  "
                  f"errors {r['errors']}  | 1 conn: {r['single_rps']:.1f} req/s p50 {r['single_p50_ms']:.2f} ms  | RSS {r['rss_mb']} MB",
                  flush=True)
        if not args.no_cache and shutil.which("nginx") and (not args.only or "STATIC" in names):
            with open(os.path.join(OUT, "W1.json"), "w") as f:
                json.dump({"query": wl["W1"], "variables": variables["W1"]}, f)
            req = urllib.request.Request(f"http://127.0.0.1:{args.port}/graphql",
                                         data=open(os.path.join(OUT, "W1.json"), "rb").read(),
                                         headers={"content-type": "application/json"})
            with urllib.request.urlopen(req, timeout=60) as r:
                body = r.read()
            nginx = static_nginx(args.port + 1, body)
            try:
                w1 = os.path.join(OUT, "W1.json")
                wrk(args.port + 1, w1, 32, 5, check=False)
                hot = wrk(args.port + 1, w1, 32, args.duration, check=False)
            finally:
                nginx.terminate()
                nginx.wait(timeout=10)
            r = {"rps": round(hot["rps"], 1), "p50_ms": hot["p50_us"] / 1000, "p99_ms": hot["p99_us"] / 1000}
            results["workloads"]["STATIC"] = r
            ratio = results["workloads"].get("W1", {}).get("rps", 0) / r["rps"]
            print(f"STATIC: {r['rps']:>9.1f} req/s  p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  "
                  f"(nginx, W1's bytes; cached W1 / STATIC = {ratio:.2f})", flush=True)
        results["response_cache"] = not args.no_cache
        results["search_index"] = not args.no_search_index
        out = os.path.join(OUT, f"results-{tag}.json")
        json.dump(results, open(out, "w"), indent=2)
        print(f"written {out}")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
