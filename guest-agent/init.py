"""PID 1 of Cove's guest: brings the system up in order, then supervises sshd and coved.

The initramfs has loaded the virtio drivers and mounted the read-only system disk; this
mounts the rest, loads the modules the engine needs, sets up the network, starts dropbear,
mounts the data disk and starts ``coved``, printing each stage's time since boot on the
console (``cove-init: 1.93s network``) so that boot time can be taken apart. It then
restarts whichever of the two dies, reaps orphans, and powers off on SIGTERM/SIGINT.
Options come from the kernel command line: ``cove.net=static|dhcp``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable

from cove.guest_agent import filesystems, kernel, network, seed, sshd

SOCKET = "/run/cove.sock"
LOG_DIR = "/run/cove"
MODULES = ("overlay",)  # the rest load on demand through /proc/sys/kernel/modprobe
MODPROBE = "/usr/sbin/modprobe"  # busybox's, reading the modules.dep made at build
READY_TIMEOUT = 120.0
SIGNALS = {signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGUSR2}
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
       "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}


def stage(text: str) -> None:
    """One console line: seconds since the kernel started, then what is done."""
    print(f"cove-init: {time.clock_gettime(time.CLOCK_BOOTTIME):.2f}s {text}", flush=True)


def kernel_options() -> dict[str, str]:
    with open("/proc/cmdline") as f:
        words = f.read().split()
    return dict(w.split("=", 1) for w in words if w.startswith("cove.") and "=" in w)


def unblock_signals() -> None:
    signal.pthread_sigmask(signal.SIG_SETMASK, set())


class Service:
    """A child PID 1 keeps running: started again (after a growing pause) when it exits."""

    def __init__(self, name: str, argv: list[str]) -> None:
        self.name = name
        self.argv = argv
        self.pid = 0
        self.restarts = 0
        self.restart_at = 0.0

    def start(self) -> None:
        with open(f"{LOG_DIR}/{self.name}.log", "ab") as log:
            child = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                     env=ENV, cwd="/", preexec_fn=unblock_signals)
        self.pid = child.pid

    def exited(self, status: int) -> None:
        self.pid = 0
        self.restarts += 1
        pause = min(0.5 * 2 ** min(self.restarts - 1, 5), 10.0)
        self.restart_at = time.monotonic() + pause
        stage(f"{self.name} exited ({describe(status)}); restart in {pause:.1f}s")


def describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"status {os.waitstatus_to_exitcode(status)}"


def ping(path: str = SOCKET) -> bool:
    """True when coved answers GET /_ping with 200 on its socket."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(2.0)
            s.connect(path)
            s.sendall(b"GET /_ping HTTP/1.0\r\nHost: cove\r\n\r\n")
            return s.recv(64).split(b" ", 2)[1:2] == [b"200"]
    except (OSError, IndexError):
        return False


class Supervisor:
    """Waits for signals with SIGCHLD blocked, so no exit and no shutdown request is lost."""

    def __init__(self, services: list[Service]) -> None:
        self.services = services
        self.stopping = False

    def step(self, timeout: float) -> None:
        info = signal.sigtimedwait(SIGNALS, max(timeout, 0.001))
        if info is not None and info.si_signo != signal.SIGCHLD:
            self.stopping = True
        self.reap()
        now = time.monotonic()
        for service in self.services:
            if not self.stopping and service.pid == 0 and now >= service.restart_at:
                service.start()

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            for service in self.services:
                if service.pid == pid:
                    service.exited(status)

    def wait_until(self, ready: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.stopping and time.monotonic() < deadline:
            if ready():
                return True
            self.step(0.02)
        return False

    def run(self) -> None:
        while not self.stopping:
            self.step(1.0)

    def shut_down(self) -> None:
        """SIGTERM to every process, SIGKILL to what is left after 10 s, then unmount."""
        stage("shutting down")
        for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 2.0)):
            try:
                os.kill(-1, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline:
                self.reap()
                if not any_child():
                    break
                signal.sigtimedwait({signal.SIGCHLD}, 0.1)
        os.sync()
        try:
            kernel.umount(filesystems.DATA_ROOT)
        except OSError as exc:
            stage(f"{exc}")


def any_child() -> bool:
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    return True


def start_sshd(supervisor: Supervisor) -> None:
    device = filesystems.disk_by_serial(seed.SERIAL)
    if device is None:
        stage("no seed disk: no sshd")
        return
    found = seed.read_seed(device)
    for name in found.refused:
        stage(f"seed: refused {name!r} (expected {', '.join(sorted(seed.MEMBERS))})")
    hostname = found.text("hostname")
    if hostname:
        socket.sethostname(hostname)
    missing = {"authorized_keys", "ssh_host_ed25519_key"} - found.files.keys()
    if missing:
        stage(f"seed: no {', '.join(sorted(missing))}: no sshd")
        return
    sshd.install_keys(found)
    service = Service("dropbear", sshd.command())
    supervisor.services.append(service)
    service.start()
    if not supervisor.wait_until(sshd.listening, 10.0):
        stage("sshd not listening after 10s")
        return
    stage(f"sshd on port {sshd.PORT}")


def boot() -> Supervisor:
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    os.environ.clear()
    os.environ.update(ENV)
    filesystems.mount_early()
    os.makedirs(LOG_DIR, mode=0o755, exist_ok=True)
    socket.sethostname("cove")
    stage("mounts")
    options = kernel_options()
    with open("/proc/sys/kernel/modprobe", "w") as f:
        f.write(MODPROBE)
    subprocess.run([MODPROBE, "-a", *MODULES], check=True)
    stage("modules")
    stage(f"network: {network.bring_up(options.get('cove.net', 'static'))}")
    supervisor = Supervisor([])
    start_sshd(supervisor)
    stage(filesystems.mount_data(filesystems.disk_by_serial("cove-data")))
    coved = Service("coved", [sys.executable, "-m", "cove.runtime.daemon",
                              "--data-root", filesystems.DATA_ROOT, "-H", f"unix://{SOCKET}",
                              "--pidfile", f"{LOG_DIR}/coved.pid"])
    supervisor.services.append(coved)
    coved.start()
    # the host's SSH channels land on the agent: the engine bridge on loopback 2375
    # (dropbear forwards no Unix sockets) and the clock/status requests on 2376
    agent = Service("agent", [sys.executable, "-m", "cove.guest_agent.agent"])
    supervisor.services.append(agent)
    agent.start()
    if supervisor.wait_until(ping, READY_TIMEOUT):
        stage("coved ready")
    elif not supervisor.stopping:
        stage(f"coved not answering after {READY_TIMEOUT:.0f}s (log: {LOG_DIR}/coved.log)")
    return supervisor


def main() -> None:
    if os.getpid() != 1:
        sys.exit("cove.guest_agent.init runs as PID 1 of the guest")
    try:
        supervisor = boot()
        supervisor.run()
        supervisor.shut_down()
    except BaseException:
        import traceback

        traceback.print_exc()
        stage("init failed: powering off")
    kernel.power_off()


if __name__ == "__main__":
    main()
