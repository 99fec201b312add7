#!/usr/bin/env python3
"""Checks the API's relevance search against an exhaustive ranking, query by query.

    python3 bench/search_overlap.py --sqlite DATA_DIR [--queries 50] [--seed 42]
    python3 bench/search_overlap.py --postgres postgres://postgres@127.0.0.1:5432/mdbench_100000

Starts `mediadesk serve` (`--bin`, default target/release/mediadesk) on an already
imported database (run.py's bench/out/db-N, or any data directory / database URL),
draws `--queries` queries from the data's own title vocabulary (one and two words,
deterministic for a seed; W4's "oil prices" is always the first; queries with fewer
than `--top` matches are passed over), and for each
compares the first `--top` articles that GraphQL returns for
`articles(filter: {query}, orderBy: RELEVANCE)` with the same number ranked
directly in SQL over every match (the engine's own rank: FTS5 bm25 with the title
weighted 10, PostgreSQL ts_rank_cd; ties by id, newest first; only what the public
sees). Prints overlap@k per query and in all, and how many lists are identical.
Exits non-zero when a list differs, so it can guard a top-k search that must be
exact. Needs sqlite3 or psql on PATH.
"""
import argparse, collections, json, os, random, re, signal, subprocess, sys, time, urllib.request

import dataset

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GQL = """query($q: String!, $n: Int!) {
  articles(first: $n, filter: { query: $q }, orderBy: RELEVANCE) { nodes { slug } }
}"""
STOP = set("a an and the of for in on to as at by is its over with from why what how after "
           "new says amid into will could than more be it that this are or not".split())
PUBLIC = ("a.status = 'published' AND (a.publish_at IS NULL OR a.publish_at <= {now})")


def sql(args, query):
    if args.sqlite:
        cmd = ["sqlite3", "-batch", os.path.join(args.sqlite, "mediadesk.db"), query]
    else:
        cmd = ["psql", args.postgres, "-qAtX", "-c", query]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.split("\n")


def exhaustive(args, words, k):
    """The top k slugs when every match is ranked, as the engine ranks them."""
    if args.sqlite:
        match = " ".join(f'"{w}"' for w in words)
        q = (f"SELECT a.slug FROM articles a JOIN article_search ON article_search.rowid = a.id "
             f"WHERE article_search MATCH '{match}' AND {PUBLIC.format(now='strftime(%Y-%m-%dT%H:%M:%S+00:00)')} "
             f"ORDER BY -bm25(article_search, 10.0, 1.0) DESC, a.id DESC LIMIT {k}")
        q = q.replace("strftime(%Y-%m-%dT%H:%M:%S+00:00)", "strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')")
    else:
        text = " ".join(words)
        q = (f"SELECT a.slug FROM articles a JOIN article_search s ON s.article_id = a.id "
             f"WHERE s.tsv @@ plainto_tsquery('simple', '{text}') AND {PUBLIC.format(now='now()')} "
             f"ORDER BY ts_rank_cd(s.tsv, plainto_tsquery('simple', '{text}'))::float8 DESC, a.id DESC "
             f"LIMIT {k}")
    return [s for s in sql(args, q) if s]


def vocabulary(args, seed, n):
    """`n` queries of one or two frequent title words; "oil prices" first."""
    titles = sql(args, "SELECT title FROM articles ORDER BY id LIMIT 20000")
    counts = collections.Counter(
        w for t in titles for w in set(re.findall(r"[a-z]+", t.lower())) if w not in STOP and len(w) > 2)
    common = [w for w, c in counts.most_common(150) if c >= 20]
    rng = random.Random(seed)
    queries = [["oil", "prices"]]
    while len(queries) < n:
        q = [rng.choice(common)] if rng.random() < 0.3 else rng.sample(common, 2)
        if q not in queries:
            queries.append(q)
    return queries


def api(port, words, k):
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": GQL, "variables": {"q": " ".join(words), "n": k}}).encode(),
        headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        body = json.load(r)
    if "errors" in body:
        raise SystemExit(f"the API answered errors: {body['errors']}")
    return [x["slug"] for x in body["data"]["articles"]["nodes"]]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    db = ap.add_mutually_exclusive_group(required=True)
    db.add_argument("--sqlite", help="a data directory holding mediadesk.db")
    db.add_argument("--postgres", help="a PostgreSQL database URL")
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "mediadesk"))
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--port", type=int, default=18191)
    args = ap.parse_args()

    env = dict(os.environ, RUST_LOG="warn", MEDIADESK_NO_DEMO="true", MEDIADESK_RESPONSE_CACHE="0")
    if args.sqlite:
        env["MEDIADESK_DATA_DIR"] = args.sqlite
        env.pop("DATABASE_URL", None)
    else:
        env["DATABASE_URL"] = args.postgres
    server = subprocess.Popen([args.bin, "serve", "--bind", f"127.0.0.1:{args.port}", "--workers", "1"],
                              env=env, stderr=subprocess.DEVNULL)
    try:
        dataset.wait_ready(args.port, 300)
        total, same, overlap_sum = 0, 0, 0.0
        for words in vocabulary(args, args.seed, args.queries * 3):
            if total == args.queries:
                break
            want = exhaustive(args, words, args.top)
            if len(want) < args.top:  # too few matches to tell a top-k from the rest
                continue
            t0 = time.time()
            got = api(args.port, words, args.top)
            ms = (time.time() - t0) * 1000
            overlap = len(set(got) & set(want)) / len(want)
            total += 1
            same += got == want
            overlap_sum += overlap
            print(f"{' '.join(words):<32} overlap@{args.top} {overlap:.2f}  "
                  f"{'identical' if got == want else 'DIFFERENT'}  ({ms:.0f} ms)", flush=True)
        print(f"{total} queries: mean overlap@{args.top} {overlap_sum / total:.3f}, "
              f"{same} identical lists, {total - same} different")
        sys.exit(0 if same == total else 1)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
