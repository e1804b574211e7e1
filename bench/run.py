#!/usr/bin/env python3
"""The performance benchmarks (docs/performance.md), side by side, in one run. Anyone can run it:

    python3 bench/run.py            # full: 1.1M and 10M rows offline, fetch at rate 50 and 200
    python3 bench/run.py --quick    # 1.1M rows offline and a short fetch run
    python3 bench/run.py --reports  # the workbook and the report at 1.1M rows (nothing else)
    python3 bench/run.py --quotas   # calls/s against per-minute budgets of 600 and 6,000 (bench/quotas.py)

It builds the release binaries, generates seeded get_info bodies (crates/wecom-fake/src/generate.rs), and measures
  1. the offline path: `wecom-attendance run --source-dir` (read bodies → store → flatten →
     summaries → Parquet + CSV) and `summarize` alone (store → tables), wall time, rows/s and
     peak RSS (GNU time);
  2. the DuckDB baseline (bench/duckdb_baseline.py, `duckdb` from PyPI installed into
     bench/.venv) on the same files and cores, checking that both tools give the same totals;
  3. fetching meetings from the in-repo fake WeCom server with 100 ms latency at --rate 50 and
     200, with the server enforcing the same rate: achieved calls/s over the configured rate and
     the number of 45009 answers.
Results are printed as a Markdown table and written to bench/results.md.

With --reports it only times writing what people open, from the store of the 1.1M-row case:
`summarize --format xlsx` (the workbook alone), `report` (the HTML page alone), and
`summarize` with csv,parquet against csv,parquet,xlsx,html (what adding both costs a run), wall
time and peak RSS each, plus the files' sizes and the workbook's sheets. Written to
bench/results-reports.md.
"""
import argparse, json, os, re, shutil, subprocess, sys, time, zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
DATA = os.path.join(BENCH, "data")
REL = os.path.join(ROOT, "target", "release")
VENV = os.path.join(BENCH, ".venv")
# DuckDB writing every table (--full) is slow at 10M rows; it runs for the smaller cases only.
FULL_DUCKDB_MAX_ROWS = 2_000_000


def sh(cmd, **kw):
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    return subprocess.run(cmd, check=True, **kw)


def timed(cmd, env=None):
    """Runs cmd under GNU time; returns (wall seconds, peak RSS MiB, completed process)."""
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if p.returncode not in (0, 2):
        sys.exit(f"{cmd[0]} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    return wall, rss_kb / 1024, p


def ensure_duckdb():
    py = os.path.join(VENV, "bin", "python")
    if not os.path.exists(py):
        sh([sys.executable, "-m", "venv", VENV])
    if subprocess.run([py, "-c", "import duckdb"], capture_output=True).returncode != 0:
        sh([py, "-m", "pip", "install", "-q", "duckdb"])
    return py


def generate(meetings, attendees, seed=7):
    d = os.path.join(DATA, f"{meetings}x{attendees}")
    if not os.path.exists(os.path.join(d, "ids.txt")):
        shutil.rmtree(d, ignore_errors=True)
        sh([os.path.join(REL, "fake-wecom"), "--generate", str(meetings), "--attendees",
            str(attendees), "--seed", str(seed), "--days", "30", "--write-fixtures", d])
    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d) if f.endswith(".json"))
    return d, size


