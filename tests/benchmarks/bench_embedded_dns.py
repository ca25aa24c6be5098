"""Embedded DNS benchmark: what serving a container costs at its start, and how long a
query takes from inside its namespace.

Run: ``.venv/bin/python tests/benchmarks/bench_embedded_dns.py [--runs N] [--queries Q]``
as root. In a network lab, for N fresh namespaces (stand-ins for containers):

    serve (DNAT)    listeners on 127.0.0.11 at kernel-picked ports + the nft table that
                    DNATs :53 to them (Docker's way; the default)
    serve (direct)  listeners bound to 127.0.0.11:53 themselves, no nft
    stop            listeners closed and the nft table deleted (a disconnect; when the
                    container is gone the table goes with its namespace and is not deleted)
    local query     one A query for a container name, answered by the resolver, from a
                    client inside the namespace (median of Q)
    forwarded       one A query for another name, forwarded to a fake upstream on the
                    host's 127.0.0.1 (median of Q)

Everything stays in the lab's namespaces and on loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from ipaddress import IPv4Address

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))

from cove.runtime.network.embedded_dns import EmbeddedDns  # noqa: E402
from tests.support.fake_dns import FakeUpstream  # noqa: E402
from tests.support.netlab import NetLab  # noqa: E402

CLIENT = """
import json, socket, sys, time
from dnslib import DNSRecord
out = {}
for label, name in (("local", "web"), ("forwarded", "outside.example")):
    times = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        for _ in range(int(sys.argv[1])):
            q = DNSRecord.question(name).pack()
            t = time.perf_counter()
            s.sendto(q, ("127.0.0.11", 53))
            s.recv(4096)
            times.append(time.perf_counter() - t)
    out[label] = sorted(times)[len(times) // 2] * 1000
print(json.dumps(out))
"""


def lookup(owner: str, name: str) -> list[IPv4Address]:
    return [IPv4Address("10.7.0.2")] if name == "web" else []


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:8.2f} ms  (min {min(values) * 1000:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    serve_dnat: list[float] = []
    serve_direct: list[float] = []
    stop: list[float] = []
    with NetLab() as lab, FakeUpstream({"outside.example": "198.18.0.2"}) as upstream:
        spaces = [lab.add_namespace(f"b{i}") for i in range(args.runs)]
        for redirect, times in ((True, serve_dnat), (False, serve_direct)):
            dns = EmbeddedDns(lookup, "/nonexistent", redirect=redirect)
            try:
                for ns in spaces:
                    start = time.perf_counter()
                    dns.serve(ns, lab.path(ns), [upstream.server])
                    times.append(time.perf_counter() - start)
                if redirect:
                    done = lab.run(spaces[0], [sys.executable, "-c", CLIENT, str(args.queries)])
                    queries = json.loads(done.stdout)
                for ns in spaces:
                    start = time.perf_counter()
                    dns.stop(ns)
                    (stop if redirect else []).append(time.perf_counter() - start)
            finally:
                dns.close()
    print(f"serve (DNAT)    {ms(serve_dnat)}")
    print(f"serve (direct)  {ms(serve_direct)}")
    print(f"stop            {ms(stop)}")
    print(f"local query     {queries['local']:8.3f} ms")
    print(f"forwarded       {queries['forwarded']:8.3f} ms")


if __name__ == "__main__":
    main()
