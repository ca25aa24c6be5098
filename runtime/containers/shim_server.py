"""The shim's event loop: container stdio, the control pipe and ``shim.sock`` clients.

One epoll loop, no threads, so the shim stays small and its ordering is exact:
output is logged and framed to attach clients before they are closed, and the exit
record is written before any waiter is answered.

shim.sock, one JSON request line per connection:
  {"op":"attach","stdin":b,"stdout":b,"stderr":b}  then frames
      <stream byte><u32 big-endian length><data>; client bytes go to the container's
      stdin; the shim closes the connection once the container's output has ended.
  {"op":"resize","height":h,"width":w}  -> {}
  {"op":"wait"}                         -> {"exit_code":N,"oom_killed":b,"finished_at":".."}
  {"op":"state"}                        -> {"pid":N,"running":b}
"""

from __future__ import annotations

import errno
import os
import select
import time

from cove.runtime.containers import shim_json as json
from cove.runtime.containers.shim_io import STDOUT, JsonFileLog, frame
from cove.runtime.containers.shim_socket import Socket, accept
from cove.runtime.linux import tty

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing/collections cost startup time the shim cannot spare
    from collections.abc import Callable
    from typing import Any

READ = select.EPOLLIN
WRITE = select.EPOLLOUT
CHUNK = 65536
CLIENT_BUFFER_LIMIT = 1 << 20  # stop reading the container while a client lags this much
MAX_REQUEST = 65536
SAVE_RETRY_FIRST, SAVE_RETRY_MAX = 0.25, 10.0  # backoff while the exit record cannot be saved


class Client:
    __slots__ = ("sock", "fd", "inbuf", "op", "outbuf", "reading", "closing", "streams",
                 "stdin")

    def __init__(self, sock: Socket) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.inbuf = b""
        self.op: str | None = None
        self.outbuf = bytearray()
        self.reading = True
        self.closing = False
        self.streams: set[int] = set()
        self.stdin = False


