#!/usr/bin/env python3
"""Mixed load against running services, then checks for leaks.

Started by `reliability/soak`, which starts the services and passes their
addresses and process ids. Each client thread owns one account and repeats a
user's day: log in, call the resource-service, refresh, call it with the new
token, log out, and check that the logged-out refresh token is dead. Every
answer must be the one the contract names; any other (or a broken
connection) is an error.

Meanwhile it samples each service's resident memory and open file
descriptors, and the auth-service's PostgreSQL connections. It fails when
there was any error, when memory grew after the warm-up beyond a small
allowance, or when descriptors or database connections at the end exceed
what the services held once warm (a leak grows with the number of requests;
a pool or a cache stops growing once full).
"""

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

PASSWORD = "soak passphrase 1"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--auth", required=True, help="auth-service base URL")
    parser.add_argument("--resource", required=True, help="resource-service base URL")
    parser.add_argument("--auth-pid", type=int, required=True)
    parser.add_argument("--resource-pid", type=int, required=True)
    parser.add_argument("--duration", type=float, default=300, help="seconds of load")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads")
    parser.add_argument("--pg-admin-url", help="PostgreSQL server to count connections on")
    parser.add_argument("--pg-database", help="the auth-service's database there")
    parser.add_argument(
        "--rss-allowance",
        type=float,
        default=0.10,
        help="allowed RSS growth after warm-up, as a fraction (plus 4 MiB)",
    )
    return parser.parse_args()


