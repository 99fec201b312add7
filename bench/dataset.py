"""The benchmark data set, shared by run.py and writes.py.

By default `mediadesk generate --seed 42 --articles N` makes it (cached under
bench/out/, with its parameters file). `--data FILE --params FILE` feeds another
file instead, e.g. `../shared/data/gen.py`'s output for a comparison with the
peers' harness, which uses gen.py itself (both write the same params names).
"""
import json, os, subprocess, time, urllib.request


def add_arguments(ap, root):
    ap.add_argument("--bin", default=os.path.join(root, "target", "release", "mediadesk"),
                    help="the mediadesk binary (default: the release build)")
    ap.add_argument("--data", help="import this NDJSON file instead of generating one")
    ap.add_argument("--params", help="the parameters file that goes with --data (gen.py --params)")


def count_articles(path):
    n = 0
    with open(path, "rb") as f:
        for line in f:
            if b'"type":"article"' in line or b'"type": "article"' in line:
                n += 1
    return n


def prepare(args, out):
    """Returns (data file, parameters dict, number of articles)."""
    if args.data:
        if not args.params:
            raise SystemExit("--data needs --params (the parameters file written with it)")
        params = json.load(open(args.params))
        return args.data, params, count_articles(args.data)
    n = args.articles
    data = os.path.join(out, f"gen-{n}.ndjson")
    params_file = os.path.join(out, f"gen-{n}.params.json")
    if not (os.path.exists(data) and os.path.exists(params_file)):
        subprocess.run([args.bin, "generate", "--seed", "42", "--articles", str(n), "-o", data + ".part",
                        "--params", params_file], check=True, stderr=subprocess.DEVNULL)
        os.replace(data + ".part", data)
    return data, json.load(open(params_file)), n


def wait_ready(port, tries=300, search_index=False):
    """Waits until the server on `port` answers /readyz (or `tries` × 0.2 s have
    passed); with `search_index`, until its relevance index is built too (however
    long that takes: the database ranks searches meanwhile)."""
    for _ in range(tries):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
                state = json.load(r).get("search_index")
            if not search_index or state != "building":
                return
            break
        except Exception:
            time.sleep(0.2)
    while search_index:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
            if json.load(r).get("search_index") != "building":
                return
        time.sleep(0.5)