def offline(py, meetings, attendees, rows_out):
    d, size = generate(meetings, attendees)
    out = os.path.join(DATA, f"out-{meetings}x{attendees}")
    shutil.rmtree(out, ignore_errors=True)
    job = os.path.join(BENCH, "bench.toml")
    base = [os.path.join(REL, "wecom-attendance")]
    run_wall, run_rss, _ = timed(base + ["run", "--quiet", "--job", job, "--source-dir", d,
                                         "--ids", os.path.join(d, "ids.txt"), "--out", out, "--store", os.path.join(out, "_store", "raw.sqlite")])
    sum_wall, sum_rss, _ = timed(base + ["summarize", "--quiet", "--job", job, "--out", out, "--store", os.path.join(out, "_store", "raw.sqlite")])
    report = sorted(os.listdir(os.path.join(out, "_runs")))[-1]
    rep = json.load(open(os.path.join(out, "_runs", report)))
    rows = rep["rows"]["attendance_rows"]
    duck_out = os.path.join(DATA, f"duck-{meetings}x{attendees}")
    shutil.rmtree(duck_out, ignore_errors=True)
    duck_wall, duck_rss, p = timed([py, os.path.join(BENCH, "duckdb_baseline.py"), d, duck_out,
                                    "--threads", str(os.cpu_count() or 2)])
    duck = json.loads(p.stdout.strip().splitlines()[-1])
    full_wall = full_rss = None
    if rows <= FULL_DUCKDB_MAX_ROWS:
        shutil.rmtree(duck_out, ignore_errors=True)
        full_wall, full_rss, _ = timed([py, os.path.join(BENCH, "duckdb_baseline.py"), d,
                                        duck_out, "--threads", str(os.cpu_count() or 2), "--full"])
    ours = json.loads(subprocess.run(
        [py, "-c",
         "import sys, json; sys.path.insert(0, sys.argv[1]); import duckdb; "
         "from duckdb_baseline import checksums; "
         "print(json.dumps(checksums(duckdb.connect(), repr(sys.argv[2]), repr(sys.argv[3]))))",
         BENCH, os.path.join(out, "meetings", "*", "*.parquet"),
         os.path.join(out, "users", "*", "*.parquet")],
        check=True, capture_output=True, text=True).stdout)
    same = ours == duck["sums"]
    print(f"offline {meetings}x{attendees}: run {run_wall:.2f} s {run_rss:.0f} MiB, summarize "
          f"{sum_wall:.2f} s {sum_rss:.0f} MiB, duckdb {duck_wall:.2f} s {duck_rss:.0f} MiB, "
          f"same totals: {same}", file=sys.stderr, flush=True)
    rows_out.append({
        "case": f"{meetings:,} × {attendees} ({rows:,} rows, {size / 1e6:.0f} MB JSON)",
        "run_s": run_wall, "run_rss": run_rss, "sum_s": sum_wall, "sum_rss": sum_rss,
        "duck_s": duck_wall, "duck_inner_s": duck["wall_s"], "duck_rss": duck_rss,
        "rows_per_s": rows / sum_wall, "same": same,
        "speedup": duck_wall / sum_wall,
        "full_s": full_wall, "full_rss": full_rss,
    })
    if not same:
        print("MISMATCH ours:", ours, "duckdb:", duck["sums"], file=sys.stderr)
    if rows <= FULL_DUCKDB_MAX_ROWS:
        # What each phase costs on one thread: the floor two cores could reach.
        rows_out[-1]["phases"] = subprocess.run(
            [os.path.join(REL, "phase-costs"), job, out],
            check=True, capture_output=True, text=True).stdout


