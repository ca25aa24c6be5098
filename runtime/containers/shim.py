"""The per-container supervisor ("shim", like conmon) that outlives the daemon.

Started by the daemon as ``python -I -S`` with the bundle dir (see shim_launch),
it forks the container init in a new PID namespace (or the host's, or another
container's), reports ``{"pid": N}`` on stdout, execs the init on ``go``, then owns
the container's stdio for its whole life: it writes the json-file log, serves
attach/resize/wait/state on ``<bundle>/shim.sock`` and records the exit in
``exit.json``. The protocol is written down in the runtime's README and in
``ShimServer``.
"""

from __future__ import annotations

import os

from cove.runtime.containers import shim_json, shim_socket
from cove.runtime.containers.shim_init import run_init
from cove.runtime.containers.shim_io import STDERR, STDOUT, JsonFileLog, report, rfc3339_nano
from cove.runtime.containers.shim_server import ShimServer
from cove.runtime.containers.spec import ContainerSpec
from cove.runtime.linux import namespaces
from cove.runtime.linux.oom import oom_kills
from cove.runtime.linux.syscalls import CLONE_NEWPID, kernel

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs the shim's start time
    from typing import Any

SPEC_FILE = "spec.json"
SOCKET_FILE = "shim.sock"
PID_FILE = "shim.pid"
DRAIN_SECONDS = 2.0
GRACE_SECONDS = 2.0
CONTROL_IN, CONTROL_OUT = 0, 1


def _say(message: dict[str, Any]) -> None:
    """One JSON line to the daemon; it may be gone already, which is fine."""
    try:
        os.write(CONTROL_OUT, (shim_json.dumps(message) + "\n").encode())
    except OSError:
        pass


