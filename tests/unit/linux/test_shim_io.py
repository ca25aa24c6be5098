"""The shim's json-file log and attach framing (runtime/containers/shim_io.py)."""

from __future__ import annotations

import json

from cove.runtime.containers.shim_io import JsonFileLog, frame, rfc3339_nano


def test_timestamps_are_rfc3339nano_with_trimmed_zeros():
    assert rfc3339_nano(1_700_000_000_123_450_000) == "2023-11-14T22:13:20.12345Z"
    assert rfc3339_nano(1_700_000_000_000_000_000) == "2023-11-14T22:13:20Z"


def test_frame_header_is_stream_and_big_endian_length():
    assert frame(2, b"abc") == b"\x02\x00\x00\x00\x03abc"


def test_log_splits_lines_and_flushes_the_partial_tail(tmp_path):
    path = tmp_path / "c-json.log"
    log = JsonFileLog(str(path))
    log.write(1, b"one\ntw")
    log.write(2, b"err\n")
    log.write(1, b"o\nthree")
    log.close()
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(e["log"], e["stream"]) for e in entries] == [
        ("one\n", "stdout"), ("err\n", "stderr"), ("two\n", "stdout"), ("three", "stdout")]


def test_log_rotates_past_max_size(tmp_path):
    path = tmp_path / "c-json.log"
    log = JsonFileLog(str(path), max_size=200, max_files=3)
    for i in range(20):
        log.write(1, f"line {i}\n".encode())
    log.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["c-json.log", "c-json.log.1", "c-json.log.2"]  # max-file=3 in all
    assert all((tmp_path / name).stat().st_size <= 200 for name in files)
    assert "line 19" in path.read_text()
    assert "line 0" not in "".join((tmp_path / name).read_text() for name in files)


def test_one_log_file_is_truncated_when_full(tmp_path):
    path = tmp_path / "c-json.log"
    log = JsonFileLog(str(path), max_size=200)  # max-file 1, docker's default
    for i in range(10):
        log.write(1, f"line {i}\n".encode())
    log.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c-json.log"]
    assert path.stat().st_size <= 200 and "line 9" in path.read_text()
