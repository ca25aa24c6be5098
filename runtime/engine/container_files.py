"""A container's filesystem from outside: ``docker cp`` (archive), export, diff and commit.

A running container is seen through ``/proc/<pid>/root``: its own mount namespace, so
bind mounts and tmpfs inside it look as they do to its processes. A stopped one is seen
through a temporary overlay mount of its image layers and its upper dir, always
unmounted afterwards: read-only (the upper dir as the top lower layer) for reads,
read-write (holding the container's start lock) for ``PUT``. Tars are made and unpacked
by a helper chrooted into that root (``container_archive``), so links the container
made cannot point the daemon at host files.
"""

from __future__ import annotations

import os
import select
import shutil
import stat as stat_module
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any, BinaryIO

from cove.common.paths import resolve_in_root
from cove.runtime import errors
from cove.runtime.containers.shim_launch import module_command
from cove.runtime.engine import container_archive
from cove.runtime.engine.container_changes import upper_changes
from cove.runtime.engine.container_commit import commit_container, paused_for_commit
from cove.runtime.linux.overlay import mount_overlay
from cove.runtime.linux.rootfs import mount_spec_mounts, virtual_mount_points
from cove.runtime.linux.syscalls import MNT_DETACH, kernel

_HELPER = container_archive.__name__
_COPY = 1 << 20
_CLIENT_CHECK_MS = 250  # how often a silent helper's client is looked at


def _preserve_trailing(cleaned: str, original: str) -> str:
    """archive.PreserveTrailingDotOrSeparator: ``/a/.`` and ``/a/`` keep their meaning."""
    if os.path.basename(cleaned) != "." and (original == "." or original.endswith("/.")):
        cleaned = (cleaned if cleaned.endswith("/") else cleaned + "/") + "."
    if not cleaned.endswith("/") and original.endswith("/"):
        cleaned += "/"
    return cleaned


def _go_base(path: str) -> str:
    """Go's filepath.Base: trailing slashes dropped, "/" for a path of slashes."""
    stripped = path.rstrip("/")
    if not stripped:
        return "/" if path else "."
    return stripped.rsplit("/", 1)[-1]


def container_path(root: str, host_path: str) -> str:
    """A host path under ``root`` as the container names it."""
    inside = os.path.normpath(host_path)[len(root.rstrip("/")):]
    return os.path.normpath("/" + inside.lstrip("/"))


class PathInfo:
    """A path resolved in a container root, and what ``GET archive`` names it."""

    def __init__(self, root: str, path: str) -> None:
        self.abs_path = _preserve_trailing(os.path.normpath("/" + path), path)
        directory, _, base = self.abs_path.rpartition("/")
        resolved_dir = resolve_in_root(root, directory or "/")
        self.host_path = resolved_dir + ("/" + base if base else "")
        self.root = root
        self.st = os.lstat(self.host_path)
        if not base and directory and not os.path.isdir(self.host_path):
            raise NotADirectoryError(self.abs_path)  # "file/": a directory was asked for
        self.container_path = container_path(root, self.host_path)

    def stat(self) -> dict[str, Any]:
        link = ""
        if stat_module.S_ISLNK(self.st.st_mode):
            target = resolve_in_root(self.root, self.container_path)
            link = container_path(self.root, target)
        return {"name": _go_base(self.abs_path), "size": self.st.st_size,
                "mode": container_archive.go_file_mode(self.st.st_mode),
                "mtime": container_archive.rfc3339_nano(self.st.st_mtime_ns),
                "linkTarget": link}

    def tar_source(self) -> tuple[str, str, str]:
        """(dir, base, rebase) for the helper, as dockerd's TarResourceRebaseOpts."""
        if self.container_path == "/":
            return "/", ".", _go_base(self.abs_path)
        directory, base = os.path.split(self.container_path)
        return directory, base, _go_base(self.abs_path)


class ArchiveStream:
    """A path's tar, ready to send: ``stat`` first (for the header), then ``write_to``."""

    def __init__(self, stat: dict[str, Any], view: Any, argv: list[str]) -> None:
        self.stat = stat
        self._view = view
        self._argv = argv

    def write_to(self, out: Any, client_gone: Callable[[], bool]) -> None:
        """Stream the helper's tar to ``out``; its failure, ``out``'s or the client's leaving
        (``BrokenPipeError``, also seen while the helper is silent: a slow read) raises, and
        the helper is always gone when this returns."""
        try:
            proc = subprocess.Popen(self._argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    stdin=subprocess.DEVNULL)
            with proc:  # closes the pipes and reaps the helper
                assert proc.stdout is not None and proc.stderr is not None
                poller = select.poll()
                poller.register(proc.stdout, select.POLLIN)
                try:
                    while True:
                        if not poller.poll(_CLIENT_CHECK_MS):
                            if client_gone():
                                raise BrokenPipeError("the client hung up")
                            continue
                        chunk = proc.stdout.read1(_COPY)  # type: ignore[attr-defined]
                        if not chunk:
                            break
                        out.write(chunk)
                except BaseException:
                    proc.kill()  # else it blocks on a pipe nobody reads
                    raise
                err = proc.stderr.read()
            if proc.returncode:
                raise errors.SystemError_(err.decode(errors="replace").strip() or "tar failed")
        finally:
            self.close()

    def close(self) -> None:
        view, self._view = self._view, None
        if view is not None:
            view.__exit__(None, None, None)


