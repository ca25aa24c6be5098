"""Block I/O counters as both cgroup versions write them, in Docker's stats shape."""

from __future__ import annotations

from cove.desktop.cli.container_stats import Row, cpu_percent, memory_usage
from cove.runtime.linux.cgroups.common import parse_blkio_v1, parse_io_stat_v2


def test_blkio_v1_lines_without_the_totals():
    text = "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Total 12288\nTotal 12288\n"
    assert parse_blkio_v1(text) == [
        {"major": 8, "minor": 0, "op": "Read", "value": 4096},
        {"major": 8, "minor": 0, "op": "Write", "value": 8192},
        {"major": 8, "minor": 0, "op": "Sync", "value": 0},
        {"major": 8, "minor": 0, "op": "Total", "value": 12288}]
    assert parse_blkio_v1(None) == []


def test_io_stat_v2_gives_read_and_write():
    text = "8:16 rbytes=1024 wbytes=2048 rios=1 wios=2 dbytes=0 dios=0\n253:0 rbytes=5\n"
    assert parse_io_stat_v2(text) == [
        {"major": 8, "minor": 16, "op": "read", "value": 1024},
        {"major": 8, "minor": 16, "op": "write", "value": 2048},
        {"major": 253, "minor": 0, "op": "read", "value": 5}]


def test_the_cli_computes_what_docker_computes():
    sample = {
        "id": "ab" * 32, "name": "/web",
        "cpu_stats": {"cpu_usage": {"total_usage": 3_000_000_000}, "system_cpu_usage": 20_000_000_000,
                      "online_cpus": 2},
        "precpu_stats": {"cpu_usage": {"total_usage": 1_000_000_000},
                         "system_cpu_usage": 10_000_000_000},
        "memory_stats": {"usage": 50 << 20, "limit": 200 << 20,
                         "stats": {"total_inactive_file": 10 << 20}},
        "blkio_stats": {"io_service_bytes_recursive": [
            {"op": "Read", "value": 2048}, {"op": "write", "value": 1_500_000}]},
        "pids_stats": {"current": 3},
    }
    assert cpu_percent(sample) == 40.0
    assert memory_usage(sample["memory_stats"]) == 40 << 20
    row = Row("web", sample, trunc=True)
    assert (row.ID, row.Name, row.CPUPerc, row.MemUsage, row.MemPerc, row.NetIO, row.BlockIO,
            row.PIDs) == ("abababababab", "web", "40.00%", "40MiB / 200MiB", "20.00%",
                          "0B / 0B", "2.05kB / 1.5MB", "3")
