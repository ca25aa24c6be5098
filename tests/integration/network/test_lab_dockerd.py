"""The reference dockerd inside a lab: its bridges and rules stay in the lab's host
namespace (none of them shows in the real machine's links or ruleset), it runs containers
on a network it creates, and stopping it leaves nothing behind.

The real machine's links and ruleset are not compared whole: other test runs (the session's
reference dockerd, on the real network) may change them meanwhile. What is checked is that
nothing this daemon made is there."""

from __future__ import annotations

import os
import secrets
import subprocess

from tests.support.lab_dockerd import LabDockerd, running_lab_dockerd


def _real_links() -> list[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    return sorted(line.split(":")[1].strip().split("@")[0] for line in out.splitlines())


def _real_ruleset() -> str:
    return subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout


def _made_here(bridge: str) -> list[str]:
    """What of the lab daemon's shows on the real machine: its bridge, its subnet."""
    seen = _real_links() + _real_ruleset().split()
    return [word for word in seen if bridge in word or "10.231.0." in word]


def test_a_lab_dockerd_keeps_its_networks_in_the_lab_and_leaves_nothing() -> None:
    started = running_lab_dockerd()
    daemon: LabDockerd = next(started)
    lab, root = daemon.lab, daemon.root
    try:
        name = f"ld-{secrets.token_hex(3)}"
        created = daemon.docker("network", "create", "--subnet", "10.231.0.0/24", name)
        assert created.returncode == 0, created.stderr
        ran = daemon.docker("run", "--rm", "--network", name, "busybox", "ip", "-o", "-4",
                            "addr", "show", "eth0")
        assert ran.returncode == 0, ran.stderr
        assert "10.231.0.2/24" in ran.stdout
        kept = daemon.docker("run", "-d", "--network", name, "busybox", "sleep", "300")
        assert kept.returncode == 0, kept.stderr  # still running when the daemon stops
        inside = lab.run(lab.host, ["ip", "-o", "link", "show"]).stdout
        assert "docker0" in inside
        bridge = "br-" + created.stdout.strip()[:12]
        assert bridge in inside
        assert "DOCKER" in lab.run(lab.host, ["nft", "list", "ruleset"]).stdout
        assert "10.231.0.0/24" in lab.run(lab.host, ["nft", "list", "ruleset"]).stdout
        assert _made_here(bridge) == []
    finally:
        started.close()  # the fixture's teardown: dockerd stopped, its lab deleted
    assert _made_here(bridge) == []
    assert not os.path.exists(root)
    assert not os.path.exists(lab.host_path)
    with open("/proc/self/mountinfo") as f:
        assert root not in f.read()
    assert daemon.proc is None
    assert _processes_mentioning(root) == []  # containerd and its shims went with dockerd


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{pid}: {cmdline}")
    return found