class ContainerFilesService:
    """Backs /containers/{id}/archive, /export, /changes and POST /commit."""

    def __init__(self, engine: Any) -> None:
        self.containers = engine.containers
        self.images = engine.images
        self.layout = engine.layout
        self.events = engine.events

    # -- views of a container's root ------------------------------------------------
    @contextmanager
    def _root(self, container: Any, writable: bool, live: bool = True) -> Iterator[str]:
        """The container's root: its live namespace view when it runs (and ``live``), else
        a temporary overlay mount."""
        pid = container.state.get("Pid") if container.running else 0
        if live and pid and os.path.exists(f"/proc/{pid}/root"):
            yield f"/proc/{pid}/root"
            return
        # a stopped container's copies see its volumes as a run would; an export never does
        # (dockerd exports the container's layers only)
        binds = self._user_binds(container, writable) if live and not container.running else []
        if writable or binds:  # mounting the user's binds may need mount points made
            with container.op_lock:
                with self._overlay(container, writable=True, binds=binds) as root:
                    yield root
            return
        with self._overlay(container, writable=False) as root:
            yield root

    def _user_binds(self, container: Any, writable: bool) -> list[dict[str, Any]]:
        """The container's volumes and binds as it will mount them (they exist from create
        on, as dockerd's do), read-only in a view that is only read."""
        points = self.containers.mount_points(container) or []
        binds = [point for point in points
                 if point.type in ("bind", "volume") and os.path.exists(point.source)]
        binds.sort(key=lambda point: point.destination.count("/"))
        return [{"type": "bind", "source": point.source, "destination": point.destination,
                 "readonly": not (point.rw and writable), "recursive": point.recursive}
                for point in binds]

    @contextmanager
    def _overlay(self, container: Any, writable: bool,
                 binds: list[dict[str, Any]] | None = None) -> Iterator[str]:
        cid = container.id
        lower = self.images.lower_dirs(container.data["Image"])
        upper = str(self.layout.container_upper(cid))
        scratch = tempfile.mkdtemp(prefix="container-fs-", dir=self.layout.tmp_dir)
        mountpoint = os.path.join(scratch, "root")
        os.mkdir(mountpoint)
        try:
            if writable:
                mount_overlay(kernel(), lower, mountpoint, scratch, upper,
                              str(self.layout.container_work(cid)))
            else:  # the upper dir as the top lower layer: its whiteouts still hide files
                mount_overlay(kernel(), [upper, *lower], mountpoint, scratch)
        except OSError as exc:
            shutil.rmtree(scratch, ignore_errors=True)
            raise errors.SystemError_(f"mount container filesystem: {exc}") from exc
        try:
            if binds:
                try:
                    mount_spec_mounts(kernel(), mountpoint, binds)
                except OSError as exc:
                    raise errors.SystemError_(f"mount container volumes: {exc}") from exc
            yield mountpoint
        finally:
            try:  # a lazy unmount takes the volumes mounted under it along
                kernel().umount2(mountpoint, MNT_DETACH)
            except OSError:
                pass
            shutil.rmtree(scratch, ignore_errors=True)

    def _resolve(self, root: str, path: str, ref: str) -> PathInfo:
        try:
            return PathInfo(root, path)
        except FileNotFoundError as exc:
            raise errors.NotFound(f"Could not find the file {path} in container {ref}") from exc
        except NotADirectoryError as exc:
            if path.endswith("/"):  # dockerd's answer when a file is named as a directory
                raise errors.SystemError_(f"lstat {path}: not a directory") from exc
            raise errors.NotFound(f"Could not find the file {path} in container {ref}") from exc
        except OSError as exc:
            raise errors.SystemError_(f"stat {path}: {exc.strerror}") from exc

    @staticmethod
    def _check_path(path: str | None) -> str:
        if not path:
            raise errors.InvalidParameter("bad parameter: pathcannot be empty")
        return path

    # -- archive ----------------------------------------------------------------------
    def stat_path(self, ref: str, path: str | None) -> dict[str, Any]:
        """``HEAD /containers/{id}/archive``."""
        path = self._check_path(path)
        container = self.containers.get(ref)
        with self._root(container, writable=False) as root:
            return self._resolve(root, path, ref).stat()

    def archive(self, ref: str, path: str | None) -> ArchiveStream:
        """``GET /containers/{id}/archive``: the stat now, the tar when written. A missing
        path fails here, before any byte is sent."""
        path = self._check_path(path)
        container = self.containers.get(ref)
        view = self._root(container, writable=False)
        root = view.__enter__()
        try:
            info = self._resolve(root, path, ref)
            source_dir, source_base, rebase = info.tar_source()
            argv = module_command(_HELPER, "tar", root, source_dir, source_base, rebase,
                                  *self._mount_points_left_empty(container, root))
            return ArchiveStream(info.stat(), view, argv)
        except BaseException:
            view.__exit__(None, None, None)
            raise

    @staticmethod
    def _mount_points_left_empty(container: Any, root: str) -> list[str]:
        """In a running container's live view, where proc, sysfs, devpts... are mounted, and
        the /dev the engine mounts (device nodes, which a user's ``docker cp`` could not
        make): archived as empty directories, as dockerd copies them from the image."""
        pid = container.state.get("Pid")
        if not pid or root != f"/proc/{pid}/root":
            return []
        points = set(virtual_mount_points(pid))
        if os.path.ismount(root + "/dev"):
            points.add("/dev")
        return sorted(points)

    def export(self, ref: str) -> ArchiveStream:
        """``GET /containers/{id}/export``: the merged filesystem, without what is mounted
        into the running container (dockerd's export of the container's layer)."""
        container = self.containers.get(ref)
        view = self._root(container, writable=False, live=False)
        root = view.__enter__()
        argv = module_command(_HELPER, "tar", root, "/", "/", ".")
        return ArchiveStream({}, view, argv)

    def extract(self, ref: str, path: str | None, body: BinaryIO | IO[bytes],
                no_overwrite_dir_non_dir: bool, copy_uid_gid: bool) -> None:
        """``PUT /containers/{id}/archive``: unpack a tar into the directory ``path``."""
        path = self._check_path(path)
        container = self.containers.get(ref)
        with self._root(container, writable=True) as root:
            abs_path = _preserve_trailing(os.path.normpath("/" + path), path)
            try:
                host = resolve_in_root(root, abs_path)
                st = os.stat(host)
            except (FileNotFoundError, NotADirectoryError) as exc:
                raise errors.NotFound(
                    f"Could not find the file {path} in container {ref}") from exc
            if not stat_module.S_ISDIR(st.st_mode):
                raise errors.SystemError_("extraction point is not a directory")
            if container.host_config.get("ReadonlyRootfs"):
                raise errors.SystemError_("container rootfs is marked read-only")
            dest = container_path(root, host)
            argv = module_command(_HELPER, "untar", root, dest,
                                  "1" if no_overwrite_dir_non_dir else "0")
            owner = _container_owner(container) if copy_uid_gid else None
            if owner is not None:
                argv += [str(owner[0]), str(owner[1])]
            _feed(argv, body)

    # -- changes, commit --------------------------------------------------------------
    def changes(self, ref: str) -> list[dict[str, Any]] | None:
        """``GET /containers/{id}/changes``: null when nothing changed, as dockerd."""
        container = self.containers.get(ref)
        found = upper_changes(str(self.layout.container_upper(container.id)),
                              self.images.lower_dirs(container.data["Image"]))
        return found or None

    def commit(self, ref: str, repo: str | None, tag: str | None, comment: str | None,
               author: str | None, pause: bool, changes: list[str],
               overrides: dict[str, Any] | None) -> dict[str, str]:
        """``POST /commit``: the container's upper dir as a layer on its image."""
        container = self.containers.get(ref)
        with paused_for_commit(self.containers, container, self.layout, pause):
            image_id = commit_container(self.images.store, container, self.layout,
                                        comment or "", author or "", changes, overrides or {})
        image_ref = ""
        if repo:
            from cove.runtime.images.reference import parse

            self.images.tag(image_id, repo, tag or None)
            target = parse(repo)
            image_ref = str(target.with_tag(tag) if tag else target.with_default_tag())
        self.containers.publish(container, "commit", {
            "comment": comment or "", "imageID": image_id, "imageRef": image_ref})
        return {"Id": image_id}


def _container_owner(container: Any) -> tuple[int, int] | None:
    """``copyUIDGID``: the container's user when given as numbers; names are looked up
    nowhere (that would read the container's NSS), so the tar's owners stay."""
    user = str(container.config.get("User") or "")
    uid, _, gid = user.partition(":")
    if uid.isdigit() and (not gid or gid.isdigit()):
        return int(uid), int(gid or uid)
    return None


def _feed(argv: list[str], body: BinaryIO | IO[bytes]) -> None:
    """Stream the request body into the chrooted helper; its error becomes ours."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=err)
        assert proc.stdin is not None
        try:
            while chunk := body.read(_COPY):
                proc.stdin.write(chunk)
        except BrokenPipeError:
            pass  # the helper failed early: its message says why
        finally:
            try:
                proc.stdin.close()
            except BrokenPipeError:
                pass
        code = proc.wait()
        drain = getattr(body, "drain", None)
        if drain is not None:
            drain()
        if code:
            err.seek(0)
            message = err.read().decode(errors="replace").strip() or "extraction failed"
            raise errors.SystemError_(message)

