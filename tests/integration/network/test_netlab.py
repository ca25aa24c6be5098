"""The lab itself: its two namespaces reach each other and nothing else, and closing it
leaves no namespace or process behind."""

from __future__ import annotations

import os
import subprocess

from tests.support.netlab import HOST_UPLINK_ADDRESS, NetLab, wait_for


def _serve(lab: NetLab, tmp_path, namespace: str, address: str) -> subprocess.Popen[bytes]:
    (tmp_path / "hello.txt").write_text("hello from the lab\n")
    return lab.start(
        namespace, ["busybox", "httpd", "-f", "-p", f"{address}:8080", "-h", str(tmp_path)]
    )


def test_the_outside_reaches_a_server_in_the_lab_host(netlab: NetLab, tmp_path) -> None:
    address = str(HOST_UPLINK_ADDRESS.ip)
    _serve(netlab, tmp_path, netlab.host, address)
    got = wait_for(lambda: netlab.http_get(netlab.outside, f"http://{address}:8080/hello.txt"))
    assert got == "hello from the lab\n"


def test_the_lab_host_sees_only_its_own_links_and_routes(netlab: NetLab) -> None:
    links = netlab.run(netlab.host, ["ip", "-o", "link"]).stdout
    names = sorted(line.split(":")[1].strip().split("@")[0] for line in links.splitlines())
    assert names == ["lo", "uplink"]
    routes = netlab.run(netlab.host, ["ip", "route"]).stdout
    assert "default" not in routes  # no way to the real network


def test_closing_the_lab_ends_its_processes_and_deletes_its_namespaces(tmp_path) -> None:
    lab = NetLab()
    server = _serve(lab, tmp_path, lab.host, "127.0.0.1")
    extra = lab.add_namespace("c")
    lab.close()
    assert server.poll() is not None
    for name in (lab.host, lab.outside, extra):
        assert not os.path.exists(lab.path(name))
    assert (
        lab.host
        not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    )