class ShimServer:
    def __init__(self, *, pid: int, channel: Socket, listener: Socket,
                 outputs: dict[int, int], stdin_fd: int | None, tty: bool, stdin_once: bool,
                 log: JsonFileLog, say: Callable[[dict[str, Any]], None],
                 on_exit: Callable[[int], dict[str, Any]], socket_path: str,
                 save_exit: Callable[[], bool] | None = None) -> None:
        self.pid = pid
        self.pidfd: int | None = os.pidfd_open(pid)
        self.channel: Socket | None = channel
        self.channel_buf = b""
        self.listener = listener
        self.listening = True
        self.socket_path = socket_path
        self.outputs = dict(outputs)
        self.stdin_fd = stdin_fd
        self.stdin_buf = bytearray()
        self.stdin_close_pending = False
        self.tty = tty
        self.stdin_once = stdin_once
        self.log = log
        self.say = say
        self.on_exit = on_exit
        self.save_exit = save_exit
        self.exit_saved = save_exit is None
        self.save_retry_at = 0.0
        self.save_delay = SAVE_RETRY_FIRST
        self.control_open = True
        self.control_buf = b""
        self.released = False
        self.exit_status: int | None = None
        self.exit_record: dict[str, Any] | None = None
        self.drain_deadline = 0.0
        self.grace_deadline = 0.0
        self.clients: dict[int, Client] = {}
        self.waiters: list[Client] = []
        self.epoll = select.epoll()
        self.registered: dict[int, int] = {}
        for fd in self.outputs:
            os.set_blocking(fd, False)
        if stdin_fd is not None:
            os.set_blocking(stdin_fd, False)
        listener.setblocking(False)

    # -- the loop ---------------------------------------------------------------------
    def serve(self, drain_seconds: float, grace_seconds: float) -> None:
        while True:
            now = time.monotonic()
            if self.exit_status is not None and self.exit_record is None:
                exec_settled = not self.released or self.channel is None
                if exec_settled and (not self.outputs or now >= self.drain_deadline):
                    self._finalize(now + grace_seconds)
            if (self.exit_record is not None and (not self.clients or now >= self.grace_deadline)
                    and self._exit_saved(now)):
                if not self.listening:
                    break
                self._stop_listening()
                if self.clients:  # late connections: answer them before going away
                    self.grace_deadline = max(self.grace_deadline, now + 1.0)
                continue
            if self.exit_status is not None and not self.drain_deadline:
                self.drain_deadline = now + drain_seconds
            self._sync()
            deadline = self.grace_deadline if self.exit_record else self.drain_deadline
            if self.exit_record is not None and not self.exit_saved:
                deadline = max(deadline, self.save_retry_at)
            timeout = max(0.0, deadline - now) if deadline else -1
            for fd, events in self.epoll.poll(timeout):
                self._dispatch(fd, events)
        for client in list(self.clients.values()):
            self._drop(client)
        self.epoll.close()

    def _exit_saved(self, now: float) -> bool:
        """Whether the exit record is on disk; until it is, the shim stays (answering
        ``wait`` from memory) and tries again with a growing delay (a full disk)."""
        if self.exit_saved or now < self.save_retry_at:
            return self.exit_saved
        assert self.save_exit is not None
        self.exit_saved = self.save_exit()
        if not self.exit_saved:
            self.save_retry_at = now + self.save_delay
            self.save_delay = min(self.save_delay * 2, SAVE_RETRY_MAX)
        return self.exit_saved

    def _want(self) -> dict[int, int]:
        want: dict[int, int] = {}

        def add(fd: int, events: int) -> None:
            want[fd] = want.get(fd, 0) | events

        if self.control_open:
            add(0, READ)
        if self.channel is not None and self.released:
            add(self.channel.fileno(), READ)
        if self.pidfd is not None:
            add(self.pidfd, READ)
        if self.listening:
            add(self.listener.fileno(), READ)
        lagging = any(len(c.outbuf) > CLIENT_BUFFER_LIMIT for c in self.clients.values())
        if not lagging:
            for fd in self.outputs:
                add(fd, READ)
        if self.stdin_fd is not None and (self.stdin_buf or self.stdin_close_pending):
            add(self.stdin_fd, WRITE)
        for client in self.clients.values():
            events = (READ if client.reading else 0) | (WRITE if client.outbuf else 0)
            if events:
                add(client.fd, events)
        return want

    def _sync(self) -> None:
        want = self._want()
        for fd in [fd for fd in self.registered if fd not in want]:
            self._unregister(fd)
        for fd, events in want.items():
            if fd not in self.registered:
                self.epoll.register(fd, events)
            elif self.registered[fd] != events:
                self.epoll.modify(fd, events)
            self.registered[fd] = events

    def _unregister(self, fd: int) -> None:
        if self.registered.pop(fd, None) is not None:
            try:
                self.epoll.unregister(fd)
            except OSError:
                pass

    def _close(self, fd: int) -> None:
        self._unregister(fd)
        os.close(fd)

    def _dispatch(self, fd: int, events: int) -> None:
        readable = events & (READ | select.EPOLLHUP | select.EPOLLERR)
        if fd == 0 and self.control_open:
            self._on_control()
        elif self.channel is not None and fd == self.channel.fileno():
            self._on_channel()
        elif fd == self.pidfd:
            self._on_exit()
        elif self.listening and fd == self.listener.fileno():
            self._on_accept()
        elif fd in self.clients:
            client = self.clients[fd]
            if readable and client.reading:
                self._on_client_read(client)
            if fd in self.clients and client.outbuf and events & (WRITE | select.EPOLLERR):
                self._flush_client(client)
        else:
            if fd in self.outputs and readable:
                self._on_output(fd)
            if fd == self.stdin_fd and events & (WRITE | select.EPOLLERR):
                self._on_stdin_writable()

    # -- daemon control: "go" and the exec result -------------------------------------
    def _on_control(self) -> None:
        try:
            data = os.read(0, 4096)
        except OSError:
            data = b""
        self.control_buf += data
        if b"go\n" in self.control_buf and not self.released:
            self.released = True
            self._stop_control()
            self._settle_pending_clients()
            assert self.channel is not None
            try:
                self.channel.sendall(b"G")
            except OSError:
                pass  # init died; the pidfd will tell
        elif not data:
            self._stop_control()
            os.kill(self.pid, 9)  # SIGKILL  # the daemon gave up before "go"
            self._end_control()

    def _stop_control(self) -> None:
        self._unregister(0)
        self.control_open = False

    def _end_control(self) -> None:
        """Detach from the daemon: no more control pipe, no cwd pinning the bundle."""
        null = os.open("/dev/null", os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.close(null)
        os.chdir("/")

    def _on_channel(self) -> None:
        assert self.channel is not None
        try:
            data = self.channel.recv(CHUNK)
        except OSError:
            data = b""
        if data:
            self.channel_buf += data
            return
        self._unregister(self.channel.fileno())
        self.channel.close()
        self.channel = None
        line = self.channel_buf.split(b"\n", 1)[0]
        message = json.loads(line) if line.strip() else {}
        if "error" in message:
            self.say({"error": message["error"], "exit_code": message.get("exit_code", 126)})
        else:
            self.say({"started": True})
        self._end_control()

    # -- the container ----------------------------------------------------------------
    def _on_exit(self) -> None:
        assert self.pidfd is not None
        try:
            _pid, status = os.waitpid(self.pid, 0)
        except ChildProcessError:
            status = 255 << 8
        self._close(self.pidfd)
        self.pidfd = None
        self.exit_status = status

    def _on_output(self, fd: int) -> None:
        stream = self.outputs[fd]
        try:
            data = os.read(fd, CHUNK)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno != errno.EIO:  # EIO: the pty's last slave is closed
                raise
            data = b""
        if not data:
            self._output_ended(fd, stream)
            return
        self.log.write(stream, data)
        for client in self.clients.values():
            if client.op == "attach" and stream in client.streams and not client.closing:
                client.outbuf += frame(stream, data)

    def _output_ended(self, fd: int, stream: int) -> None:
        self.log.flush(stream)
        del self.outputs[fd]
        if fd == self.stdin_fd:
            self.stdin_fd = None
        self._close(fd)
        if not self.outputs:
            for client in list(self.clients.values()):
                if client.op == "attach":
                    self._close_after_flush(client)

    def _on_stdin_writable(self) -> None:
        assert self.stdin_fd is not None
        try:
            if self.stdin_buf:
                written = os.write(self.stdin_fd, self.stdin_buf)
                del self.stdin_buf[:written]
        except BlockingIOError:
            return
        except OSError:
            self.stdin_buf.clear()
            self.stdin_close_pending = not self.tty
        if not self.stdin_buf and self.stdin_close_pending:
            self._close_stdin()

    def _close_stdin(self) -> None:
        self.stdin_close_pending = False
        if self.stdin_fd is not None and self.stdin_fd not in self.outputs:
            self._close(self.stdin_fd)
            self.stdin_fd = None

    def _finalize(self, grace_deadline: float) -> None:
        for fd in list(self.outputs):
            self._output_ended(fd, self.outputs[fd])
        if self.stdin_fd is not None:
            self._close(self.stdin_fd)
            self.stdin_fd = None
        if self.channel is not None:
            self._unregister(self.channel.fileno())
            self.channel.close()
            self.channel = None
        self.log.close()
        assert self.exit_status is not None
        self.exit_record = self.on_exit(self.exit_status)
        reply = (json.dumps(self.exit_record) + "\n").encode()
        for client in self.waiters:
            self._reply(client, reply)
        self.waiters.clear()
        self.grace_deadline = grace_deadline

    # -- shim.sock clients ------------------------------------------------------------
    def _on_accept(self) -> bool:
        try:
            sock = accept(self.listener)
        except (BlockingIOError, InterruptedError):
            return False
        sock.setblocking(False)
        client = Client(sock)
        self.clients[client.fd] = client
        return True

    def _settle_pending_clients(self) -> None:
        """Accept and read every request already sent, so an attach made before "go"
        (the daemon attaches, then starts) is in place before the first output byte."""
        while self._on_accept():
            pass
        for client in list(self.clients.values()):
            if client.op is None and client.fd in self.clients:
                self._on_client_read(client)

    def _stop_listening(self) -> None:
        """Unlink shim.sock, then serve whoever was already queued in the backlog."""
        try:
            os.unlink(self.socket_path)
        except FileNotFoundError:
            pass
        while self._on_accept():
            pass
        self._unregister(self.listener.fileno())
        self.listener.close()
        self.listening = False

    def _drop(self, client: Client) -> None:
        self._unregister(client.fd)
        self.clients.pop(client.fd, None)
        if client in self.waiters:
            self.waiters.remove(client)
        client.sock.close()

    def _close_after_flush(self, client: Client) -> None:
        client.closing = True
        client.reading = False
        if not client.outbuf:
            self._drop(client)

    def _reply(self, client: Client, data: bytes) -> None:
        client.outbuf += data
        self._close_after_flush(client)

    def _flush_client(self, client: Client) -> None:
        try:
            sent = client.sock.send(client.outbuf)
            del client.outbuf[:sent]
        except BlockingIOError:
            return
        except OSError:
            self._drop(client)
            return
        if client.closing and not client.outbuf:
            self._drop(client)

    def _on_client_read(self, client: Client) -> None:
        try:
            data = client.sock.recv(CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if client.op is None:
            client.inbuf += data
            if b"\n" not in client.inbuf:
                if not data or len(client.inbuf) > MAX_REQUEST:
                    self._drop(client)
                return
            line, rest = client.inbuf.split(b"\n", 1)
            client.inbuf = b""
            self._on_request(client, line)
            if rest and client.op == "attach":
                self._client_input(client, rest)
            return
        if data:
            self._client_input(client, data)
            return
        client.reading = False  # half-close: the client sent all it will send
        if client.op == "attach" and client.stdin and self.stdin_once and not self.tty:
            self.stdin_close_pending = True
            if not self.stdin_buf:
                self._close_stdin()

    def _client_input(self, client: Client, data: bytes) -> None:
        if client.op == "attach" and client.stdin and self.stdin_fd is not None:
            self.stdin_buf += data

    def _on_request(self, client: Client, line: bytes) -> None:
        try:
            request = json.loads(line)
            op = request.get("op")
        except (ValueError, AttributeError, UnicodeDecodeError):
            self._reply(client, b'{"error":"bad request"}\n')
            return
        client.op = op
        if op == "attach":
            client.stdin = bool(request.get("stdin")) and self.stdin_fd is not None
            if request.get("stdout"):
                client.streams.add(STDOUT)
            if request.get("stderr") and not self.tty:
                client.streams.add(2)
            if not self.outputs:
                self._close_after_flush(client)
            elif not client.stdin:
                client.reading = True  # still read, to notice the client going away
        elif op == "wait":
            client.reading = False
            if self.exit_record is not None:
                self._reply(client, (json.dumps(self.exit_record) + "\n").encode())
            else:
                self.waiters.append(client)
        elif op == "state":
            running = self.exit_status is None
            self._reply(client, (json.dumps({"pid": self.pid, "running": running}) + "\n")
                        .encode())
        elif op == "resize":
            self._resize(int(request.get("height") or 0), int(request.get("width") or 0))
            self._reply(client, b"{}\n")
        else:
            self._reply(client, (json.dumps({"error": f"unknown op: {op}"}) + "\n").encode())

    def _resize(self, height: int, width: int) -> None:
        if not self.tty or not height or not width:
            return
        for fd in self.outputs:
            try:
                tty.set_window_size(fd, height, width)
            except OSError:
                pass
