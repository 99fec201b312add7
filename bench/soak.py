#!/usr/bin/env python3
"""Soak test: minutes of mixed reads and writes against one server, on either database.

    cargo build --release
    python3 bench/soak.py [--db sqlite|postgres] [--minutes 10] [--readers 6] [--writers 2]

Starts `target/release/mediadesk serve` over a fresh database with the demo data,
makes an editor key with the CLI, then runs reader threads (GraphQL sidebar and
search, REST lists and items, feeds, the widget, conditional GETs) and writer
threads (new mentions, the same mentions again, chained PATCHes with If-Match,
events created and deleted) until the time is up. Every answer's status is
checked against what that call must answer; anything else is an error (must be
0). The server's resident memory is sampled every 10 s: the report gives it at
start, after the first minute (warm caches) and at the end, and the growth from
the first minute to the end (must stay within +15%).

Prints a summary and writes bench/out/soak-<db>.json. Needs nothing beside the
repository (the demo data is built in).
"""
import argparse, json, os, random, shutil, subprocess, threading, time, urllib.error, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")
BIN = os.path.join(ROOT, "target", "release", "mediadesk")

SIDEBAR = ('{ articles(first: 21) { nodes { title authors publishedAt outlet { name parent { name } } '
           'experts { name slug } } } }')
