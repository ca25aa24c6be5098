"""A log the disk refuses costs entries, never the container (runtime/containers/shim_io.py):
written to /dev/full, every write fails with ENOSPC as on a full data root. That logging
resumes once space returns is tests/reliability/test_disk_full.py's."""

from __future__ import annotations

from cove.runtime.containers.shim_io import JsonFileLog


def test_entries_the_disk_refuses_are_dropped_counted_and_reported_once(capfd):
    log = JsonFileLog("/dev/full")
    for number in range(50):
        log.write(1, b"line %d\n" % number)
    assert log.dropped == 50
    log.close()
    reported = capfd.readouterr().err.splitlines()
    assert len(reported) == 2  # when dropping starts, and the count when the log closes
    assert "No space left on device" in reported[0]
    assert "50 entries were dropped" in reported[1]