def fetch(rate, meetings, rows_out, latency_ms=100):
    ids = os.path.join(DATA, f"fetch-ids-{rate}.txt")
    fake = subprocess.Popen(
        [os.path.join(REL, "fake-wecom"), "--generate", str(meetings), "--attendees", "20",
         "--ids-out", ids,
         "--seed", "11", "--latency-ms", str(latency_ms), "--rate", str(rate), "--burst",
         str(rate), "--corpid", "bench-corp", "--secret", "bench-secret", "--max-seconds", "900"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = fake.stdout.readline()
        url = line.strip().split()[-1]
        out = os.path.join(DATA, f"fetch-{rate}")
        shutil.rmtree(out, ignore_errors=True)
        env = dict(os.environ, WECOM_BASE_URL=url, BENCH_CORPID="bench-corp",
                   BENCH_SECRET="bench-secret")
        concurrency = max(8, int(rate * latency_ms / 1000 * 2))
        wall, rss, _ = timed([os.path.join(REL, "wecom-attendance"), "fetch", "--quiet", "--job",
                              os.path.join(BENCH, "bench.toml"), "--ids", ids, "--out", out, "--store", os.path.join(out, "_store", "raw.sqlite"),
                              "--rate", str(rate), "--concurrency", str(concurrency)], env=env)
        rep_name = sorted(os.listdir(os.path.join(out, "_runs")))[-1]
        rep = json.load(open(os.path.join(out, "_runs", rep_name)))
        fetch_s = rep["timings"]["fetch_ms"] / 1000
        calls = rep["counts"]["api_calls"]
        print(f"fetch at rate {rate}: {calls} calls in {fetch_s:.1f} s", file=sys.stderr, flush=True)
        rows_out.append({
            "rate": rate, "meetings": meetings, "concurrency": concurrency,
            "calls": calls, "fetch_s": fetch_s, "achieved": calls / fetch_s,
            "ratio": calls / fetch_s / rate, "throttled": rep["counts"]["throttled"],
            "failed": rep["counts"]["failed"],
        })
    finally:
        fake.terminate()
        fake.wait()


def reports(meetings=10_000, attendees=110):
    """Times the workbook and the report at 1.1M rows; returns the Markdown lines."""
    d, _ = generate(meetings, attendees)
    out = os.path.join(DATA, f"reports-{meetings}x{attendees}")
    shutil.rmtree(out, ignore_errors=True)
    job = os.path.join(BENCH, "bench.toml")
    exe = os.path.join(REL, "wecom-attendance")
    timed([exe, "run", "--quiet", "--job", job, "--source-dir", d, "--ids",
           os.path.join(d, "ids.txt"), "--out", out, "--store", os.path.join(out, "_store", "raw.sqlite")])
    rep = json.load(open(os.path.join(out, "_runs", sorted(os.listdir(os.path.join(out, "_runs")))[-1])))
    rows = rep["rows"]["attendance_rows"]
    cases = [
        ("summarize --format csv,parquet (the tables, for comparison)",
         ["summarize", "--format", "csv,parquet"]),
        ("summarize --format xlsx (the workbook alone)", ["summarize", "--format", "xlsx"]),
        ("report (the HTML page alone)", ["report"]),
        ("summarize --format csv,parquet,xlsx,html (everything in one pass)",
         ["summarize", "--format", "csv,parquet,xlsx,html"]),
    ]
    lines = [f"Machine: {machine()}. Command: `python3 bench/run.py --reports`. "
             f"Store: {meetings:,} meetings × {attendees} ({rows:,} attendance rows), "
             f"from `fake-wecom --generate {meetings} --attendees {attendees} --seed 7 --days 30`.", "",
             "| command | wall | peak RSS |", "|---|---|---|"]
    for label, args in cases:
        walls, rss = [], 0.0
        for _ in range(3):
            w, r, _ = timed([exe] + args[:1] + ["--quiet", "--job", job, "--out", out, "--store", os.path.join(out, "_store", "raw.sqlite")] + args[1:])
            walls.append(w)
            rss = max(rss, r)
        walls.sort()
        print(f"{label}: {walls}", file=sys.stderr, flush=True)
        lines.append(f"| `{label.split(' (')[0]}` ({label.split(' (')[1]} | "
                     f"{walls[1]:.2f} s (median of 3) | {rss:.0f} MiB |")
    window = [f for f in os.listdir(os.path.join(out, "workbooks"))][0]
    xlsx = os.path.join(out, "workbooks", window, "attendance.xlsx")
    html = os.path.join(out, "reports", window, "report.html")
    with zipfile.ZipFile(xlsx) as z:
        names = re.findall(r'<sheet name="([^"]+)"', z.read("xl/workbook.xml").decode())
    lines += ["", f"Workbook: {os.path.getsize(xlsx) / 1e6:.1f} MB, sheets: {', '.join(names)}. "
              f"Report: {os.path.getsize(html) / 1e3:.0f} kB."]
    return lines


def machine():
    cpu = "unknown CPU"
    try:
        for l in open("/proc/cpuinfo"):
            if l.startswith("model name"):
                cpu = l.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--reports", action="store_true")
    ap.add_argument("--quotas", action="store_true")
    a = ap.parse_args()
    sh(["cargo", "build", "--release", "--workspace", "--bins"], cwd=ROOT)
    os.makedirs(DATA, exist_ok=True)
    if a.quotas:
        from quotas import quotas
        text = "\n".join(quotas(REL, DATA, machine())) + "\n"
        print(text)
        open(os.path.join(BENCH, "results-quotas.md"), "w").write(text)
        return
    if a.reports:
        text = "\n".join(reports()) + "\n"
        print(text)
        open(os.path.join(BENCH, "results-reports.md"), "w").write(text)
        return
    py = ensure_duckdb()
    off, fet = [], []
    cases = [(10_000, 110)] if a.quick else [(10_000, 110), (100_000, 100)]
    for m, n in cases:
        offline(py, m, n, off)
    for rate in ([50] if a.quick else [50, 200]):
        fetch(rate, 500 if a.quick else 2000, fet)
    lines = [f"Machine: {machine()}. Command: `python3 bench/run.py{' --quick' if a.quick else ''}`.", "",
             "| offline case | ours: run (dir → store → tables) | ours: summarize (store → all tables, CSV + Parquet) | rows/s (summarize) | DuckDB: summaries only | speed-up | DuckDB: same tables, CSV + Parquet | speed-up | same totals |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in off:
        full = (f"{r['full_s']:.2f} s, {r['full_rss']:.0f} MiB | {r['full_s'] / r['sum_s']:.1f}×"
                if r["full_s"] else "not run | –")
        lines.append(f"| {r['case']} | {r['run_s']:.2f} s, {r['run_rss']:.0f} MiB | {r['sum_s']:.2f} s, {r['sum_rss']:.0f} MiB | {r['rows_per_s'] / 1e6:.2f} M | {r['duck_s']:.2f} s, {r['duck_rss']:.0f} MiB | {r['speedup']:.1f}× | {full} | {'yes' if r['same'] else 'NO'} |")
    lines += ["", "| fetch | meetings | concurrency | API calls | seconds | calls/s | of the rate | 45009 answers | failed |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in fet:
        lines.append(f"| --rate {r['rate']}, 100 ms latency | {r['meetings']} | {r['concurrency']} | {r['calls']} | {r['fetch_s']:.1f} | {r['achieved']:.1f} | {r['ratio'] * 100:.1f} % | {r['throttled']} | {r['failed']} |")
    for r in off:
        if "phases" in r:
            lines += ["", f"Per-phase CPU cost of `summarize`, one phase after another on one thread, "
                      f"{r['case']} (`target/release/phase-costs bench/bench.toml <out>`):", "",
                      "```", r["phases"].rstrip(), "```"]
    text = "\n".join(lines) + "\n"
    print(text)
    open(os.path.join(BENCH, "results.md"), "w").write(text)


if __name__ == "__main__":
    main()
