"""``cove machine`` before any boot: init makes the files, set/status/inspect/rm read and
change them, and errors exit 125 with podman's wording. (Booting is the VM suite's.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    if shutil.which("qemu-img") is None:
        pytest.fail("qemu-img is needed (apt install qemu-utils)")
    return {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"),
            "XDG_RUNTIME_DIR": str(tmp_path), "COVE_CONFIG": str(tmp_path / "config")}


def cove(env: dict[str, str], *args: str, input: str | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cove.desktop.cli.main", "machine", *args],
                          env=env, capture_output=True, text=True, timeout=60, input=input)


def test_init_makes_a_machine_that_status_and_inspect_describe(env: dict[str, str],
                                                              tmp_path: Path) -> None:
    made = cove(env, "init", "--cpus", "1", "--memory", "512", "--disk-size", "3")
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("Machine init complete\nTo start your machine run:")
    root = tmp_path / "data" / "cove" / "machines" / "default"
    assert (root / "data.qcow2").exists() and (root / "seed.img").exists()
    assert oct((root / "ssh" / "id_ed25519").stat().st_mode & 0o777) == "0o600"
    status = cove(env, "status")
    assert status.returncode == 0
    assert "State:       stopped" in status.stdout and "CPUs:        1" in status.stdout
    inspected = json.loads(cove(env, "inspect").stdout)[0]
    assert inspected["Resources"] == {"CPUs": 1, "DiskSize": 3, "Memory": 512}
    assert inspected["ConnectionInfo"]["DockerSocket"]["Path"] == str(
        tmp_path / "cove" / "default" / "cove.sock")
    listed = cove(env, "ls").stdout.splitlines()
    assert listed[1].split()[:3] == ["default*", "qemu", "Stopped"]


def test_init_twice_and_unknown_machines_fail_with_125(env: dict[str, str]) -> None:
    assert cove(env, "init", "--disk-size", "1").returncode == 0
    again = cove(env, "init")
    assert (again.returncode, again.stderr) == (125, "Error: default: VM already exists\n")
    for command in ("start", "stop", "status", "rm"):
        missing = cove(env, command, "ghost")
        assert (missing.returncode, missing.stderr) == (
            125, "Error: ghost: VM does not exist\n"), command


def test_set_changes_settings_and_refuses_a_shrinking_disk(env: dict[str, str]) -> None:
    assert cove(env, "init", "--disk-size", "2").returncode == 0
    assert cove(env, "set", "--cpus", "1", "--disk-size", "3").returncode == 0
    assert "CPUs:        1" in cove(env, "status").stdout
    shrink = cove(env, "set", "--disk-size", "1")
    assert (shrink.returncode, shrink.stderr) == (
        125, "Error: the disk can only grow: it is 3 GiB\n")
    bad = cove(env, "set", "--memory", "10")
    assert bad.returncode == 125 and "--memory must be at least 256 MiB" in bad.stderr


def test_rm_asks_first_and_removes_everything(env: dict[str, str], tmp_path: Path) -> None:
    assert cove(env, "init", "--disk-size", "1").returncode == 0
    kept = cove(env, "rm", input="n\n")
    assert kept.returncode == 0 and "The following files will be deleted" in kept.stdout
    assert cove(env, "status").returncode == 0
    gone = cove(env, "rm", "-f")
    assert (gone.returncode, gone.stdout) == (0, 'Machine "default" removed\n')
    assert not (tmp_path / "data" / "cove" / "machines" / "default").exists()


def test_start_without_a_guest_image_says_how_to_get_one(env: dict[str, str],
                                                         tmp_path: Path) -> None:
    assert cove(env, "init", "--disk-size", "1").returncode == 0
    started = cove({**env, "COVE_GUEST_IMAGES": str(tmp_path / "none")}, "start")
    assert started.returncode == 125
    assert "no Cove guest image for amd64" in started.stderr
    assert "packaging/guest/build" in started.stderr


def test_start_without_qemu_says_so(env: dict[str, str], tmp_path: Path) -> None:
    assert cove(env, "init", "--disk-size", "1").returncode == 0
    images = tmp_path / "images" / "fake"
    images.mkdir(parents=True)
    for name in ("vmlinuz", "initramfs.img", "system.img"):
        (images / name).write_bytes(b"")
    (images / "manifest.json").write_text('{"arch": "amd64"}')
    started = cove({**env, "PATH": str(tmp_path / "empty"),
                    "COVE_GUEST_IMAGES": str(images.parent)}, "start")
    assert started.returncode == 125
    assert "qemu-system-x86_64 was not found: install QEMU" in started.stderr


def test_no_machine_command_imports_paramiko(env: dict[str, str]) -> None:
    """The forwarder process holds the SSH connection; the CLI stays light."""
    code = ("import sys\n"
            "from cove.desktop.cli.main import main\n"
            "for argv in (['machine', 'init', '--disk-size', '1'], ['machine', 'status'],\n"
            "             ['machine', 'inspect'], ['machine', 'ls'], ['context', 'ls']):\n"
            "    main(argv)\n"
            "print('paramiko' in sys.modules, 'cryptography.hazmat.primitives.asymmetric.ed25519'"
            " in sys.modules)\n")
    ran = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines()[-1] == "False True"  # init made keys; no SSH client


def test_mirrors_and_shared_folders_are_set_replaced_cleared_and_shown(
        env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "code").mkdir()
    made = cove({**env, "HOME": str(tmp_path)}, "init", "--disk-size", "1",
                "--registry-mirror", "https://m.example.com/")
    assert made.returncode == 0, made.stderr
    shown = cove(env, "status").stdout
    assert "Mirrors:     https://m.example.com\n" in shown
    assert f"Shared:      {tmp_path}\n" in shown  # the home folder by default
    assert cove(env, "set", "--registry-mirror", "http://127.0.0.1:5999", "--registry-mirror",
                "https://n.example.com", "--mount", f"{tmp_path}/code:ro").returncode == 0
    inspected = json.loads(cove(env, "inspect").stdout)[0]
    assert inspected["RegistryMirrors"] == ["http://127.0.0.1:5999", "https://n.example.com"]
    assert inspected["Mounts"] == [{"Source": f"{tmp_path}/code", "Target": f"{tmp_path}/code",
                                    "ReadOnly": True}]
    assert cove(env, "set", "--cpus", "1").returncode == 0  # the lists are kept
    assert json.loads(cove(env, "status", "--format", "json").stdout)["SharedFolders"] == [
        f"{tmp_path}/code:ro"]
    assert cove(env, "set", "--registry-mirror", "", "--mount", "").returncode == 0
    shown = cove(env, "status").stdout
    assert "Mirrors:     none\n" in shown and "Shared:      none\n" in shown
    bad = cove(env, "set", "--registry-mirror", "mirror.example.com")
    assert (bad.returncode, bad.stderr) == (
        125, "Error: invalid mirror: no scheme specified for 'mirror.example.com': must use "
             "either 'https://' or 'http://'\n")
    bad = cove(env, "set", "--mount", str(tmp_path / "none"))
    assert bad.returncode == 125 and "is not a directory on this host" in bad.stderr