SEARCH = '{ search(query: "oil prices", first: 10) { totalCount nodes { __typename ... on Article { title } } } }'


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Client:
    def __init__(self, port, token=None):
        self.base = f"http://127.0.0.1:{port}"
        self.token = token

    def call(self, method, path, body=None, headers=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("content-type", "application/json")
        if self.token:
            req.add_header("authorization", f"Bearer {self.token}")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()
        except Exception as e:  # connection reset, timeout: an error like any other
            return 0, {}, str(e).encode()


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.calls = 0
        self.errors = []

    def check(self, what, status, allowed, body=b""):
        with self.lock:
            self.calls += 1
            if status not in allowed:
                self.errors.append(f"{what}: {status} {body[:200]!r}")


def reader(port, stop, tally, seed):
    rnd = random.Random(seed)
    c = Client(port)
    etags = {}
    paths = ["/api/v1/articles?limit=20", "/api/v1/experts?limit=20", "/api/v1/events?upcoming=true",
             "/api/v1/articles?expert=rob-huebert", "/api/v1/search?q=oil", "/api/v1/site",
             "/feeds/mentions.rss", "/feeds/mentions.atom", "/feeds/experts/rob-huebert.json",
             "/embed/mentions?lang=fr", "/embed.js", "/api/v1/experts/rob-huebert"]
    while not stop.is_set():
        pick = rnd.random()
        if pick < 0.3:
            s, _, b = c.call("POST", "/graphql", {"query": SIDEBAR})
            tally.check("graphql sidebar", s, {200}, b)
            if s == 200 and b"errors" in b:
                tally.check("graphql sidebar errors", -1, {200}, b)
        elif pick < 0.4:
            s, _, b = c.call("POST", "/graphql", {"query": SEARCH})
            tally.check("graphql search", s, {200}, b)
        else:
            p = rnd.choice(paths)
            h = {"if-none-match": etags[p]} if p in etags and rnd.random() < 0.5 else {}
            s, headers, b = c.call("GET", p, headers=h)
            tally.check(f"GET {p}", s, {200, 304}, b)
            if "ETag" in headers or "etag" in headers:
                etags[p] = headers.get("ETag") or headers.get("etag")


def writer(port, token, stop, tally, seed, experts):
    rnd = random.Random(seed)
    c = Client(port, token)
    n = 0
    while not stop.is_set():
        n += 1
        pick = rnd.random()
        if pick < 0.4:
            body = {"title": f"Soak mention {seed}-{n}", "url": f"https://soak.example/{seed}/{n}",
                    "outlet": "CBC", "experts": [rnd.choice(experts)], "published_at": "2026-11-01",
                    "language": rnd.choice(["en", "fr"]), "summary": "Recorded by the soak test."}
            s, _, b = c.call("POST", "/api/v1/mentions", body)
            tally.check("record mention", s, {201}, b)
            s, _, b = c.call("POST", "/api/v1/mentions", body)
            tally.check("record mention again", s, {200}, b)
        elif pick < 0.7:
            slug = rnd.choice(["rob-huebert", "ferry-de-kerckhove"])
            s, h, b = c.call("GET", f"/api/v1/experts/{slug}")
            tally.check("get expert", s, {200}, b)
            tag = h.get("ETag") or h.get("etag")
            s, _, b = c.call("PATCH", f"/api/v1/experts/{slug}", {"title": f"Fellow {n}"},
                             {"if-match": tag or "*"})
            # Another writer may have changed it since the GET: 412 is an answer, not an error.
            tally.check("patch expert", s, {200, 412}, b)
        else:
            s, h, b = c.call("POST", "/api/v1/events", {"title": f"Soak event {seed}-{n}", "kind": "webinar",
                                                         "starts_at": "2027-03-01T15:00:00Z"})
            tally.check("create event", s, {201}, b)
            if s == 201:
                loc = h.get("Location") or h.get("location")
                tag = h.get("ETag") or h.get("etag")
                s, _, b = c.call("DELETE", loc, headers={"if-match": tag})
                tally.check("delete event", s, {204}, b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--readers", type=int, default=6)
    ap.add_argument("--writers", type=int, default=2)
    ap.add_argument("--port", type=int, default=18383)
    ap.add_argument("--bin", default=BIN)
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    env = dict(os.environ, RUST_LOG="warn", MEDIADESK_WRITES_PER_MINUTE="1000000",
               MEDIADESK_WRITE_BURST="1000000")
    if args.db == "sqlite":
        ddir = os.path.join(OUT, "soak-db")
        shutil.rmtree(ddir, ignore_errors=True)
        env["MEDIADESK_DATA_DIR"] = ddir
        env.pop("DATABASE_URL", None)
    else:
        name = "mdsoak"
        for sql in (f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}"):
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"
    subprocess.run([args.bin, "migrate"], env=env, check=True, stderr=subprocess.DEVNULL)
    key = subprocess.run([args.bin, "key", "create", "--role", "editor", "--name", "soak"], env=env, check=True,
                         capture_output=True, text=True).stdout.strip().splitlines()[-1]
    server = subprocess.Popen([args.bin, "serve", "--bind", f"127.0.0.1:{args.port}"], env=env,
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(150):
            if Client(args.port).call("GET", "/readyz")[0] == 200:
                break
            time.sleep(0.2)
        s, _, b = Client(args.port).call("POST", "/api/v1/auth/token", {"api_key": key})
        assert s == 200, (s, b)
        token = json.loads(b)["access_token"]
        experts = [e["name"] for e in json.loads(Client(args.port).call("GET", "/api/v1/experts?limit=20")[2])["data"]]
        samples = [(0.0, rss_mb(server.pid))]
        tally, stop = Tally(), threading.Event()
        threads = [threading.Thread(target=reader, args=(args.port, stop, tally, i)) for i in range(args.readers)]
        threads += [threading.Thread(target=writer, args=(args.port, token, stop, tally, 100 + i, experts))
                    for i in range(args.writers)]
        t0 = time.time()
        for t in threads:
            t.start()
        end = t0 + args.minutes * 60
        refresh = t0 + 600
        while time.time() < end:
            time.sleep(min(10, max(0, end - time.time())))
            samples.append((time.time() - t0, rss_mb(server.pid)))
            if time.time() > refresh:  # tokens live 15 minutes
                s, _, b = Client(args.port).call("POST", "/api/v1/auth/token", {"api_key": key})
                token = json.loads(b)["access_token"]
                refresh = time.time() + 600
        stop.set()
        for t in threads:
            t.join()
        wall = time.time() - t0
        warm = next((m for s, m in samples if s >= 60), samples[-1][1])
        result = {
            "db": args.db, "minutes": args.minutes, "calls": tally.calls,
            "calls_per_s": round(tally.calls / wall, 1), "errors": len(tally.errors),
            "first_errors": tally.errors[:10], "rss_start_mb": round(samples[0][1], 1),
            "rss_after_1min_mb": round(warm, 1), "rss_end_mb": round(samples[-1][1], 1),
            "rss_peak_mb": round(max(m for _, m in samples), 1),
            "growth_after_warmup_pct": round((samples[-1][1] / warm - 1) * 100, 1),
        }
        with open(os.path.join(OUT, f"soak-{args.db}.json"), "w") as f:
            json.dump(result, f, indent=2)
        print(json.dumps(result, indent=2))
        ok = result["errors"] == 0 and result["growth_after_warmup_pct"] <= 15
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        server.terminate()
        server.wait(timeout=15)


if __name__ == "__main__":
    raise SystemExit(main())
