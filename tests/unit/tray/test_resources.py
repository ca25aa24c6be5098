"""Images and volumes as rows: one per tag, untagged images by ID, docker's size units."""

from __future__ import annotations

from cove.desktop.tray.resource_page import Row, human_size
from cove.desktop.tray.resources import image_rows, pull_line, reclaimed, volume_rows


def test_an_image_gives_a_row_per_tag_keyed_by_the_tag() -> None:
    rows = image_rows([{"Id": "sha256:" + "ab" * 32, "RepoTags": ["busybox:latest",
                        "reg.example:5000/team/busybox:1.36"], "Size": 4_261_550}])  # fmt: skip
    assert [r.key for r in rows] == ["busybox:latest", "reg.example:5000/team/busybox:1.36"]
    assert rows[0].cells[:3] == ("busybox", "latest", "abababababab")
    assert rows[1].cells[:2] == ("reg.example:5000/team/busybox", "1.36")
    assert rows[0].cells[4] == "4.26MB"


def test_an_untagged_image_is_keyed_by_its_id() -> None:
    rows = image_rows([{"Id": "sha256:" + "cd" * 32, "RepoTags": ["<none>:<none>"]}])
    assert rows == [Row("sha256:" + "cd" * 32, ("<none>", "<none>", "cdcdcdcdcdcd", "", ""))]


def test_volumes_are_rows_by_name() -> None:
    listing = {"Volumes": [{"Name": "data", "Driver": "local", "Mountpoint": "/v/data"}]}
    assert volume_rows(listing) == [Row("data", ("data", "local", "/v/data"))]
    assert volume_rows({"Volumes": None}) == []


def test_sizes_and_reports_read_as_docker_prints_them() -> None:
    assert human_size(0) == "0B"
    assert human_size(999) == "999B"
    assert human_size(1_500_000_000) == "1.5GB"
    assert human_size(None) == ""
    assert reclaimed({"SpaceReclaimed": 2_000_000}) == "Total reclaimed space: 2MB"
    assert reclaimed(None) == "Total reclaimed space: 0B"
    assert pull_line({"id": "a1b2", "status": "Downloading", "progress": "[=> ] 1MB/5MB"}) == (
        "a1b2: Downloading [=> ] 1MB/5MB")  # fmt: skip
    assert pull_line({"status": "Status: Downloaded newer image"}) == (
        "Status: Downloaded newer image")  # fmt: skip
