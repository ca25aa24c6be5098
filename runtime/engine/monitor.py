"""Attach, logs and stats: what streams out of a container to a client (moby's attach and
monitor backends), behind one object the API's ``MonitorBackend`` describes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from cove.runtime.containers.record import Container
from cove.runtime.engine import attach as attach_streams
from cove.runtime.engine import stats as container_stats

if TYPE_CHECKING:
    from cove.runtime.engine.containers import ContainerService


class PreparedAttach:
    """A container checked for attaching while the client can still get an HTTP error;
    ``run`` relays once the connection is hijacked."""

    def __init__(self, containers: ContainerService, container: Container,
                 escape: bytes) -> None:
        self._containers = containers
        self._container = container
        self._escape = escape

    @property
    def tty(self) -> bool:
        return bool(self._container.tty)

    def run(self, reader: BinaryIO, send: Callable[[int, bytes], None],
            client_gone: Callable[[], bool], stdin: bool, stdout: bool, stderr: bool,
            logs: bool, stream: bool) -> None:
        """As dockerd's containerAttach: the logs so far when asked, the ``attach`` event,
        then the live streams only with ``stream`` (without it the answer ends here)."""
        if logs and (stdout or stderr):
            _, chunks = attach_streams.logs(
                self._containers, self._container.id, follow=False, stdout=stdout,
                stderr=stderr, since=None, until=None, timestamps=False, tail=None,
                client_gone=client_gone)
            for source, data in chunks:
                send(source, data)
        self._containers.publish(self._container, "attach")
        if stream:
            attach_streams.AttachSession(self._containers, self._container, reader, send,
                                         client_gone, stdin, stdout, stderr,
                                         self._escape).run()


class ContainerMonitor:
    def __init__(self, containers: ContainerService) -> None:
        self._containers = containers

    def attach(self, ref: str, detach_keys: str | None) -> PreparedAttach:
        """``detach_keys`` (docker's notation; the default when empty) end a TTY session."""
        escape = attach_streams.escape_sequence(detach_keys, "detach")
        return PreparedAttach(self._containers, attach_streams.attach(self._containers, ref),
                              escape)

    def logs(self, ref: str, *, follow: bool, stdout: bool, stderr: bool, since: str | None,
             until: str | None, timestamps: bool, tail: str | None,
             client_gone: Callable[[], bool]) -> tuple[bool, Iterator[tuple[int, bytes]]]:
        return attach_streams.logs(self._containers, ref, follow=follow, stdout=stdout,
                                   stderr=stderr, since=since, until=until,
                                   timestamps=timestamps, tail=tail, client_gone=client_gone)

    def stats(self, ref: str, stream: bool, one_shot: bool,
              client_gone: Callable[[], bool]) -> Iterator[dict[str, Any]]:
        container = self._containers.get(ref)
        return container_stats.stats(
            container, self._containers.cgroup(container), stream=stream, one_shot=one_shot,
            client_gone=client_gone,
            is_running=lambda: container.running and not container.removed)
