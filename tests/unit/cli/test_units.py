"""Human durations and sizes follow go-units, as docker prints them."""

from __future__ import annotations

import pytest

from cove.desktop.cli.units import ago, human_duration, human_size, parse_nano_cpus, ram_in_bytes


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.5, "Less than a second"), (1, "1 second"), (59, "59 seconds"), (60, "About a minute"),
        (119, "About a minute"), (120, "2 minutes"), (3599, "59 minutes"), (3600, "About an hour"),
        (2 * 3600, "2 hours"), (47 * 3600, "47 hours"), (48 * 3600, "2 days"),
        (14 * 86400, "2 weeks"), (60 * 86400, "2 months"), (2 * 365 * 86400, "2 years"),
    ],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_ago_appends_suffix() -> None:
    assert ago(100.0, now=220.0) == "2 minutes ago"


@pytest.mark.parametrize(
    ("size", "text"),
    [(0, "0B"), (926, "926B"), (1230, "1.23kB"), (13300, "13.3kB"), (4260000, "4.26MB"),
     (1984132, "1.98MB"), (1_000_000_000, "1GB")],
)
def test_human_size_is_decimal_with_three_digits(size: int, text: str) -> None:
    assert human_size(size) == text


@pytest.mark.parametrize(
    ("text", "value"),
    [("64m", 64 << 20), ("1g", 1 << 30), ("512k", 512 << 10), ("100", 100), ("1.5g", 3 << 29),
     ("64MB", 64 << 20), ("64MiB", 64 << 20)],
)
def test_ram_in_bytes_is_binary(text: str, value: int) -> None:
    assert ram_in_bytes(text) == value


@pytest.mark.parametrize("text", ["64x", "", "m", "-1m"])
def test_ram_in_bytes_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        ram_in_bytes(text)


def test_cpus_become_nano_cpus() -> None:
    assert parse_nano_cpus("1.5") == 1_500_000_000
    with pytest.raises(ValueError, match="rational number"):
        parse_nano_cpus("abc")
