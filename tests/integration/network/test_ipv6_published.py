"""The IPv6 side of published ports, on coved in the network lab and on the reference dockerd
in a lab of its own: ``-p 8080:80`` answers on ``[::1]`` too (``localhost`` names it first
on most hosts), ``-p [::1]:PORT:80`` only there, ``-p 0.0.0.0:PORT:80`` only on IPv4;
``docker port`` lists the same on both, and removing the container frees every port."""

from __future__ import annotations

import secrets

from tests.support.lab_dockerd import LabEngine
from tests.support.netlab import NetLab, wait_for

HTTPD = ["sh", "-c", "mkdir -p /www && echo hello-v6 > /www/index.html && "
         "exec httpd -f -p 80 -h /www"]


def _listening(lab: NetLab, port: int) -> list[str]:
    out = lab.run(lab.host, ["ss", "-Hlntu"]).stdout
    return [line for line in out.splitlines() if f":{port} " in line]


def test_ports_published_without_an_address_answer_on_ipv6_too(lab_engine: LabEngine) -> None:
    engine = lab_engine
    name = f"web6{secrets.token_hex(3)}"
    done = engine.docker("run", "-d", "--name", name, "-p", "18999:80", "-p",
                         "[::1]:18998:80", "-p", "0.0.0.0:18997:80", "busybox", *HTTPD)
    assert done.returncode == 0, done.stderr
    try:
        listed = engine.docker("port", name)
        assert listed.stdout.splitlines() == [
            "80/tcp -> 0.0.0.0:18997", "80/tcp -> 0.0.0.0:18999", "80/tcp -> [::1]:18998",
            "80/tcp -> [::]:18999"], listed.stdout
        assert engine.cove("port", name).stdout == listed.stdout
        lab = engine.lab
        assert wait_for(lambda: lab.http_get(lab.host, "http://[::1]:18999/")) == "hello-v6\n"
        assert lab.http_get(lab.host, "http://127.0.0.1:18999/") == "hello-v6\n"
        assert lab.http_get(lab.host, "http://[::1]:18998/") == "hello-v6\n"
        assert lab.http_get(lab.host, "http://127.0.0.1:18998/") == ""
        assert lab.http_get(lab.host, "http://[::1]:18997/") == ""
    finally:
        engine.docker("rm", "-f", name)
    assert wait_for(lambda: not any(_listening(engine.lab, p) for p in (18997, 18998, 18999)))
