"""Load test: N users each open a session and step it as fast as the server answers, for a bounded time,
against a playground server started here on 127.0.0.1 (and nowhere else). Prints errors, step latency
percentiles and the server's memory (resident set size) before, during and after.

    python -m compare.playground.loadtest [--users 20] [--seconds 60]
"""
import argparse
import http.client
import json
import statistics
import subprocess
import sys
import threading
import time

HOST = "127.0.0.1"  # the only address this script sends to


def rss(pid):
    """The server's resident memory in MB, from /proc."""
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


def post(conn, path, body):
    conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    response = conn.getresponse()
    data = response.read()
    return response.status, data


def user(port, seconds, max_requests, latencies, errors):
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        status, data = post(conn, "/api/sessions", {"settings": {}})
        if status != 200:
            errors.append(f"open: {status} {data[:200]!r}")
            return
        sid = json.loads(data)["session"]
        iteration, end = 0, time.monotonic() + seconds
        for _ in range(max_requests):
            if time.monotonic() > end:
                break
            start = time.perf_counter()
            status, data = post(conn, f"/api/sessions/{sid}/step", {"n": 1, "since": iteration})
            latencies.append(time.perf_counter() - start)
            if status != 200:
                errors.append(f"step: {status} {data[:200]!r}")
                continue
            iteration = json.loads(data)["state"]["iteration"]
        post(conn, f"/api/sessions/{sid}/close", {})
    except (OSError, http.client.HTTPException, ValueError) as e:
        errors.append(f"{type(e).__name__}: {e}")
    finally:
        conn.close()


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m compare.playground.loadtest", description=__doc__.split("\n")[0])
    p.add_argument("--users", type=int, default=20)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--max-requests", type=int, default=100_000, help="per user, a bound on top of the time")
    args = p.parse_args(argv)
    if not (1 <= args.users <= 200 and 0 < args.seconds <= 600):
        p.error("--users from 1 to 200, --seconds up to 600: the test is bounded")
    server = subprocess.Popen([sys.executable, "-m", "compare", "playground", "--port", "0", "--no-browser",
                               "--host", HOST], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline().strip().rstrip("/").rpartition(":")[2])
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        conn.request("GET", "/api/options")
        conn.getresponse().read()
        warm = threading.Thread(target=user, args=(port, 2, 50, [], []))  # the libraries loaded, JAX compiled
        warm.start()
        warm.join()
        before = rss(server.pid)
        latencies, errors, memory = [], [], []
        users = [threading.Thread(target=user, args=(port, args.seconds, args.max_requests, latencies, errors))
                 for _ in range(args.users)]
        start = time.monotonic()
        for t in users:
            t.start()
        while any(t.is_alive() for t in users):
            memory.append((time.monotonic() - start, rss(server.pid)))
            time.sleep(1)
        elapsed = time.monotonic() - start
        time.sleep(1)
        after = rss(server.pid)
        alive = server.poll() is None
        conn = http.client.HTTPConnection(HOST, port, timeout=60)  # the first has timed out by now
        conn.request("GET", "/api/options")
        left = json.loads(conn.getresponse().read())["sessions"]
    finally:
        server.terminate()
        server.wait(30)
    ms = sorted(1000 * x for x in latencies)
    q = statistics.quantiles(ms, n=100) if len(ms) > 1 else ms * 99
    steady = [m for t, m in memory if t >= 10] or [m for _, m in memory]
    print(f"{args.users} users stepping for {args.seconds:g} s against {HOST}:{port} (numpy, torch, jax and tape "
          f"on the course's problem): {len(ms)} steps in {elapsed:.1f} s, {len(ms) / elapsed:.1f} steps/s")
    print(f"errors: {len(errors)}" + (f" (first: {errors[0]})" if errors else "") +
          f"; server alive after the test: {'yes' if alive else 'NO'}; sessions left open: {left}")
    print(f"step latency (request to answer): p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms, max {ms[-1]:.1f} ms")
    print(f"server memory (RSS): {before:.0f} MB before, {max(m for _, m in memory):.0f} MB at most during, "
          f"{min(steady or [0]):.0f} to {max(steady or [0]):.0f} MB from 10 s to the end, {after:.0f} MB after "
          "the users closed their sessions")
    return 0 if not errors and alive and not left else 1


if __name__ == "__main__":
    sys.exit(main())
