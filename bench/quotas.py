"""The quota benchmark (`python3 bench/run.py --quotas`): calls/s achieved against per-minute
budgets of 600 and 6,000, as a ratio of the budget, with the fake server enforcing the same
minute quota per API on a scaled clock (WeCom's block semantics: one call too many → 45009 and
the API blocked for a "minute").

Each case fetches QUOTA_WINDOWS budgets' worth of meetings with the job's `fetch.per_minute`
equal to the server's quota and `fetch.quota_window_scale` equal to its clock scale, at a
`--rate` of twice the budget's rate, so that the budget, not the rate, is what holds the run
back. It reports the calls/s achieved over the whole fetch as a ratio of the budget
(budget ÷ window), the ratio of the budget-limited optimum (the first window's calls at the
rate, then a budget per window: (windows − 1) × window + budget ÷ rate) to the time taken, the
45009 answers (0 means the budget held in every span) and the busiest window the server
counted (at most the budget).
"""

import json, os, shutil, subprocess, sys

# Each case scales the clock so that its budget is this many calls/s (a "minute" of 3 s for
# 600, of 30 s for 6,000): the ratio to the budget is what is measured, and 2 × 200 calls/s
# on loopback leaves the CPU out of it.
BUDGET_RATE = 200
QUOTA_WINDOWS = 6
LATENCY_MS = 10
GET_INFO = "/cgi-bin/meeting/get_info"

JOB = """name = "quotas"
timezone = "Asia/Shanghai"
window = "all"
[api]
corpid_env = "BENCH_CORPID"
secret_env = "BENCH_SECRET"
timeout_s = 10
[source]
kind = "api"
[fetch]
rate = {rate}
burst = {burst}
concurrency = {concurrency}
per_minute = {budget}
quota_window_scale = {scale}
[output]
formats = ["csv"]
"""


def one(rel, data, budget):
    scale = budget / (BUDGET_RATE * 60)
    window_s = 60 * scale
    budget_rate = budget / window_s
    rate = 2 * budget_rate
    meetings = QUOTA_WINDOWS * budget
    concurrency = max(8, int(rate * LATENCY_MS / 1000 * 2))
    ids = os.path.join(data, f"quota-ids-{budget}.txt")
    out = os.path.join(data, f"quota-{budget}")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    job = os.path.join(out, "quotas.toml")
    open(job, "w").write(JOB.format(rate=rate, burst=max(1, int(rate / 10)),
                                    concurrency=concurrency, budget=budget, scale=scale))
    fake = subprocess.Popen(
        [os.path.join(rel, "fake-wecom"), "--generate", str(meetings), "--attendees", "5",
         "--ids-out", ids, "--seed", "13", "--latency-ms", str(LATENCY_MS),
         "--quota-per-minute", str(budget), "--quota-clock-scale", str(scale),
         "--corpid", "bench-corp", "--secret", "bench-secret", "--max-seconds", "600"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = fake.stdout.readline().strip().split()[-1]
        env = dict(os.environ, WECOM_BASE_URL=url, BENCH_CORPID="bench-corp",
                   BENCH_SECRET="bench-secret")
        p = subprocess.run([os.path.join(rel, "wecom-attendance"), "fetch", "--quiet", "--job", job,
                            "--ids", ids, "--out", out,
                            "--store", os.path.join(out, "_store", "raw.sqlite")],
                           env=env, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"fetch failed ({p.returncode}):\n{p.stderr[-3000:]}")
    finally:
        fake.terminate()
        _, err = fake.communicate()
    stats = json.loads([l for l in err.splitlines() if l.startswith("{")][-1])
    rep_name = sorted(os.listdir(os.path.join(out, "_runs")))[-1]
    rep = json.load(open(os.path.join(out, "_runs", rep_name)))
    fetch_s = rep["timings"]["fetch_ms"] / 1000
    calls = stats["get_info_calls"]
    optimum_s = (QUOTA_WINDOWS - 1) * window_s + budget / rate
    row = {
        "budget": budget, "window_s": window_s, "rate": rate, "meetings": meetings,
        "concurrency": concurrency, "calls": calls, "fetch_s": fetch_s,
        "achieved": calls / fetch_s, "of_budget": calls / fetch_s / budget_rate,
        "of_optimum": optimum_s / fetch_s, "throttled": stats["throttled_45009"],
        "busiest": stats.get("busiest_minute", {}).get(GET_INFO, 0),
        "failed": rep["counts"]["failed"],
    }
    print(f"quota {budget}/min: {calls} calls in {fetch_s:.1f} s", file=sys.stderr, flush=True)
    return row


def quotas(rel, data, machine):
    """Runs both cases; returns the Markdown lines."""
    rows = [one(rel, data, b) for b in (600, 6000)]
    lines = [f"Machine: {machine}. Command: `python3 bench/run.py --quotas`. The fake server and "
             f"the job both scale WeCom's windows so that each budget is {BUDGET_RATE} calls/s; "
             f"{LATENCY_MS} ms latency; {QUOTA_WINDOWS} budgets' worth of meetings per case, "
             "`--rate` twice the budget's.", "",
             "| per-minute budget | scaled minute | budget calls/s | meetings | concurrency | seconds | calls/s achieved | of the budget | of the budget-limited optimum | 45009 answers | busiest window | failed |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['budget']} | {r['window_s']:g} s | {r['budget'] / r['window_s']:.0f} | {r['meetings']} | "
            f"{r['concurrency']} | {r['fetch_s']:.1f} | {r['achieved']:.0f} | "
            f"{r['of_budget'] * 100:.1f} % | {r['of_optimum'] * 100:.1f} % | {r['throttled']} | "
            f"{r['busiest']} | {r['failed']} |")
    return lines