class Client:
    """One account, one keep-alive connection per service per cycle."""

    def __init__(self, auth, resource, index, errors):
        self.auth = urllib.parse.urlsplit(auth)
        self.resource = urllib.parse.urlsplit(resource)
        self.email = f"soak-{index}-{os.getpid()}@example.com"
        self.errors = errors
        self.requests = 0

    def call(self, conn, method, path, body=None, token=None, expect=200):
        headers = {}
        payload = None
        if body is not None:
            payload = json.dumps(body)
            headers["content-type"] = "application/json"
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        self.requests += 1
        try:
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.errors.append(f"{method} {path}: {error!r}")
            conn.close()
            return None
        if response.status != expect:
            self.errors.append(
                f"{method} {path}: {response.status} (expected {expect}) {data[:200]!r}"
            )
            return None
        return json.loads(data) if data else {}

    def connections(self):
        auth = http.client.HTTPConnection(self.auth.hostname, self.auth.port, timeout=30)
        resource = http.client.HTTPConnection(
            self.resource.hostname, self.resource.port, timeout=30
        )
        return auth, resource

    def register(self):
        auth, _ = self.connections()
        self.call(auth, "POST", "/auth/register",
                  {"email": self.email, "password": PASSWORD}, expect=201)
        auth.close()

    def cycle(self):
        # New connections every cycle: a leak per connection shows in the
        # descriptor count, and keep-alive reuse is still exercised within it.
        auth, resource = self.connections()
        try:
            tokens = self.call(auth, "POST", "/auth/login",
                               {"email": self.email, "password": PASSWORD})
            if tokens is None:
                return
            for _ in range(3):
                self.call(resource, "GET", "/api/me", token=tokens["access_token"])
                fresh = self.call(auth, "POST", "/auth/refresh",
                                  {"refresh_token": tokens["refresh_token"]})
                if fresh is None:
                    return
                tokens = fresh
                self.call(resource, "GET", "/api/projects", token=tokens["access_token"])
            self.call(auth, "POST", "/auth/logout",
                      {"refresh_token": tokens["refresh_token"]}, expect=204)
            self.call(auth, "POST", "/auth/refresh",
                      {"refresh_token": tokens["refresh_token"]}, expect=401)
        finally:
            auth.close()
            resource.close()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def pg_connections(admin_url, database):
    if not admin_url or not database:
        return None
    out = subprocess.run(
        ["psql", admin_url, "-qtAc",
         f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{database}'"],
        check=True, capture_output=True, text=True,
    )
    return int(out.stdout.strip())


def sample(args):
    return {
        "t": time.monotonic(),
        "auth_rss": rss_kib(args.auth_pid),
        "resource_rss": rss_kib(args.resource_pid),
        "auth_fds": fd_count(args.auth_pid),
        "resource_fds": fd_count(args.resource_pid),
        "pg": pg_connections(args.pg_admin_url, args.pg_database),
    }


def main():
    args = parse_args()
    errors = []
    clients = [Client(args.auth, args.resource, i, errors) for i in range(args.clients)]
    for client in clients:
        client.register()
    before = sample(args)

    stop = threading.Event()
    cycles = [0] * len(clients)

    def run(index):
        while not stop.is_set():
            clients[index].cycle()
            cycles[index] += 1

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(clients))]
    start = time.monotonic()
    for thread in threads:
        thread.start()

    warm_up = max(10.0, args.duration * 0.2)
    samples = []
    while time.monotonic() - start < args.duration:
        time.sleep(min(5.0, max(0.5, args.duration / 20)))
        try:
            samples.append(sample(args))
        except FileNotFoundError:
            stop.set()
            raise
        done = sum(cycles)
        print(f"  {time.monotonic() - start:6.0f}s  cycles {done:6d}  errors {len(errors):3d}  "
              f"auth rss {samples[-1]['auth_rss'] / 1024:6.1f} MiB fds {samples[-1]['auth_fds']:3d}  "
              f"resource rss {samples[-1]['resource_rss'] / 1024:6.1f} MiB fds {samples[-1]['resource_fds']:3d}"
              + (f"  pg {samples[-1]['pg']}" if samples[-1]["pg"] is not None else ""),
              flush=True)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    elapsed = time.monotonic() - start
    # Let the servers notice the closed connections before counting.
    time.sleep(2)
    after = sample(args)

    warm = [s for s in samples if s["t"] - start >= warm_up] or samples[-1:]
    failures = []
    requests = sum(c.requests for c in clients)
    print(f"{requests} requests in {elapsed:.0f}s ({requests / elapsed:.0f}/s), "
          f"{sum(cycles)} cycles, {len(errors)} errors")
    if errors:
        failures.append(f"{len(errors)} errors, first: {errors[:5]}")
    for service in ("auth", "resource"):
        # The first sample after the warm-up against the median of the last
        # three: allocator noise is neither a trend nor a leak.
        warm_rss = warm[0][f"{service}_rss"]
        end_rss = statistics.median(s[f"{service}_rss"] for s in samples[-3:])
        allowed = warm_rss * (1 + args.rss_allowance) + 4096
        print(f"{service}-service: rss {before[f'{service}_rss'] / 1024:.1f} MiB before, "
              f"{warm_rss / 1024:.1f} MiB after warm-up, {end_rss / 1024:.1f} MiB at the end; "
              f"fds {before[f'{service}_fds']} before, {max(s[f'{service}_fds'] for s in warm)} "
              f"at most under load, {after[f'{service}_fds']} after")
        if end_rss > allowed:
            failures.append(f"{service}-service RSS grew from {warm_rss} KiB to {end_rss} KiB")
        # Once idle, only what a warm service keeps: its listeners, its
        # database pool (a handful), nothing per request.
        warm_fds = min(s[f"{service}_fds"] for s in warm)
        if after[f"{service}_fds"] > max(warm_fds, before[f"{service}_fds"]) + 12:
            failures.append(f"{service}-service holds {after[f'{service}_fds']} descriptors "
                            f"after the load, {before[f'{service}_fds']} before it")
    if after["pg"] is not None:
        print(f"postgresql connections: {before['pg']} before, "
              f"{max(s['pg'] for s in samples)} at most, {after['pg']} after")
        # r2d2's pool holds at most 10; more would be connections opened
        # outside it and never closed.
        if after["pg"] > 10 or max(s["pg"] for s in samples) > 10:
            failures.append(f"{after['pg']} PostgreSQL connections after the load")
    if failures:
        print("SOAK FAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    print("soak passed: no errors, memory flat after warm-up, no descriptor or connection leak")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except FileNotFoundError as gone:
        # /proc/PID vanished: a service died under the load.
        print(f"SOAK FAILED: a service exited ({gone.filename})", file=sys.stderr)
        sys.exit(1)
