#!/usr/bin/env python3
"""Checks the API's relevance search against an exhaustive ranking, query by query.

    python3 bench/search_overlap.py --sqlite DATA_DIR [--queries 50] [--seed 42]
    python3 bench/search_overlap.py --postgres postgres://postgres@127.0.0.1:5432/mdbench_100000 --docs DATA_DIR

Starts `mediadesk serve` (`--bin`, default target/release/mediadesk) on an already
imported database (run.py's bench/out/db-N, or any data directory / database URL),
waits until its relevance index is built (`/readyz`), draws `--queries` queries
from the data's own title vocabulary (one and two words, deterministic for a seed;
W4's "oil prices" is always the first; queries with fewer than `--top` matches are
passed over), and for each compares the first `--top` articles that GraphQL returns
for `articles(filter: {query}, orderBy: RELEVANCE)` with the same number ranked by
this script over EVERY match under the same scoring: BM25 (k1 1.2, b 0.75, tantivy's
idf and its one-byte field-length table) of each query word in the title (weight 10)
plus in the rest, summed; ties by id, newest first; only what the public sees. The
documents are the folded texts the SQLite FTS5 table stores (`--docs`: the data
directory of a SQLite import of the same data, for a PostgreSQL run). Prints
overlap@k per query and in all, and how many lists are identical. Exits non-zero
when a list differs, so it guards a top-k search that must be exact. Needs sqlite3
(and psql for --postgres) on PATH.
"""
import argparse, bisect, collections, json, math, os, random, re, signal, subprocess, sys, time, urllib.request

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


def docs_sql(args, query):
    """Runs `query` on the SQLite file that holds the folded search documents."""
    cmd = ["sqlite3", "-batch", "-separator", "\t", os.path.join(args.docs, "mediadesk.db"), query]
    return [l for l in subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.split("\n") if l]


# tantivy's field-length codes (`fieldnorm::FIELD_NORMS_TABLE`): a length is kept
# as the largest entry not above it.
FIELD_NORMS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 42, 44, 46, 48, 50, 52, 54, 56, 60, 64, 68, 72, 76, 80, 84, 88, 96, 104, 112, 120, 128, 136, 144, 152, 168, 184, 200, 216, 232, 248, 264, 280, 312, 344, 376, 408, 440, 472, 504, 536, 600, 664, 728, 792, 856, 920, 984, 1048, 1176, 1304, 1432, 1560, 1688, 1816, 1944, 2072, 2328, 2584, 2840, 3096, 3352, 3608, 3864, 4120, 4632, 5144, 5656, 6168, 6680, 7192, 7704, 8216, 9240, 10264, 11288, 12312, 13336, 14360, 15384, 16408, 18456, 20504, 22552, 24600, 26648, 28696, 30744, 32792, 36888, 40984, 45080, 49176, 53272, 57368, 61464, 65560, 73752, 81944, 90136, 98328, 106520, 114712, 122904, 131096, 147480, 163864, 180248, 196632, 213016, 229400, 245784, 262168, 294936, 327704, 360472, 393240, 426008, 458776, 491544, 524312, 589848, 655384, 720920, 786456, 851992, 917528, 983064, 1048600, 1179672, 1310744, 1441816, 1572888, 1703960, 1835032, 1966104, 2097176, 2359320, 2621464, 2883608, 3145752, 3407896, 3670040, 3932184, 4194328, 4718616, 5242904, 5767192, 6291480, 6815768, 7340056, 7864344, 8388632, 9437208, 10485784, 11534360, 12582936, 13631512, 14680088, 15728664, 16777240, 18874392, 20971544, 23068696, 25165848, 27263000, 29360152, 31457304, 33554456, 37748760, 41943064, 46137368, 50331672, 54525976, 58720280, 62914584, 67108888, 75497496, 83886104, 92274712, 100663320, 109051928, 117440536, 125829144, 134217752, 150994968, 167772184, 184549400, 201326616, 218103832, 234881048, 251658264, 268435480, 301989912, 335544344, 369098776, 402653208, 436207640, 469762072, 503316504, 536870936, 603979800, 671088664, 738197528, 805306392, 872415256, 939524120, 1006632984, 1073741848, 1207959576, 1342177304, 1476395032, 1610612760, 1744830488, 1879048216, 2013265944]
K1, B, TITLE_BOOST = 1.2, 0.75, 10.0
SQLITE_NOW = "strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')"


def quantized(n):
    return FIELD_NORMS[bisect.bisect_right(FIELD_NORMS, n) - 1]


class Bm25:
    """BM25 over the two fields, from the corpus statistics read once."""

    def __init__(self, args):
        self.args = args
        self.vocab = "CREATE VIRTUAL TABLE temp.v USING fts5vocab(main, article_search, 'col'); "
        self.n = int(docs_sql(args, "SELECT COUNT(*) FROM article_search")[0])
        cols = docs_sql(args, self.vocab + "SELECT col, SUM(cnt) FROM temp.v GROUP BY col")
        self.avg = {c: int(t) / self.n for c, t in (l.split("\t") for l in cols)}

    def idf(self, word):
        rows = docs_sql(self.args, self.vocab + f"SELECT col, doc FROM temp.v WHERE term = '{word}'")
        return {c: math.log(1 + (self.n - int(d) + 0.5) / (int(d) + 0.5))
                for c, d in (r.split("\t") for r in rows)}

    def top(self, words, k):
        """The top k public slugs when every match is scored."""
        idf = {w: self.idf(w) for w in words}
        match = " ".join(f'"{w}"' for w in words)
        rows = docs_sql(self.args,
            f"SELECT a.id, a.slug, s.title, s.rest FROM article_search s JOIN articles a ON a.id = s.rowid "
            f"WHERE article_search MATCH '{match}' AND {PUBLIC.format(now=SQLITE_NOW)}")
        scored = []
        for r in rows:
            aid, slug, title, rest = (r.split("\t") + ["", ""])[:4]
            score = 0.0
            for col, text, boost in (("title", title, TITLE_BOOST), ("rest", rest, 1.0)):
                toks = text.split()
                cache = K1 * (1 - B + B * quantized(len(toks)) / self.avg[col])
                for w in words:
                    tf = toks.count(w)
                    if tf:
                        score += boost * idf[w][col] * (1 + K1) * tf / (tf + cache)
            scored.append((score, int(aid), slug))
        scored.sort(key=lambda x: (-x[0], -x[1]))
        return [s for _, _, s in scored[:k]]


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
    ap.add_argument("--docs", help="with --postgres: the data directory of a SQLite import of the same data")
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "mediadesk"))
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--port", type=int, default=18191)
    args = ap.parse_args()
    args.docs = args.docs or args.sqlite
    if not args.docs:
        raise SystemExit("--postgres needs --docs DATA_DIR (a SQLite import of the same data)")

    env = dict(os.environ, RUST_LOG="warn", MEDIADESK_NO_DEMO="true", MEDIADESK_RESPONSE_CACHE="0")
    if args.sqlite:
        env["MEDIADESK_DATA_DIR"] = args.sqlite
        env.pop("DATABASE_URL", None)
    else:
        env["DATABASE_URL"] = args.postgres
    server = subprocess.Popen([args.bin, "serve", "--bind", f"127.0.0.1:{args.port}", "--workers", "1"],
                              env=env, stderr=subprocess.DEVNULL)
    try:
        dataset.wait_ready(args.port, 300, search_index=True)
        bm25 = Bm25(args)
        total, same, overlap_sum = 0, 0, 0.0
        for words in vocabulary(args, args.seed, args.queries * 3):
            if total == args.queries:
                break
            want = bm25.top(words, args.top)
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
