#!/usr/bin/env python3
"""clickhunt against DuckDB on the same synthetic UrlClickEvents, in one run.

Generates N rows as JSON lines (`clickhunt generate`), ingests them into a clickhunt
store (`clickhunt ingest`) and into a native DuckDB table (`read_json`), runs the
suite in queries.py on both (clickhunt: `clickhunt query --repeat`, timed inside the
process per run; DuckDB: the same in a worker process), checks that both return the
same rows, and prints median times with the ratio, ingest rows/s, peak memory (max
RSS of each engine's processes) and data size on disk. `bench/run.sh` sets it up.
"""

import argparse
import csv
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from queries import APPROX_TOLERANCE, APPROXIMATE, QUERIES  # noqa: E402

COLUMNS = {
    "Timestamp": "TIMESTAMP_NS",
    "Url": "VARCHAR",
    "ActionType": "VARCHAR",
    "AccountUpn": "VARCHAR",
    "Workload": "VARCHAR",
    "NetworkMessageId": "VARCHAR",
    "ThreatTypes": "VARCHAR",
    "DetectionMethods": "VARCHAR",
    "IPAddress": "VARCHAR",
    "IsClickedThrough": "BOOLEAN",
    "UrlChain": "VARCHAR",
    "ReportId": "VARCHAR",
    "AppName": "VARCHAR",
    "AppVersion": "VARCHAR",
    "SourceId": "VARCHAR",
}
DEPARTMENTS = ["Finance", "HR", "IT", "Sales", "Legal"]




def spawn_wait4(cmd):
    """Runs cmd, returning (returncode, stdout bytes, stderr bytes, wall s, maxrss bytes).
    Output goes through temporary files (a pipe could fill and stall the child), and
    the child is reaped with wait4 for its own peak RSS."""
    import tempfile

    with tempfile.TemporaryFile() as out_f, tempfile.TemporaryFile() as err_f:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out_f, stderr=err_f)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out_f.seek(0)
        err_f.seek(0)
        return proc.returncode, out_f.read(), err_f.read(), wall, usage.ru_maxrss * 1024


def dir_size(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total


def iso_to_ns(s):
    """'2026-10-30T16:56:08.8679767Z' -> ns since the epoch (all 7 digits)."""
    s = s.rstrip("Z")
    frac = "0"
    if "." in s:
        s, frac = s.split(".", 1)
    dt = datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return int(dt.timestamp()) * 1_000_000_000 + int(frac.ljust(9, "0")[:9])


def normalize(v):
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, float):
        return round(v, 6)
    return v


def clickhunt_rows(doc):
    cols = doc["columns"]
    out = []
    for row in doc["rows"]:
        r = []
        for c, v in zip(cols, row):
            if c["type"] == "datetime" and isinstance(v, str):
                v = iso_to_ns(v)
            r.append(normalize(v))
        out.append(tuple(r))
    return out


def same_rows(a, b, approximate):
    """Exact equality, or for estimated counts: the same rows with every integer
    within APPROX_TOLERANCE (keys matched on the non-integer columns)."""
    if not approximate:
        return a == b
    if len(a) != len(b):
        return False

    def key(r):
        return tuple(x for x in r if not isinstance(x, int) or isinstance(x, bool))

    bk = {key(r): r for r in b}
    for r in a:
        o = bk.get(key(r))
        if o is None:
            return False
        for x, y in zip(r, o):
            if isinstance(x, int) and not isinstance(x, bool):
                if abs(x - y) > APPROX_TOLERANCE * max(abs(y), 1):
                    return False
    return True


def sort_key(row):
    return tuple((x is None, str(type(x)), x if x is not None else 0) for x in row)


def fmt_bytes(n):
    for unit in ["B", "KiB", "MiB", "GiB"]:
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024


# ----------------------------------------------------------------------------------
# The DuckDB worker: runs in its own process so that its peak memory is its own.


def duckdb_worker(args):
    import duckdb

    con = duckdb.connect(args.db)
    con.execute(f"SET threads = {args.threads}")
    if args.task == "ingest":
        started = time.perf_counter()
        con.execute(
            "CREATE TABLE UrlClickEvents AS SELECT * FROM read_json(?, format='newline_delimited', columns="
            + repr(COLUMNS)
            + ")",
            [args.input],
        )
        con.execute("CHECKPOINT")
        elapsed = time.perf_counter() - started
        n = con.execute("SELECT count(*) FROM UrlClickEvents").fetchone()[0]
        con.execute(
            "CREATE TABLE Watchlist AS SELECT * FROM read_csv(?, header=true, columns={'AccountUpn':'VARCHAR','Department':'VARCHAR'})",
            [args.watchlist],
        )
        con.execute("CHECKPOINT")
        print(json.dumps({"rows": n, "seconds": elapsed}))
        return
    if args.task == "sql":
        rows = con.execute(args.sql).fetchall()
        print(json.dumps([list(r) for r in rows], default=str))
        return
    # queries: {name: sql}; time each `repeat` times
    suite = json.loads(args.suite)
    result = {}
    for name, sql in suite.items():
        runs = []
        rows = None
        for _ in range(args.repeat):
            started = time.perf_counter()
            rows = con.execute(sql).fetchall()
            runs.append((time.perf_counter() - started) * 1e3)
        result[name] = {"runs_ms": runs, "rows": [[normalize(x) for x in r] for r in rows]}
    print(json.dumps(result, default=str))


