"""The VM path end to end, on a real QEMU guest (TCG here): ``cove machine`` boots the
guest built from this tree, and every client works through the forwarded socket.

One machine serves the module (a boot under TCG takes tens of seconds); each test uses
names of its own. The guest image is built by ``packaging/guest/build`` (cached by the
hash of its inputs), so the guest always runs this tree's engine and agent.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cove.vm.machine import pid_alive
from tests.support.images import busybox_archive
from tests.support.terminal import Terminal

ROOT = Path(__file__).resolve().parents[3]
BOOT_TIMEOUT = 400


class MachineEnv:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DOCKER_HOST", "COVE_HOST", "COVE_CONTEXT")
        }
        self.env.update(
            XDG_DATA_HOME=str(base / "data"),
            XDG_RUNTIME_DIR=str(base),
            COVE_CONFIG=str(base / "config"),
            DOCKER_CONFIG=str(base / "docker"),
        )

    def use_image(self, image: Path) -> None:
        """Boot this image (and no other the cache holds) at the next start."""
        chosen = self.base / "images" / image.name
        shutil.rmtree(chosen.parent, ignore_errors=True)
        chosen.parent.mkdir(parents=True)
        chosen.symlink_to(image)
        self.env["COVE_GUEST_IMAGES"] = str(chosen.parent)

    @property
    def socket(self) -> Path:
        return self.base / "cove" / "default" / "cove.sock"

    @property
    def docker_env(self) -> dict[str, str]:
        return {**self.env, "DOCKER_HOST": f"unix://{self.socket}"}

    def cove(
        self, *args: str, input: str | None = None, timeout: float = 120, context: bool = True
    ) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "cove.desktop.cli.main"]
        argv += ["--context", "vm"] if context else []
        return subprocess.run(
            [*argv, *args],
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def machine(
        self, *args: str, timeout: float = BOOT_TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        return self.cove("machine", *args, timeout=timeout, context=False)

    def forwarders(self) -> list[int]:
        """The forwarder processes serving this machine."""
        mine = f"--machine-root {self.base}".encode()
        found = []
        for entry in os.listdir("/proc"):
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if mine in f.read().replace(b"\0", b" "):
                        found.append(int(entry))
            except (OSError, ValueError):
                continue
        return found

    def qemu_pid(self) -> int:
        state = self.base / "data" / "cove" / "machines" / "default" / "state.json"
        return int(json.loads(state.read_text())["qemu_pid"])


def build_guest_image(*options: str) -> Path:
    built = subprocess.run(
        [str(ROOT / "packaging" / "guest" / "build"), *options],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    return Path(built.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def vm() -> Iterator[MachineEnv]:
    if shutil.which("qemu-system-x86_64") is None:
        pytest.fail("QEMU is needed for the VM tests (apt install qemu-system-x86)")
    image = build_guest_image()
    base = Path(tempfile.mkdtemp(prefix="cove-vm-", dir="/tmp"))
    machine = MachineEnv(base)
    machine.use_image(image)
    made = machine.machine("init", "--cpus", "1", "--memory", "1024", "--disk-size", "4")
    assert made.returncode == 0, made.stderr
    try:
        started = machine.machine("start")
        assert started.returncode == 0, started.stdout + started.stderr
        load = subprocess.run(
            [sys.executable, "-m", "cove.desktop.cli.main", "--context", "vm", "load"],
            input=busybox_archive(),
            env=machine.env,
            capture_output=True,
            timeout=300,
        )
        assert load.returncode == 0, load.stderr
        yield machine
    finally:
        machine.machine("stop", timeout=120)
        machine.machine("rm", "-f", timeout=60)
        left = machine.forwarders()
        shutil.rmtree(base, ignore_errors=True)
    assert left == [], "a forwarder outlived its machine"


def test_version_shows_the_guests_linux_as_the_server(vm: MachineEnv) -> None:
    shown = vm.cove("version", "--format", "{{.Server.KernelVersion}} {{.Server.Os}}")
    assert shown.returncode == 0, shown.stderr
    kernel, os_name = shown.stdout.split()
    assert (kernel.endswith("-amd64"), os_name) == (True, "linux")
    assert kernel != os.uname().release


def test_cove_run_and_run_it_work_in_the_guest(vm: MachineEnv) -> None:
    ran = vm.cove("run", "--rm", "--name", "vm-echo", "busybox", "echo", "hi")
    assert (ran.returncode, ran.stdout) == (0, "hi\n"), ran.stderr
    term = Terminal(
        [
            sys.executable,
            "-m",
            "cove.desktop.cli.main",
            "--context",
            "vm",
            "run",
            "-it",
            "--rm",
            "--name",
            "vm-tty",
            "busybox",
            "sh",
        ],
        vm.env,
    )
    term.expect("# ", timeout=120)
    term.send("tty; exit 7\r")
    term.expect("/dev/pts/0", timeout=60)
    assert term.wait(timeout=60) == 7


def test_the_docker_cli_works_through_the_forwarded_socket(vm: MachineEnv) -> None:
    docker = shutil.which("docker")
    assert docker, "the docker CLI is needed: apt install docker.io"
    ran = subprocess.run(
        [docker, "run", "--rm", "--name", "vm-docker", "busybox", "sh", "-c", "echo $((6*7))"],
        env=vm.docker_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (ran.returncode, ran.stdout) == (0, "42\n"), ran.stderr
    piped = subprocess.run(
        [docker, "run", "-i", "--rm", "--name", "vm-stdin", "busybox", "wc", "-c"],
        input="x" * 100_000,
        env=vm.docker_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (piped.returncode, piped.stdout.strip()) == (0, "100000"), piped.stderr


def test_docker_py_works_through_the_forwarded_socket(vm: MachineEnv) -> None:
    import docker

    client = docker.DockerClient(base_url=f"unix://{vm.socket}", timeout=120)
    try:
        out = client.containers.run(
            "busybox", ["echo", "from docker-py"], name="vm-py", remove=True
        )
        assert out == b"from docker-py\n"
        assert client.version()["KernelVersion"].endswith("-amd64")
    finally:
        client.close()


def test_stop_and_start_keep_the_loaded_image_and_a_killed_qemu_starts_clean(
    vm: MachineEnv,
) -> None:
    stopped = vm.machine("stop")
    assert (stopped.returncode, stopped.stdout) == (
        0,
        'Machine "default" stopped successfully\n',
    ), stopped.stderr
    assert "State:       stopped" in vm.machine("status").stdout
    assert vm.machine("start").returncode == 0
    images = vm.cove("images", "--format", "{{.Repository}}:{{.Tag}}")
    assert "busybox:latest" in images.stdout.split(), images
    pid = vm.qemu_pid()
    os.kill(pid, signal.SIGKILL)  # a crash while nothing runs
    deadline = time.monotonic() + 30
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    restarted = vm.machine("start")
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert len(vm.forwarders()) == 1  # the crashed boot's forwarder went with it
    ran = vm.cove("run", "--rm", "--name", "vm-after-kill", "busybox", "echo", "back")
    assert (ran.returncode, ran.stdout) == (0, "back\n"), ran.stderr


def test_a_changed_host_key_is_refused_and_the_next_start_recovers(vm: MachineEnv) -> None:
    assert vm.machine("stop").returncode == 0
    pub = vm.base / "data" / "cove" / "machines" / "default" / "ssh" / "host_ed25519.pub"
    original = pub.read_text()
    from cove.vm import keys

    pub.write_text(keys.generate("someone-else").public_line + "\n")
    try:
        refused = vm.machine("start")
    finally:
        pub.write_text(original)
    assert refused.returncode == 125
    assert "refused the guest's host key" in refused.stderr
    assert "VM already running" not in refused.stderr
    assert "State:       stopped" in vm.machine("status").stdout
    again = vm.machine("start")
    assert again.returncode == 0, again.stdout + again.stderr
    ran = vm.cove("run", "--rm", "--name", "vm-after-key", "busybox", "true")
    assert ran.returncode == 0, ran.stderr


def test_two_starts_at_once_boot_one_vm(vm: MachineEnv) -> None:
    assert vm.machine("stop").returncode == 0
    argv = [sys.executable, "-m", "cove.desktop.cli.main", "machine", "start"]
    first, second = (
        subprocess.Popen(
            argv, env=vm.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    )
    results = [p.communicate(timeout=BOOT_TIMEOUT) + (p.returncode,) for p in (first, second)]
    codes = sorted(code for _, _, code in results)
    assert codes == [0, 125], results
    loser = next(err for _, err, code in results if code == 125)
    assert "another start or stop of it is running" in loser or "VM already running" in loser, loser
    ran = vm.cove("run", "--rm", "--name", "vm-after-race", "busybox", "true")
    assert ran.returncode == 0, ran.stderr


def test_a_guest_that_does_not_boot_fails_with_its_console(tmp_path: Path) -> None:
    image = build_guest_image()
    broken = tmp_path / "images" / "broken"
    broken.mkdir(parents=True)
    for name in ("vmlinuz", "initramfs.img", "manifest.json"):
        (broken / name).symlink_to(image / name)
    (broken / "system.img").write_bytes(b"\0" * (1 << 20))  # no filesystem on it
    machine = MachineEnv(tmp_path / "m")
    machine.env["COVE_GUEST_IMAGES"] = str(broken.parent)
    assert (
        machine.machine("init", "--cpus", "1", "--memory", "512", "--disk-size", "1").returncode
        == 0
    )
    try:
        failed = machine.machine("start", timeout=300)
        assert failed.returncode == 125
        assert "the VM stopped while booting" in failed.stderr
        assert "cove-init" in failed.stderr  # the console's tail says where it stopped
        assert "State:       stopped" in machine.machine("status").stdout
    finally:
        machine.machine("rm", "-f", timeout=60)


def test_a_guest_clock_that_fell_behind_is_set_back_to_the_hosts(vm: MachineEnv) -> None:
    def guest_time() -> float:
        shown = vm.cove("machine", "ssh", "date", "+%s", context=False)
        assert shown.returncode == 0, shown.stderr
        return float(shown.stdout.strip())

    # set and read in one command: the agent may set it right again before a second one
    moved = vm.cove("machine", "ssh", "sh", "-c", "'date -s @1000000000 >/dev/null; date +%s'",
                    context=False)
    assert moved.returncode == 0, moved.stderr
    assert float(moved.stdout.strip()) < time.time() - 3600  # as after a laptop slept
    deadline = time.monotonic() + 60
    while abs(guest_time() - time.time()) > 2 and time.monotonic() < deadline:
        time.sleep(1)
    assert abs(guest_time() - time.time()) <= 2


def test_an_upgraded_guest_image_keeps_the_data_disk(vm: MachineEnv) -> None:
    """A new system image (here with one more Debian package) replaces the old one whole;
    images, containers and volumes live on the data disk and stay."""
    current = Path(os.readlink(next((vm.base / "images").iterdir())))
    upgraded = build_guest_image("--with", "less")
    assert upgraded != current
    assert vm.cove("volume", "create", "vm-kept").returncode == 0
    assert vm.machine("stop").returncode == 0
    vm.use_image(upgraded)
    try:
        started = vm.machine("start")
        assert started.returncode == 0, started.stdout + started.stderr
        has_less = vm.cove("machine", "ssh", "less", "--version", context=False)
        assert has_less.returncode == 0 and "less" in has_less.stdout, has_less
        images = vm.cove("images", "--format", "{{.Repository}}:{{.Tag}}")
        assert "busybox:latest" in images.stdout.split(), images
        assert vm.cove("volume", "inspect", "vm-kept").returncode == 0
        ran = vm.cove(
            "run",
            "--rm",
            "-v",
            "vm-kept:/kept",
            "--name",
            "vm-upgraded",
            "busybox",
            "sh",
            "-c",
            "echo ok > /kept/f && cat /kept/f",
        )
        assert (ran.returncode, ran.stdout) == (0, "ok\n"), ran.stderr
    finally:
        assert vm.machine("stop").returncode == 0
        vm.use_image(current)
        assert vm.machine("start").returncode == 0


def _status(vm: MachineEnv) -> dict[str, object]:
    shown = vm.machine("status", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    report: dict[str, object] = json.loads(shown.stdout)
    return report


def _new_name(vm: MachineEnv) -> str:
    """The name the engine makes up for a container created without one."""
    made = vm.cove("create", "busybox", "true")
    assert made.returncode == 0, made.stderr
    cid = made.stdout.strip()
    name = vm.cove("inspect", "--format", "{{.Name}}", cid).stdout.strip().lstrip("/")
    assert vm.cove("rm", cid).returncode == 0
    return name


def test_a_start_after_the_first_restores_the_saved_state(vm: MachineEnv) -> None:
    """The state saved at the first boot's hold point comes back: same engine data, the
    host's time, and fresh randomness (the engine's made-up names differ between two
    restores of one state)."""
    names = []
    for _ in range(2):
        assert vm.machine("stop").returncode == 0
        started = vm.machine("start")
        assert started.returncode == 0, started.stdout + started.stderr
        assert _status(vm)["BootedFrom"] == "saved state"
        names.append(_new_name(vm))
    assert names[0] != names[1]
    images = vm.cove("images", "--format", "{{.Repository}}:{{.Tag}}")
    assert "busybox:latest" in images.stdout.split(), images
    shown = vm.cove("machine", "ssh", "date", "+%s", context=False)
    assert abs(float(shown.stdout.strip()) - time.time()) <= 2, shown
    assert "Booted:      from saved state in" in vm.machine("status").stdout


def test_status_shows_what_the_guest_agent_reports(vm: MachineEnv) -> None:
    deadline = time.monotonic() + 30
    guest: dict[str, object] = {}
    while not guest.get("engine") and time.monotonic() < deadline:
        time.sleep(0.2)
        guest = dict(_status(vm).get("Guest") or {})  # type: ignore[call-overload]
    assert guest.get("engine") is True, guest
    assert str(guest["kernel"]).endswith("-amd64") and "Debian" in str(guest["os"])
    shown = vm.machine("status").stdout
    assert f"kernel {guest['kernel']}" in shown and "answering" in shown, shown


def test_a_saved_state_that_cannot_be_loaded_gives_way_to_a_cold_boot(vm: MachineEnv) -> None:
    assert vm.machine("stop").returncode == 0
    saved = vm.base / "data" / "cove" / "machines" / "default" / "saved-state"
    with open(saved, "r+b") as f:
        f.truncate(1 << 20)  # cut short, its key still in place
    started = vm.machine("start")
    assert started.returncode == 0, started.stdout + started.stderr
    report = _status(vm)
    assert report["BootedFrom"] == "cold boot"
    assert "could not be restored" in str(report["SavedState"])
    assert "saved in" in str(report["SavedState"])  # and a whole one was saved again
    ran = vm.cove("run", "--rm", "--name", "vm-after-bad-state", "busybox", "true")
    assert ran.returncode == 0, ran.stderr
    assert vm.machine("stop").returncode == 0
    assert vm.machine("start").returncode == 0
    assert _status(vm)["BootedFrom"] == "saved state"


def test_a_full_host_disk_costs_only_the_saved_state_and_pauses_the_vm_until_freed(
        tmp_path: Path) -> None:
    """The machine's files on a 64 MB filesystem: the guest's RAM does not fit, so no
    state is saved and the boot goes on. Then a container fills the data disk past what
    the host has: the VM pauses (nothing lost), status says why, and once space is freed
    `machine start` resumes it and the write completes."""
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m", "cove-test-full", str(small)], check=True
    )
    machine = MachineEnv(small)
    machine.use_image(build_guest_image())
    try:
        assert (
            machine.machine("init", "--cpus", "1", "--memory", "512", "--disk-size", "1").returncode
            == 0
        )
        started = machine.machine("start")
        assert started.returncode == 0, started.stdout + started.stderr
        report = _status(machine)
        assert report["BootedFrom"] == "cold boot"
        assert "not saved" in str(report["SavedState"]), report
        assert "No space left on device" in str(report["SavedState"]), report
        files = os.listdir(small / "data" / "cove" / "machines" / "default")
        assert not [f for f in files if "saved-state" in f], files
        version = machine.cove("version", "--format", "{{.Server.KernelVersion}}")
        assert version.returncode == 0 and version.stdout.strip().endswith("-amd64"), version
        load = subprocess.run([sys.executable, "-m", "cove.desktop.cli.main", "--context", "vm",
                               "load"], input=busybox_archive(), env=machine.env,
                              capture_output=True, timeout=300)
        assert load.returncode == 0, load.stderr
        writer = subprocess.Popen(
            [sys.executable, "-m", "cove.desktop.cli.main", "--context", "vm", "run", "--rm",
             "--name", "vm-fills-disk", "busybox", "sh", "-c",
             "yes 0123456789abcdef | head -c 120000000 > /fill && sync && echo filled"],
            env=machine.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 300
            while _status(machine)["State"] != "paused" and time.monotonic() < deadline:
                assert writer.poll() is None, writer.communicate()
                time.sleep(0.5)
            report = _status(machine)
            assert report["State"] == "paused", report
            assert "host's disk is full" in str(report["Problem"])
            assert "Problem:" in machine.machine("status").stdout
            subprocess.run(["mount", "-o", "remount,size=1g", str(small)], check=True)
            resumed = machine.machine("start")
            assert resumed.returncode == 0, resumed.stdout + resumed.stderr
            out, err = writer.communicate(timeout=300)
            assert (writer.returncode, out) == (0, "filled\n"), err
        finally:
            if writer.poll() is None:
                writer.kill()
                writer.communicate()
        assert _status(machine)["State"] == "running"
        assert machine.machine("stop").returncode == 0
        again = machine.machine("start")
        assert again.returncode == 0, again.stdout + again.stderr
        report = _status(machine)
        assert report["BootedFrom"] == "cold boot"  # none was saved: now one is
        assert "saved in" in str(report["SavedState"]), report
    finally:
        machine.machine("stop", timeout=120)
        machine.machine("rm", "-f", timeout=60)
        left = machine.forwarders()
        subprocess.run(["umount", "-l", str(small)], check=False)
    assert left == []


def test_an_ssh_port_taken_before_qemu_binds_it_is_chosen_again(
    vm: MachineEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The port is free when chosen and another program takes it before QEMU starts."""
    import socket

    from cove.vm import machine as machine_module
    from cove.vm.paths import MachinePaths

    assert vm.machine("stop").returncode == 0
    taken = socket.create_server(("127.0.0.1", 0))
    taken_port = taken.getsockname()[1]
    ports = [taken_port]
    real = machine_module.free_loopback_port
    monkeypatch.setattr(
        machine_module, "free_loopback_port", lambda: ports.pop() if ports else real()
    )
    paths = MachinePaths.of(
        "default", root=vm.base / "data" / "cove" / "machines", sockets=vm.base / "cove"
    )
    try:
        booted = machine_module.QemuMachine(
            paths, images_dir=Path(vm.env["COVE_GUEST_IMAGES"])
        ).start()
    finally:
        taken.close()
    assert not ports  # the taken port was tried first
    assert booted.ssh_port != taken_port
    ran = vm.cove("run", "--rm", "--name", "vm-after-taken-port", "busybox", "echo", "up")
    assert (ran.returncode, ran.stdout) == (0, "up\n"), ran.stderr


