"""A machine's files, settings and keys."""

from __future__ import annotations

import stat
from pathlib import Path

import paramiko
import pytest

from cove.vm import keys, settings
from cove.vm.paths import MAX_SOCKET_PATH, MachinePaths, socket_dir
from cove.vm.settings import MachineSettings, SettingsError


def test_sockets_are_kept_short_enough_for_af_unix() -> None:
    paths = MachinePaths.of("default", root=Path("/x" * 80))
    assert len(str(paths.engine_socket)) <= MAX_SOCKET_PATH
    assert paths.engine_socket.parent == socket_dir() / "default"
    assert paths.settings == Path("/x" * 80) / "default" / "machine.json"


def test_settings_survive_a_round_trip_and_set_changes_only_what_is_given(
        tmp_path: Path) -> None:
    path = tmp_path / "m" / "machine.json"
    settings.save(path, MachineSettings(cpus=1, memory_mib=512, disk_gib=10, ssh_port=2222))
    loaded = settings.load(path)
    assert loaded == MachineSettings(1, 512, 10, 2222)
    assert loaded.changed(cpus=2, memory_mib=None) == MachineSettings(2, 512, 10, 2222)
    assert not list(path.parent.glob(".*"))  # no temp file left


@pytest.mark.parametrize(("values", "message"), [
    ({"cpus": 0}, "--cpus must be at least 1"),
    ({"cpus": 64}, "exceeds the host's 8 CPUs"),
    ({"memory_mib": 100}, "--memory must be at least 256 MiB"),
    ({"disk_gib": 0}, "--disk-size must be at least 1 GiB"),
])
def test_settings_out_of_range_are_refused(values: dict[str, int], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        MachineSettings().changed(**values).validated(host_cpus=8)


def test_a_torn_settings_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "machine.json"
    path.write_text('{"cpus": ')
    with pytest.raises(SettingsError, match="cannot read"):
        settings.load(path)


def test_keys_are_written_private_and_read_by_paramiko(tmp_path: Path) -> None:
    pair = keys.generate("cove@test")
    private = tmp_path / "ssh" / "id_ed25519"
    keys.write(pair, private)
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    loaded = paramiko.Ed25519Key.from_private_key_file(str(private))
    public = keys.read_public_line(private)
    assert public.split()[:2] == [loaded.get_name(), loaded.get_base64()]
    assert public.endswith(" cove@test")
    assert keys.generate("x").public_line != pair.public_line