def duckdb_call(py, script, db, threads, **kw):
    cmd = [py, script, "duckdb-worker", "--db", db, "--threads", str(threads)]
    for k, v in kw.items():
        cmd += [f"--{k.replace('_', '-')}", str(v)]
    rc, out, err, wall, rss = spawn_wait4(cmd)
    if rc != 0:
        raise SystemExit(f"duckdb worker failed ({' '.join(cmd[:4])}):\n{err.decode(errors='replace')}")
    return json.loads(out), wall, rss


# ----------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd")
    w = sub.add_parser("duckdb-worker")
    w.add_argument("--db", required=True)
    w.add_argument("--threads", type=int, default=2)
    w.add_argument("--task", default="queries")
    w.add_argument("--input")
    w.add_argument("--watchlist")
    w.add_argument("--sql")
    w.add_argument("--suite")
    w.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=5, help="runs per query; the median is reported")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--work", default="target/bench")
    ap.add_argument("--clickhunt", default="target/release/clickhunt")
    ap.add_argument("--only", help="comma-separated query names")
    ap.add_argument("--skip-ingest", action="store_true", help="reuse the stores from a previous run")
    args = ap.parse_args()
    if args.cmd == "duckdb-worker":
        return duckdb_worker(args)

    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    ch = os.path.abspath(args.clickhunt)
    py = sys.executable
    me = os.path.abspath(__file__)
    gen_dir = os.path.join(work, f"gen-{args.rows}-{args.days}-{args.seed}")
    jsonl = os.path.join(gen_dir, "UrlClickEvents.jsonl")
    store_dir = os.path.join(work, "clickhunt-store")
    duck_db = os.path.join(work, "duckdb.db")
    watchlist = os.path.join(work, "Watchlist.csv")
    report = {"rows": args.rows, "days": args.days, "seed": args.seed, "threads": args.threads}

    # 1. Data
    if not os.path.exists(jsonl):
        print(f"generating {args.rows:,} UrlClickEvents rows over {args.days} days ...", flush=True)
        rc, out, err, wall, _ = spawn_wait4([
            ch, "generate", "--rows", str(args.rows), "--days", str(args.days), "--seed", str(args.seed),
            "--end", "2026-11-01T00:00:00Z", "--format", "jsonl", "--tables", "UrlClickEvents", "--out", gen_dir,
        ])
        if rc != 0:
            raise SystemExit(err.decode(errors="replace"))
        print(f"  {wall:.1f} s ({args.rows / wall:,.0f} rows/s to JSON lines)")
    report["input_bytes"] = os.path.getsize(jsonl)

    if not args.skip_ingest:
        for p in [store_dir, duck_db, duck_db + ".wal"]:
            if os.path.isdir(p):
                shutil.rmtree(p)
            elif os.path.exists(p):
                os.remove(p)
        # 2. Ingest: DuckDB first (its table also picks the watchlist users).
        users_sql = "SELECT DISTINCT AccountUpn FROM read_json(?, format='newline_delimited', columns={'AccountUpn':'VARCHAR'}) ORDER BY 1 LIMIT 500"
        import duckdb  # only to pick the watchlist users, in this process

        users = [r[0] for r in duckdb.connect().execute(users_sql, [jsonl]).fetchall()]
        with open(watchlist, "w", newline="") as f:
            wr = csv.writer(f)
            wr.writerow(["AccountUpn", "Department"])
            for i, u in enumerate(users):
                wr.writerow([u, DEPARTMENTS[i % len(DEPARTMENTS)]])
        print("ingesting into DuckDB (read_json into a native table) ...", flush=True)
        d, dwall, drss = duckdb_call(py, me, duck_db, args.threads, task="ingest", input=jsonl, watchlist=watchlist)
        report["duckdb_ingest"] = {"rows": d["rows"], "seconds": d["seconds"], "rows_per_s": d["rows"] / d["seconds"], "peak_rss": drss}
        print(f"  {d['rows']:,} rows in {d['seconds']:.1f} s = {d['rows'] / d['seconds']:,.0f} rows/s, peak {fmt_bytes(drss)}")
        print("ingesting into clickhunt (clickhunt ingest) ...", flush=True)
        rc, out, err, wall, rss = spawn_wait4([ch, "ingest", "--data", store_dir, jsonl])
        if rc != 0:
            raise SystemExit(err.decode(errors="replace"))
        rc2, _, err2, _, _ = spawn_wait4([ch, "ingest", "--data", store_dir, "--table", "Watchlist", "--create-tables", watchlist])
        if rc2 != 0:
            raise SystemExit(err2.decode(errors="replace"))
        report["clickhunt_ingest"] = {"rows": args.rows, "seconds": wall, "rows_per_s": args.rows / wall, "peak_rss": rss}
        print(f"  {args.rows:,} rows in {wall:.1f} s = {args.rows / wall:,.0f} rows/s, peak {fmt_bytes(rss)}")
    report["clickhunt_disk"] = dir_size(store_dir)
    report["duckdb_disk"] = os.path.getsize(duck_db)

    # 3. Queries
    user = duckdb_call(py, me, duck_db, args.threads, task="sql",
                       sql="SELECT AccountUpn FROM UrlClickEvents GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1 OFFSET 1000")[0][0][0]
    only = set(args.only.split(",")) if args.only else None
    suite = [(n, k.replace("{user}", user), s.replace("{user}", user)) for n, k, s in QUERIES if not only or n in only]
    print(f"running {len(suite)} queries, {args.repeat} runs each ...", flush=True)
    duck, _, duck_rss = duckdb_call(py, me, duck_db, args.threads, suite=json.dumps({n: s for n, _, s in suite}), repeat=args.repeat)
    results = []
    ch_rss_max = 0
    for name, kql, _ in suite:
        tf = os.path.join(work, f"timings-{name}.json")
        rc, out, err, _, rss = spawn_wait4([ch, "query", "--data", store_dir, "--format", "json",
                                            "--repeat", str(args.repeat), "--timings", tf, kql])
        ch_rss_max = max(ch_rss_max, rss)
        if rc != 0:
            results.append({"name": name, "error": err.decode(errors="replace").strip()})
            continue
        ch_runs = json.load(open(tf))["runs_ms"]
        ch_rows = sorted(clickhunt_rows(json.loads(out)), key=sort_key)
        d_rows = sorted((tuple(r) for r in duck[name]["rows"]), key=sort_key)
        same = same_rows(ch_rows, d_rows, name in APPROXIMATE)
        ch_med = statistics.median(ch_runs)
        d_med = statistics.median(duck[name]["runs_ms"])
        results.append({
            "name": name, "clickhunt_ms": ch_med, "duckdb_ms": d_med, "ratio": ch_med / d_med,
            "rows": len(ch_rows), "same_rows": same, "approximate": name in APPROXIMATE, "clickhunt_peak_rss": rss,
            "diff": None if same else {"clickhunt": [list(r) for r in ch_rows[:3]], "duckdb": [list(r) for r in d_rows[:3]], "counts": [len(ch_rows), len(d_rows)]},
        })
    report["queries"] = results
    report["clickhunt_query_peak_rss"] = ch_rss_max
    report["duckdb_query_peak_rss"] = duck_rss

    # 4. Report
    lines = [
        f"clickhunt vs DuckDB: {args.rows:,} UrlClickEvents rows over {args.days} days, {args.threads} threads each, median of {args.repeat} runs",
        "",
        f"| query | clickhunt ms | DuckDB ms | ratio (clickhunt/DuckDB) | rows | same rows |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['name']} | error | | | | {r['error'][:80]} |")
            continue
        same = ("yes (within 3%: dcount)" if r["approximate"] else "yes") if r["same_rows"] else "NO"
        lines.append(f"| {r['name']} | {r['clickhunt_ms']:.1f} | {r['duckdb_ms']:.1f} | {r['ratio']:.2f} | {r['rows']:,} | {same} |")
    lines.append("")
    if "clickhunt_ingest" in report:
        ci, di = report["clickhunt_ingest"], report["duckdb_ingest"]
        lines.append(f"ingest (JSON lines, {fmt_bytes(report['input_bytes'])}): clickhunt {ci['rows_per_s']:,.0f} rows/s ({ci['seconds']:.1f} s, peak {fmt_bytes(ci['peak_rss'])}); "
                     f"DuckDB read_json {di['rows_per_s']:,.0f} rows/s ({di['seconds']:.1f} s, peak {fmt_bytes(di['peak_rss'])}); ratio {ci['rows_per_s'] / di['rows_per_s']:.2f}")
    lines.append(f"peak memory while querying: clickhunt {fmt_bytes(ch_rss_max)} (largest query process), DuckDB {fmt_bytes(duck_rss)} (the one worker process)")
    lines.append(f"data on disk: clickhunt {fmt_bytes(report['clickhunt_disk'])}, DuckDB {fmt_bytes(report['duckdb_disk'])}")
    text = "\n".join(lines)
    print()
    print(text)
    for r in results:
        if r.get("diff"):
            print(f"\nrows differ for {r['name']}: {json.dumps(r['diff'], default=str)[:1500]}")
    with open(os.path.join(work, "report.md"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(work, "report.json"), "w") as f:
        json.dump(report, f, indent=2, default=str)
    if any("error" in r or not r["same_rows"] for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