def test_registry_mirrors_set_on_the_machine_reach_its_engine_at_the_next_start(
        vm: MachineEnv) -> None:
    """The mirrors ride in the go, not on QEMU's line: the start after a change still
    restores the saved state, and `docker info` through the machine lists them."""
    mirror = "http://127.0.0.1:5999"
    # a saved state for the machine as it is (a test before may have changed its line)
    assert vm.machine("stop").returncode == 0 and vm.machine("start").returncode == 0
    try:
        assert vm.machine("set", "--registry-mirror", mirror).returncode == 0
        assert f"Pending:     RegistryMirrors {mirror} at the next start" in \
            vm.machine("status").stdout
        assert vm.machine("stop").returncode == 0
        started = vm.machine("start")
        assert started.returncode == 0, started.stdout + started.stderr
        assert _status(vm)["BootedFrom"] == "saved state"
        info = vm.cove("info", "--format", "{{json .RegistryConfig.Mirrors}}")
        assert json.loads(info.stdout) == [mirror + "/"], info
        shown = subprocess.run(["docker", "info"], env=vm.docker_env, capture_output=True,
                               text=True, timeout=60)
        assert f" Registry Mirrors:\n  {mirror}/\n" in shown.stdout, shown
        status = vm.machine("status").stdout
        assert f"Mirrors:     {mirror}\n" in status and "Pending" not in status, status
    finally:
        assert vm.machine("set", "--registry-mirror", "").returncode == 0


