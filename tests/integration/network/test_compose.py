"""docker-compose 1.29 (Debian's package) against coved in the network lab, and against
the reference dockerd in a lab of its own: ``up`` makes the project's default network,
the services find each other by service name through the embedded DNS, a published port
answers from the lab's host, and ``down`` removes the containers and the network."""

from __future__ import annotations

import subprocess
import time
import urllib.parse
from pathlib import Path

from tests.support.lab_dockerd import LabEngine

COMPOSE_FILE = """\
version: "3.8"
services:
  web:
    image: busybox
    command: ["sh", "-c", "mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 80 -h /www"]
    ports: ["127.0.0.1:18081:80"]
  client:
    image: busybox
    depends_on: [web]
    command: ["sh", "-c", "for i in $$(seq 100); do wget -qO- http://web/ && exit 0; sleep 0.1; done; exit 1"]
"""

def _compose(engine: LabEngine, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker-compose", "--no-ansi", "-p", project.name, "-f", str(project / "compose.yml"),
         *args], env=engine.env, capture_output=True, text=True, timeout=120)


def test_compose_up_makes_the_default_network_and_services_meet_by_name(
        lab_engine: LabEngine, tmp_path: Path) -> None:
    engine = lab_engine
    project = tmp_path / "covecompose"
    project.mkdir()
    (project / "compose.yml").write_text(COMPOSE_FILE)
    up = _compose(engine, project, "up", "-d")
    assert up.returncode == 0, up.stderr
    try:
        networks = engine.request("GET", "/networks?filters=" +
                                  urllib.parse.quote('{"name":["covecompose_default"]}'))
        assert [n["Name"] for n in networks] == ["covecompose_default"]
        deadline = time.monotonic() + 60
        state: dict[str, object] = {}
        while time.monotonic() < deadline:
            found = engine.request("GET", "/containers/covecompose_client_1/json")
            state = found["State"]
            if state["Status"] == "exited":
                break
            time.sleep(0.1)
        logs = _compose(engine, project, "logs", "--no-color", "client").stdout
        assert state.get("ExitCode") == 0, logs
        assert "hello-from-web" in logs
        answer = engine.lab.http_get(engine.lab.host, "http://127.0.0.1:18081/")
        assert answer.strip() == "hello-from-web"
    finally:
        down = _compose(engine, project, "down")
    assert down.returncode == 0, down.stderr
    left = engine.request("GET", "/networks?filters=" +
                          urllib.parse.quote('{"name":["covecompose"]}'))
    assert left == []
    containers = engine.request("GET", "/containers/json?all=1")
    assert [c for c in containers if c["Names"][0].startswith("/covecompose_")] == []
