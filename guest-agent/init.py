"""PID 1 of Cove's guest: brings the system up in order, then supervises sshd and coved.

The initramfs has loaded the virtio drivers and mounted the read-only system disk. This
mounts the rest, loads the modules the engine needs, sets up the network, and starts the
agent and a *held* ``coved`` (loading its code, not yet touching its data root), so their
imports overlap the rest of the boot. Then it waits at the control port for the host's go
(``cove.guest_agent.control``): the point where the host may save the VM's state, and
where a restored VM resumes. After the go it sets the clock, reseeds the RNG, mounts the
data disk, lets ``coved`` start, and starts dropbear.

Each stage's time since boot goes to the console (``cove-init: 1.93s network``), so that
boot time can be taken apart. Then it restarts whichever service dies, reaps orphans, and
powers off on SIGTERM/SIGINT. Options come from the kernel command line:
``cove.net=static|dhcp``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable

from cove.guest_agent import control, filesystems, kernel, network, protocol, seed, sshd
from cove.guest_agent.engine_bridge import ENGINE_SOCKET as SOCKET
from cove.guest_agent.engine_bridge import ping

LOG_DIR = "/run/cove"
MODULES = ("overlay", "virtio_console")  # the rest load on demand through /proc/sys/kernel/modprobe
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
    """A child PID 1 keeps running: started again (after a growing pause) when it exits.

    A held service (``coved --hold-fd``) is first started loaded but waiting; it is neither
    restarted nor released before ``release()``, so nothing uses the data root before it
    is mounted. Its restarts after that are plain starts."""

    def __init__(self, name: str, argv: list[str], held: bool = False) -> None:
        self.name = name
        self.argv = argv
        self.pid = 0
        self.restarts = 0
        self.restart_at = 0.0
        self.held = held
        self.hold: socket.socket | None = None

    def start(self) -> None:
        argv = self.argv
        theirs: socket.socket | None = None
        if self.held and self.restarts == 0:
            self.hold, theirs = socket.socketpair()
            argv = [*argv, "--hold-fd", str(theirs.fileno())]
        with open(f"{LOG_DIR}/{self.name}.log", "ab") as log:
            child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                     env=ENV, cwd="/", preexec_fn=unblock_signals,
                                     pass_fds=(theirs.fileno(),) if theirs else ())
        if theirs is not None:
            theirs.close()
        self.pid = child.pid

    def loaded(self, timeout: float) -> bool:
        """Waits until a held service says its code is loaded (False: it died, or slow)."""
        if self.hold is None:
            return False
        self.hold.settimeout(timeout)
        try:
            return self.hold.recv(1) == b"L"
        except OSError:
            return False

    def release(self, flags: list[str] | None = None) -> None:
        """Lets a held service go on, with ``flags`` added to its command line (they are
        kept for its restarts too)."""
        self.held = False
        self.argv = [*self.argv, *(flags or [])]
        if self.hold is not None:
            with self.hold:
                try:
                    self.hold.sendall(b"G" + json.dumps(flags or []).encode())
                except OSError:
                    pass  # it died while held: the supervisor starts it plainly
            self.hold = None

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
            if (not self.stopping and service.pid == 0 and not service.held
                    and now >= service.restart_at):
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


def install_ssh_keys() -> bool:
    """Keys and hostname from the seed disk; False when there is no SSH to start."""
    device = filesystems.disk_by_serial(seed.SERIAL)
    if device is None:
        stage("no seed disk: no sshd")
        return False
    found = seed.read_seed(device)
    for name in found.refused:
        stage(f"seed: refused {name!r} (expected {', '.join(sorted(seed.MEMBERS))})")
    hostname = found.text("hostname")
    if hostname:
        socket.sethostname(hostname)
    missing = {"authorized_keys", "ssh_host_ed25519_key"} - found.files.keys()
    if missing:
        stage(f"seed: no {', '.join(sorted(missing))}: no sshd")
        return False
    sshd.install_keys(found)
    return True


def start_sshd(supervisor: Supervisor) -> None:
    """After the go: dropbear draws its randomness from the reseeded kernel."""
    service = Service("dropbear", sshd.command())
    supervisor.services.append(service)
    service.start()
    if not supervisor.wait_until(lambda: network.listening(sshd.PORT), 10.0):
        stage("sshd not listening after 10s")
        return
    stage(f"sshd on port {sshd.PORT}")


def wait_for_host() -> protocol.Go | None:
    """The hold point: the host saves the VM's state here, or restores it to here."""
    port = control.find_port()
    if port is None:
        stage("no control port: not waiting for the host")
        return None
    stage("ready for the host")
    go = control.wait_for_go(port)
    control.reseed(go.entropy)
    control.set_clock(go.host_ns)
    stage("go from the host: clock set, RNG reseeded")
    return go


def engine_flags(go: protocol.Go | None) -> list[str]:
    """What the host's go adds to coved's command line: its registry mirrors."""
    flags: list[str] = []
    for mirror in go.registry_mirrors if go else ():
        flags += ["--registry-mirror", mirror]
    return flags


def mount_shares(go: protocol.Go | None) -> None:
    """The host's shared folders at their own paths, before the engine starts (a container
    restarted with the engine finds its bind mounts there). One that fails is said on the
    console and left out: the engine still starts."""
    report = []
    # a folder before the folders inside it, which it would otherwise hide
    for share in sorted(go.shares if go else (), key=lambda s: s.path.rstrip("/").count("/")):
        mounted, text = filesystems.mount_share(share.tag, share.path, share.readonly)
        stage(text)
        report.append({"path": share.path, "mounted": mounted, "note": text})
    with open(protocol.SHARES_REPORT, "w") as f:
        json.dump(report, f)


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
    supervisor = Supervisor([])
    # loading coved takes longest: it starts first, held until the data disk is mounted
    coved = Service("coved", [sys.executable, "-m", "cove.runtime.daemon",
                              "--data-root", filesystems.DATA_ROOT, "-H", f"unix://{SOCKET}",
                              "--pidfile", f"{LOG_DIR}/coved.pid"], held=True)
    supervisor.services.append(coved)
    coved.start()
    stage(f"network: {network.bring_up(options.get('cove.net', 'static'))}")
    # the host's SSH channels land on the agent: the engine bridge on loopback 2375
    # (dropbear forwards no Unix sockets) and the clock/status requests on 2376
    agent = Service("agent", [sys.executable, "-m", "cove.guest_agent.agent"])
    supervisor.services.append(agent)
    agent.start()
    ssh = install_ssh_keys()
    if not supervisor.wait_until(lambda: network.listening(protocol.AGENT_PORT), 60.0):
        stage("agent not listening after 60s")
    stage("agent")
    stage("engine loaded" if coved.loaded(60.0) else "engine did not load: starting it plainly")
    go = wait_for_host()
    mount_shares(go)
    stage(filesystems.mount_data(filesystems.disk_by_serial("cove-data")))
    coved.release(engine_flags(go))
    if ssh:
        start_sshd(supervisor)
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