def test_a_shared_folder_is_bind_mounted_through_the_machine_both_ways(
        vm: MachineEnv, tmp_path: Path) -> None:
    """A host folder shared with the machine (virtio-9p, at its own path in the guest) is
    what `cove run -v <folder>:/data` mounts: the container reads the host's file, and
    what it writes is on the host, owned by the user QEMU runs as. Shared folders are on
    QEMU's line, so the start after the change boots cold."""
    folder = tmp_path / "shared"
    folder.mkdir()
    (folder / "file").write_text("from the host\n")
    try:
        assert vm.machine("set", "--mount", str(folder)).returncode == 0
        assert vm.machine("stop").returncode == 0
        started = vm.machine("start")
        assert started.returncode == 0, started.stdout + started.stderr
        assert _status(vm)["BootedFrom"] == "cold boot"
        read = vm.cove("run", "--rm", "-v", f"{folder}:/data", "busybox", "cat", "/data/file")
        assert (read.returncode, read.stdout) == (0, "from the host\n"), read
        wrote = vm.cove("run", "--rm", "-v", f"{folder}:/data", "busybox", "sh", "-c",
                        "echo from the container > /data/back && mkdir /data/dir")
        assert wrote.returncode == 0, wrote
        assert (folder / "back").read_text() == "from the container\n"
        assert (folder / "dir").is_dir()
        assert (folder / "back").stat().st_uid == os.getuid()  # QEMU's user: this test's
        shown = vm.machine("status").stdout
        assert f"Shared:      {folder} (mounted)\n" in shown, shown
    finally:
        assert vm.machine("set", "--mount", "").returncode == 0