def write_exit_file(path: str, record: dict[str, Any]) -> None:
    """Temp file, fsync, rename, as ``store.layout.atomic_write``.

    Not imported from there: that module pulls in tempfile (and random, hashlib...),
    which costs more than the rest of a ``run --rm`` exit path.
    """
    tmp = f"{path}.{os.getpid()}.tmp"
    data = shim_json.dumps(record).encode()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        try:
            if os.write(fd, data) != len(data):
                raise OSError(28, "No space left on device (short write)", tmp)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class Shim:
    """Start the init, then hand the loop to ``ShimServer`` until the container is gone."""

    def __init__(self, spec: ContainerSpec, bundle: str) -> None:
        self.spec = spec
        self.bundle = bundle
        self.proc = spec.process
        self.tty = spec.process.tty
        self.exit_record: dict[str, Any] | None = None
        self.exit_saved = False
        self.save_failures = 0
        self.exit_file = spec.exit_file or os.path.join(bundle, "exit.json")
        self.exit_dir_id = _dir_id(os.path.dirname(self.exit_file))

    def start_init(self) -> tuple[int, shim_socket.Socket, dict[int, int], int | None]:
        """Fork PID 1; returns (pid, channel, output fds by stream, container stdin fd)."""
        outputs: dict[int, int] = {}
        stdin_fd: int | None = None
        child_stdio: list[int] | None = None
        child_only: list[int] = []
        if not self.tty:
            out_r, out_w = os.pipe()
            err_r, err_w = os.pipe()
            if self.proc.open_stdin:
                in_r, stdin_fd = os.pipe()
            else:
                in_r = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
            child_stdio = [in_r, out_w, err_w]
            child_only = [in_r, out_w, err_w]
            outputs = {out_r: STDOUT, err_r: STDERR}
        parent, child = shim_socket.socketpair()
        pid_namespace = self.spec.namespaces.get("pid") or ""
        if not pid_namespace:
            kernel().unshare(CLONE_NEWPID)
        else:  # --pid host keeps ours; --pid container:X joins X's, for the init we fork
            namespaces.enter_shared(kernel(), self.spec.namespaces, ("pid",))
        pid = os.fork()
        if pid == 0:
            parent.close()
            run_init(self.spec, self.bundle, child, child_stdio)
            os._exit(125)
        child.close()
        for fd in child_only:
            os.close(fd)
        return pid, parent, outputs, stdin_fd

    def wait_ready(self, pid: int, channel: shim_socket.Socket) -> tuple[dict[str, Any], int | None]:
        """The init's first message (ready or error) and the pty master it sent, if any."""
        buffered = b""
        master: int | None = None
        while b"\n" not in buffered:
            data, fds = shim_socket.recv_with_fds(channel, 65536, 1)
            if fds:
                master = fds[0]
            if not data:
                _pid, status = os.waitpid(pid, 0)
                return {"error": "container init exited during setup (status "
                                 f"{os.waitstatus_to_exitcode(status)})",
                        "exit_code": 125}, master
            buffered += data
        return shim_json.loads(buffered.split(b"\n", 1)[0]), master

    def run(self) -> int:
        pid, channel, outputs, stdin_fd = self.start_init()
        message, master = self.wait_ready(pid, channel)
        if "error" in message:
            _say({"error": message["error"], "exit_code": message.get("exit_code", 125)})
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
            return 1
        if master is not None:
            os.set_blocking(master, False)
            outputs = {master: STDOUT}
            stdin_fd = master if self.proc.open_stdin else None
        sock_path = os.path.join(self.bundle, SOCKET_FILE)
        try:
            os.unlink(sock_path)
        except FileNotFoundError:
            pass
        listener = shim_socket.listen_unix(self.bundle, SOCKET_FILE)
        server = ShimServer(
            pid=pid, channel=channel, listener=listener, outputs=outputs, stdin_fd=stdin_fd,
            tty=self.tty, stdin_once=self.proc.stdin_once,
            log=JsonFileLog(self.spec.log.path or None, self.spec.log.max_size,
                            self.spec.log.max_files),
            say=_say, on_exit=self.finish, socket_path=sock_path, save_exit=self.save_exit)
        _say({"pid": pid})
        try:
            server.serve(DRAIN_SECONDS, GRACE_SECONDS)
        finally:
            try:
                os.unlink(sock_path)
            except FileNotFoundError:
                pass
        return 0

    def finish(self, status: int) -> dict[str, Any]:
        """Turn the wait status into the exit record, persist it, return it for waiters."""
        code = os.waitstatus_to_exitcode(status)
        events = self.spec.oom_events_file
        record = {"exit_code": code if code >= 0 else 128 - code,
                  "oom_killed": oom_kills(events) > 0 if events else False,
                  "finished_at": rfc3339_nano()}
        self.exit_record = record
        self.save_exit()
        return record

    def save_exit(self) -> bool:
        """Write the exit record; True once it is on disk, or when its directory is not
        the one this shim started in any more (the daemon collected the exit and removed
        the bundle, or a restart made a new one). A failure (a full disk) is said once;
        ``ShimServer`` calls again with backoff, the record in memory meanwhile."""
        if self.exit_saved or self.exit_record is None:
            return self.exit_saved
        exit_file = self.exit_file
        if _dir_id(os.path.dirname(exit_file)) != self.exit_dir_id:
            self.exit_saved = True  # nobody left to read it here
            return True
        try:
            write_exit_file(exit_file, self.exit_record)
        except OSError as exc:
            if not self.save_failures:
                report(f"writing {exit_file}: {exc}; retrying")
            self.save_failures += 1
        else:
            self.exit_saved = True
            if self.save_failures:
                report(f"wrote {exit_file} after {self.save_failures} failures")
        return self.exit_saved


def _dir_id(path: str) -> tuple[int, int] | None:
    """Which directory ``path`` is (device, inode); None when it is gone."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def main(bundle: str) -> int:
    with open(os.path.join(bundle, SPEC_FILE), "rb") as f:
        spec = ContainerSpec.from_json(shim_json.loads(f.read()))
    with open(os.path.join(bundle, PID_FILE), "w") as f:
        f.write(str(os.getpid()))
    try:
        return Shim(spec, bundle).run()
    except Exception as exc:
        _say({"error": f"shim: {exc}", "exit_code": 125})
        raise

