"""``search`` against a registry's v1 search API (a small one on 127.0.0.1), through coved
with cove and the docker CLI, and through dockerd as the oracle."""

from __future__ import annotations

import http.server
import json
import threading
import urllib.parse
from collections.abc import Iterator

import pytest

from tests.support.dockerd import docker as reference_docker

RESULTS = [
    {"name": "team/busybox-tools", "description": "Small tools\nfor busy boxes", "star_count": 3,
     "is_official": False, "is_automated": True},
    {"name": "busybox", "description": "Busybox base image with a description that is long",
     "star_count": 3100, "is_official": True, "is_automated": False},
    {"name": "someone/bb", "description": "", "star_count": 0, "is_official": False,
     "is_automated": False},
]


class _Index(http.server.BaseHTTPRequestHandler):
    seen: list[dict[str, list[str]]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/v1/search":
            self.send_error(404)
            return
        query = urllib.parse.parse_qs(url.query)
        self.seen.append(query)
        body = json.dumps({"num_results": len(RESULTS), "query": query["q"][0],
                           "results": RESULTS}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def index() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Index)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_search_output_matches_docker(cove, docker, index):
    ours = cove("search", f"{index}/busybox")
    assert ours.returncode == 0, ours.stderr
    assert _Index.seen[-1] == {"q": ["busybox"], "n": ["25"]}
    lines = ours.stdout.splitlines()
    assert lines[0].split() == ["NAME", "DESCRIPTION", "STARS", "OFFICIAL"]
    assert "Small tools for busy boxes" in ours.stdout
    assert "Busybox base image with a description that i…" in ours.stdout
    theirs = docker("search", f"{index}/busybox")
    assert theirs.stdout == ours.stdout
    filtered = cove("search", "--filter", "is-official=true", "--filter", "stars=10",
                    "--format", "{{.Name}} {{.StarCount}} {{.IsOfficial}}", f"{index}/b")
    assert filtered.stdout == "busybox 3100 [OK]\n"
    limited = cove("search", "--limit", "1", "--no-trunc", f"{index}/b")
    assert _Index.seen[-1]["n"] == ["1"] and len(limited.stdout.splitlines()) == 2


def test_search_matches_dockerd(cove, index, reference_dockerd):
    theirs = reference_docker("search", f"{index}/busybox")
    assert theirs.returncode == 0, theirs.stderr
    assert cove("search", f"{index}/busybox").stdout == theirs.stdout.decode()


def test_bad_search_requests(cove, docker, index):
    for args, message in ((["--limit", "0"], "limit 0 is outside the range of [1, 100]"),
                          (["--filter", "colour=red"], "Invalid filter 'colour'")):
        ours = cove("search", *args, f"{index}/x")
        assert ours.returncode == 1 and message in ours.stderr, ours.stderr
    gone = cove("search", "127.0.0.1:9/nothing")
    assert gone.returncode == 1 and "connection refused" in gone.stderr.lower()
