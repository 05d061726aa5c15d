"""Loopback load: Arbiter's credit endpoint against a bare FastAPI app, and Arbiter with shadow mode on.

    .venv/bin/python benchmarks/api.py [--seconds 4] [--rounds 5] [--connections 32] [--workers 1]
                                       [--log-level INFO] [--no-batch] [--only shadow]
                                       [--shadow-nice 19] [--shadow-sample 0.25]

About 2 minutes with the defaults (3 minutes with the batch rows on a loaded machine).
Runs wrk when it is installed (``apt-get install wrk``), else a Python load generator in a
separate process. Three servers run under uvicorn with uvloop + httptools on free loopback
ports: Arbiter (its JSON logs at ``--log-level``, INFO writing one access line per request,
to a file as a server's would), the same with ``ARBITER_SHADOW=credit=1.1.0`` (every request
compared, the shadow process at ``ARBITER_SHADOW_NICE=--shadow-nice``), and the bare app;
with ``--shadow-sample``, a fourth server compares that share of requests
(``ARBITER_SHADOW_SAMPLE``). ``--only shadow`` loads Arbiter and its shadowed servers alone. Before loading, Arbiter and the bare app answer the same 300 random bodies and must
agree. Then ``--rounds`` rounds: in each, every endpoint is loaded for ``--seconds`` on
fresh connections, in the order shadowed, Arbiter, bare (then the sampled and control
servers), reversed every other round: each ratio with a target compares neighbours in
time, first one then the other first, so the machine's drift cancels in the pairs. The report gives each endpoint's median round and the ratios that have
targets, both as median over median and as the median of the per-round (paired) ratios:
Arbiter's throughput over the bare app's (>= 0.90), the p99 with shadow on over the p99
with it off (<= 1.10), with the comparisons the shadow server made and skipped (from its
/metrics: a shadow that skipped everything would be fast and useless). A last round reloads
Arbiter's packs half-way and counts non-2xx answers; it is kept out of the medians. The
load average is printed before and after: on a shared machine, quote ratios, not rates.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import jsonio  # noqa: E402

ADMIN_TOKEN = "bench-token"
WRK_LUA = """
local bodies = {}
for line in io.lines(os.getenv("BODY_FILE")) do bodies[#bodies + 1] = line end
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
"""


def random_orders(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        limit = rng.choice([0, 5000, 20000, 60000, 250000, 1000000])
        out.append({
            "order_amount": Decimal(rng.randint(100, 3_000_000)) / 100,
            "open_receivables": Decimal(rng.randint(0, limit * 80 + 1)) / 100,
            "open_orders": Decimal(rng.randint(0, limit * 30 + 1)) / 100,
            "credit_limit": limit,
            "days_past_due": rng.choice([0, 0, 10, 35, 45, 65, 95]),
            "risk_tier": rng.choice("ABCD"),
            "segment": rng.choice(["smb", "midmarket", "enterprise", "government", "consumer"]),
            "payment_terms": rng.choice(["net30", "net30", "net60", "cash_in_advance"]),
            "prepaid_amount": Decimal(rng.randint(0, 2_000_000)) / 100,
            "account_age_days": rng.choice([10, 400, 2000]),
            "intercompany": rng.random() < 0.03,
        })
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(app: str, workers: int, env: dict[str, str], logs: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
           "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]
    if app.endswith("app_from_env"):
        cmd.append("--factory")
    # Arbiter's JSON logs (one access line per request at INFO) go to a file, as a server's would
    stderr = logs.open("ab") if logs is not None else None
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stderr=stderr)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                time.sleep(0.5)
                return proc, base
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{app} did not start")


def post(base: str, path: str, body: bytes) -> tuple[int, bytes]:
    import http.client

    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("POST", path, body=body, headers={"content-type": "application/json", "authorization": f"Bearer {ADMIN_TOKEN}"})
    response = conn.getresponse()
    return response.status, response.read()


def verify(arbiter: str, bare: str, orders: list[dict[str, Any]]) -> None:
    keys = ("decision", "hold_code", "approver_level", "headroom", "exposure")
    for order in orders:
        body = jsonio.dumps(order)
        s1, a = post(arbiter, "/v1/decisions/credit?as_of=2026-06-01", body)
        s2, b = post(bare, "/decide", body)
        if s1 != 200 or s2 != 200:
            raise AssertionError((s1, s2, a[:200], b[:200]))
        out_a, out_b = jsonio.loads(a)["output"], jsonio.loads(b)
        for k in keys:
            va, vb = out_a[k], out_b[k]
            if k in ("headroom", "exposure"):
                va, vb = Decimal(str(va)), Decimal(str(vb))
            assert va == vb, (k, va, vb, order)


# Load generation.


def run_wrk(url: str, bodies: Path, seconds: int, connections: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_LUA)
        script = f.name
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency", "-s", script, url],
                         capture_output=True, text=True, env={**os.environ, "BODY_FILE": str(bodies)}, check=True).stdout
    os.unlink(script)

    def latency(label: str) -> float:
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        if not m:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"rps": rps, "p50": latency("50"), "p99": latency("99"), "non2xx": float(non2xx.group(1)) if non2xx else 0.0,
            "socket_errors": float(sum(int(x) for x in errors.groups())) if errors else 0.0}


async def _client(host: str, port: int, requests: list[bytes], deadline: float, latencies: list[float], statuses: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = random.randrange(len(requests))
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        writer.write(requests[i % len(requests)])
        i += 1
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
        await reader.readexactly(length)
        latencies.append((time.perf_counter() - start) * 1000)
        statuses.append(status)
    writer.close()


def _python_load(url: str, bodies: list[bytes], seconds: int, connections: int, queue: Any) -> None:
    import uvloop

    host_port, path = url.removeprefix("http://").split("/", 1)
    host, port = host_port.split(":")
    requests = [(f"POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {len(b)}\r\n\r\n").encode() + b for b in bodies]
    latencies: list[float] = []
    statuses: list[int] = []

    async def main() -> None:
        deadline = time.perf_counter() + seconds
        await asyncio.gather(*(_client(host, int(port), requests, deadline, latencies, statuses) for _ in range(connections)))

    start = time.perf_counter()
    uvloop.run(main())
    elapsed = time.perf_counter() - start
    latencies.sort()
    queue.put({"rps": len(latencies) / elapsed, "p50": latencies[len(latencies) // 2],
               "p99": latencies[int(len(latencies) * 0.99)], "non2xx": float(sum(1 for s in statuses if s >= 300)),
               "socket_errors": 0.0})


def run_python(url: str, bodies: list[bytes], seconds: int, connections: int) -> dict[str, float]:
    queue: Any = multiprocessing.get_context("spawn").Queue()
    proc = multiprocessing.get_context("spawn").Process(target=_python_load, args=(url, bodies, seconds, connections, queue))
    proc.start()
    result: dict[str, float] = queue.get(timeout=seconds + 60)
    proc.join()
    return result


def load(url: str, bodies: list[bytes], seconds: int, connections: int, tmp: Path) -> dict[str, float]:
    if shutil.which("wrk"):
        path = tmp / f"bodies-{abs(hash(url))}.jsonl"
        path.write_bytes(b"\n".join(bodies) + b"\n")
        return run_wrk(url, path, seconds, connections)
    return run_python(url, bodies, seconds, connections)


def median_run(rounds: list[dict[str, float]]) -> dict[str, float]:
    """The median of each measure over the rounds; non-2xx responses are summed (none may hide)."""
    out = {key: statistics.median(r[key] for r in rounds) for key in ("rps", "p50", "p99", "cpu_us", "child_cpu_us")
           if all(key in r for r in rounds)}
    out["non2xx"] = sum(r["non2xx"] for r in rounds)
    out["socket_errors"] = sum(r["socket_errors"] for r in rounds)
    return out


def scrape(base: str) -> str:
    import http.client

    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("GET", "/metrics")
    return conn.getresponse().read().decode()


def shadow_counts(base: str) -> dict[str, float]:
    """The shadowed server's comparisons by result (agree, disagree, skipped, ...) and its (not) sampled decisions."""
    out: dict[str, float] = {}
    for line in scrape(base).splitlines():
        m = re.match(r'arbiter_shadow_comparisons_total\{pack="credit",result="(\w+)"\} (\S+)', line)
        if m:
            out[m.group(1)] = float(m.group(2))
        m = re.match(r'arbiter_shadow_decisions_total\{pack="credit",sampled="(\w+)"\} (\S+)', line)
        if m:
            out["sampled" if m.group(1) == "true" else "not_sampled"] = float(m.group(2))
    return out


def ratio_line(label: str, num: list[float], den: list[float], target: str) -> str:
    """Median over median, and the median of the per-round (paired) ratios: both should say the same."""
    paired = statistics.median(a / b for a, b in zip(num, den, strict=True))
    return (f"{label}: {statistics.median(num) / statistics.median(den):.2f} "
            f"(median of rounds; paired per-round ratios: median {paired:.2f}, "
            f"{', '.join(f'{a / b:.2f}' for a, b in zip(num, den, strict=True))}) target {target}")


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (a server's workers, the shadow process), from /proc."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in task.read_text().split():
            found += _tree(int(child))
    return found


def cpu_seconds(pid: int) -> dict[str, float]:
    """CPU time (user + system) of the server process itself and of its child processes, 0 where /proc is absent."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    out = {"server": 0.0, "children": 0.0}
    for index, member in enumerate(_tree(pid) if Path(f"/proc/{pid}").exists() else []):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out["server" if index == 0 else "children"] += (int(fields[11]) + int(fields[12])) / ticks
    return out


def measure(targets: dict[str, tuple[str, list[bytes]]], groups: list[tuple[str, ...]], args: argparse.Namespace,
            tmp: Path, pids: dict[str, int]) -> dict[str, list[dict[str, float]]]:
    """Each group's endpoints loaded in turn, ``args.rounds`` times, the order reversed every other round.

    Besides rate and latency, each round records the CPU time its server (and, apart, the
    server's child processes: the shadow process) spent per request: on a shared machine
    that stays put while the rates swing with the neighbours' load.
    """
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
    for group in groups:
        for r in range(args.rounds):
            order = group if r % 2 == 0 else group[::-1]
            for name in order:
                url, bodies = targets[name]
                before = cpu_seconds(pids[name])
                result = load(url, bodies, args.seconds, args.connections, tmp)
                time.sleep(1)  # let the server finish what is still queued
                after = cpu_seconds(pids[name])
                served = max(result["rps"] * args.seconds, 1.0)
                result["cpu_us"] = (after["server"] - before["server"]) / served * 1e6
                result["child_cpu_us"] = (after["children"] - before["children"]) / served * 1e6
                runs[name].append(result)
            print(f"  round {r + 1}/{args.rounds}: " + ", ".join(
                f"{n} {runs[n][-1]['rps']:.0f} req/s p99 {runs[n][-1]['p99']:.1f} ms" for n in group), flush=True)
    return runs


def reload_round(url: str, base: str, bodies: list[bytes], args: argparse.Namespace, tmp: Path) -> tuple[dict[str, float], int]:
    """One round of single decisions with an admin reload half-way: what answered, and the reload's status."""
    status: list[int] = []

    def reload_half_way() -> None:
        time.sleep(args.seconds / 2)
        status.append(post(base, "/v1/admin/reload", b"")[0])

    reloader = threading.Thread(target=reload_half_way)
    reloader.start()
    result = load(url, bodies, args.seconds, args.connections, tmp)
    reloader.join()
    return result, status[0] if status else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=4, help="seconds of load per endpoint per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (the order rotates each round)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--log-level", default="INFO", help="Arbiter's ARBITER_LOG_LEVEL (INFO: an access line per request)")
    parser.add_argument("--no-batch", action="store_true", help="skip the batch rows")
    parser.add_argument("--only", choices=("all", "shadow"), default="all",
                        help="shadow: only Arbiter with shadow mode off and on (no bare app, no batch, no reload round)")
    parser.add_argument("--shadow-nice", type=int, default=19, help="ARBITER_SHADOW_NICE of the shadowed servers")
    parser.add_argument("--shadow-sample", type=float, default=None,
                        help="also load a server with ARBITER_SHADOW_SAMPLE at this rate")
    parser.add_argument("--control", action="store_true",
                        help="also load a second Arbiter with shadow off: its p99 ratio to the first is the noise floor")
    args = parser.parse_args()

    orders = random_orders(1000)
    singles = [jsonio.dumps(o) for o in orders]
    batches = [jsonio.dumps({"inputs": orders[i:] + orders[:i]}) for i in range(0, 1000, 100)]
    bare_batches = [jsonio.dumps(orders[i:] + orders[:i]) for i in range(0, 1000, 100)]
    tmp = Path(tempfile.mkdtemp(prefix="arbiter-bench-"))
    packs = tmp / "packs"
    shutil.copytree(ROOT / "policy_packs", packs)
    env = {"ARBITER_PACKS": str(packs), "ARBITER_ADMIN_TOKEN": ADMIN_TOKEN, "PYTHONPATH": str(ROOT),
           "ARBITER_LOG_LEVEL": args.log_level}
    # the same server with credit 1.1.0 as a shadow challenger: every decision (or a sample) also compared off the request path
    shadow_env = {**env, "ARBITER_SHADOW": "credit=1.1.0", "ARBITER_SHADOW_NICE": str(args.shadow_nice)}
    servers = {"arbiter": ("api.app:app_from_env", env), "shadow": ("api.app:app_from_env", shadow_env)}
    if args.control:
        servers["control"] = ("api.app:app_from_env", env)
    if args.shadow_sample is not None:
        servers["sampled"] = ("api.app:app_from_env", {**shadow_env, "ARBITER_SHADOW_SAMPLE": str(args.shadow_sample)})
    if args.only == "all":
        servers["bare"] = ("benchmarks.bare_app:app", {"PYTHONPATH": str(ROOT)})
    load_before = os.getloadavg()
    procs: dict[str, subprocess.Popen[bytes]] = {}
    urls: dict[str, str] = {}
    generator = "wrk" if shutil.which("wrk") else "python (asyncio, separate process)"
    try:
        for name, (app, server_env) in servers.items():
            logs = tmp / f"{name}.log" if name != "bare" else None
            procs[name], urls[name] = start(app, args.workers, server_env, logs)
        runs, compared, reloaded, reload_status = _run(args, urls, procs, singles, batches, bare_batches, tmp, generator,
                                                       load_before[0])
    finally:
        for proc in procs.values():
            proc.terminate()
            proc.wait(timeout=15)
        shutil.rmtree(tmp, ignore_errors=True)
    load_after = os.getloadavg()
    report(runs, compared, reloaded, reload_status, args, generator, (load_before[0], load_after[0]))
    return 0


def _run(args: argparse.Namespace, urls: dict[str, str], procs: dict[str, subprocess.Popen[bytes]], singles: list[bytes],
         batches: list[bytes], bare_batches: list[bytes], tmp: Path, generator: str,
         load_before: float) -> tuple[dict[str, list[dict[str, float]]], dict[str, dict[str, float]], dict[str, float] | None, int]:
    """Verify, warm up, then the interleaved rounds; the shadowed servers' counts and the reload round after them."""
    single = "/v1/decisions/credit?as_of=2026-06-01"
    if "bare" in urls:
        verify(urls["arbiter"], urls["bare"], random_orders(300, seed=99))
        print("verified: both servers agree on 300 random orders", flush=True)
    print(f"load generator: {generator}; {args.connections} connections, {args.seconds} s per endpoint in each of "
          f"{args.rounds} interleaved rounds, {args.workers} worker(s); Arbiter's log level {args.log_level}; "
          f"shadow nice +{args.shadow_nice}, sample {args.shadow_sample}; load average {load_before:.1f} "
          f"on {os.cpu_count()} cores", flush=True)
    targets = {name: (url + single, singles) for name, url in urls.items() if name != "bare"}
    if "bare" in urls:
        targets["bare"] = (f"{urls['bare']}/decide", singles)
    for url, bodies in targets.values():  # warm-up
        load(url, bodies, 2, args.connections, tmp)
    shadowed = tuple(name for name in ("shadow", "sampled") if name in urls)
    # Arbiter between its two targets' peers: the shadowed server's p99 and the bare app's rate are paired with it
    groups = [tuple(name for name in ("shadow", "arbiter", "bare", "sampled", "control") if name in urls)]
    pids = {name: proc.pid for name, proc in procs.items()}
    if "bare" in urls and not args.no_batch:
        # as many connections as the single decisions: with a few long-lived connections
        # the workers split them unevenly, and 2 workers served no more than 1
        targets["arbiter_batch"] = (f"{urls['arbiter']}/v1/decisions/credit/batch?as_of=2026-06-01", batches)
        targets["bare_batch"] = (f"{urls['bare']}/decide/batch", bare_batches)
        pids.update(arbiter_batch=pids["arbiter"], bare_batch=pids["bare"])
        # single decisions first, then batches: a batch run leaves seconds of queued work that
        # would land in the next single-decision round's p99
        groups.append(("arbiter_batch", "bare_batch"))
    runs = measure(targets, groups, args, tmp, pids)
    compared = {name: shadow_counts(urls[name]) for name in shadowed}
    if "bare" not in urls:
        return runs, compared, None, 0
    reloaded, reload_status = reload_round(urls["arbiter"] + single, urls["arbiter"], singles, args, tmp)
    return runs, compared, reloaded, reload_status


def report(runs: dict[str, list[dict[str, float]]], compared: dict[str, dict[str, float]], reloaded: dict[str, float] | None,
           reload_status: int, args: argparse.Namespace, generator: str, loads: tuple[float, float]) -> None:
    medians = {name: median_run(rounds) for name, rounds in runs.items() if rounds}
    print(f"\n{'endpoint (median of rounds)':<44} {'req/s':>9} {'decisions/s':>12} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} "
          f"{'CPU us/req':>10}")
    rows = [("bare FastAPI, hand-written credit", "bare", 1), ("Arbiter /v1/decisions/credit", "arbiter", 1),
            (f"Arbiter, shadow credit 1.1.0, all, nice +{args.shadow_nice}", "shadow", 1),
            (f"Arbiter, shadow credit 1.1.0, sample {args.shadow_sample}", "sampled", 1),
            ("Arbiter again, shadow off (control)", "control", 1),
            ("bare FastAPI batch (1,000 per request)", "bare_batch", 1000),
            ("Arbiter /v1/decisions/credit/batch (1,000)", "arbiter_batch", 1000)]
    for label, name, per in rows:
        if name in medians:
            r = medians[name]
            print(f"{label:<44} {r['rps']:>9.0f} {r['rps'] * per:>12.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} "
                  f"{r['non2xx'] + r['socket_errors']:>8.0f} {r.get('cpu_us', float('nan')):>10.0f}")
    if reloaded is not None:
        print(f"{'Arbiter, one round with a reload mid-run':<44} {reloaded['rps']:>9.0f} {reloaded['rps']:>12.0f} "
              f"{reloaded['p50']:>8.2f} {reloaded['p99']:>8.2f} {reloaded['non2xx'] + reloaded['socket_errors']:>8.0f}")
    rps = {name: [r["rps"] for r in rounds] for name, rounds in runs.items()}
    p99 = {name: [r["p99"] for r in rounds] for name, rounds in runs.items()}
    cpu = {name: [r["cpu_us"] for r in rounds] for name, rounds in runs.items()}
    print(f"\nload average {loads[0]:.1f} before, {loads[1]:.1f} after, {os.cpu_count()} cores; "
          f"generator {generator}; {args.rounds} rounds x {args.seconds} s; Arbiter log level {args.log_level}")
    if "bare" in runs:
        print(ratio_line("THROUGHPUT  Arbiter / bare FastAPI", rps["arbiter"], rps["bare"], ">= 0.90"))
        print(ratio_line("CPU/REQUEST  Arbiter / bare FastAPI (server process)", cpu["arbiter"], cpu["bare"], "(none)"))
    if "control" in runs:
        print(ratio_line("CONTROL P99  a second Arbiter, shadow off / off (the noise floor)", p99["control"], p99["arbiter"],
                         "(1.00 on a quiet machine)"))
    for name, label in (("shadow", f"every request, nice +{args.shadow_nice}"),
                        ("sampled", f"sample {args.shadow_sample}, nice +{args.shadow_nice}")):
        if name in runs:
            _shadow_rows(name, label, runs, compared[name], p99, rps, cpu)
    if reloaded is not None:
        print(f"RELOAD      mid-run reload answered {reload_status}; non-2xx in that round "
              f"{reloaded['non2xx'] + reloaded['socket_errors']:.0f}")
    if "arbiter_batch" in medians:
        print(f"BATCH       {medians['arbiter_batch']['rps'] * 1000:,.0f} decisions/s (target >= 200,000), "
              f"{medians['arbiter_batch']['rps'] / medians['bare_batch']['rps']:.2f} of the bare app's")
    summary = {"medians": medians, "rps_rounds": rps, "p99_rounds": p99, "shadow_comparisons": compared,
               "reload": {"status": reload_status, **(reloaded or {})}, "log_level": args.log_level, "load_average": loads,
               "shadow_nice": args.shadow_nice, "shadow_sample": args.shadow_sample, "generator": generator,
               "workers": args.workers}
    if "bare" in runs:
        summary["ratio"] = statistics.median(rps["arbiter"]) / statistics.median(rps["bare"])
    summary.update({f"{name}_p99_ratio": statistics.median(p99[name]) / statistics.median(p99["arbiter"])
                    for name in ("shadow", "sampled", "control") if name in runs})
    print(json.dumps(summary))


def _shadow_rows(name: str, label: str, runs: dict[str, list[dict[str, float]]], compared: dict[str, float],
                 p99: dict[str, list[float]], rps: dict[str, list[float]], cpu: dict[str, list[float]]) -> None:
    """The p99 target's row for one shadowed server, with the work its shadow process did, skipped or left out."""
    print(ratio_line(f"SHADOW P99  on ({label}) / off", p99[name], p99["arbiter"], "<= 1.10"))
    print(ratio_line(f"SHADOW REQ/S  on ({label}) / off", rps[name], rps["arbiter"], "(none)"))
    print(ratio_line(f"CPU/REQUEST  on ({label}) / off (serving process only)", cpu[name], cpu["arbiter"], "(none)"))
    made = sum(v for k, v in compared.items() if k in ("agree", "disagree", "challenger_error"))
    print(f"SHADOW WORK ({label}): decisions sampled {compared.get('sampled', 0):.0f}, not sampled "
          f"{compared.get('not_sampled', 0):.0f}; comparisons made {made:.0f} (disagree {compared.get('disagree', 0):.0f}), "
          f"skipped (shadow process behind) {compared.get('skipped', 0):.0f}; the shadow process spent "
          f"{statistics.median(r['child_cpu_us'] for r in runs[name]):.0f} us of CPU per request, the serving process "
          f"{statistics.median(cpu[name]):.0f} us (off: {statistics.median(cpu['arbiter']):.0f} us)")


if __name__ == "__main__":
    raise SystemExit(main())
