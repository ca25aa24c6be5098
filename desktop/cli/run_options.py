"""``run``/``create`` flags and their mapping onto the create request body (Config + HostConfig).

The mapping is a pure function of the parsed flags (and, for ``-e NAME``, the client's
environment), so it is tested without a daemon.
"""

from __future__ import annotations

import os

from .errors import StatusError, UsageError

TYPE_CHECKING = False  # ``typing`` costs milliseconds to import; type checkers know the name
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from .command import FlagParser, Namespace

RESTART_NAMES = ("no", "always", "on-failure", "unless-stopped")


def configure(parser: FlagParser, run: bool) -> None:
    add = parser.add_argument
    if run:
        add("-d", "--detach", action="store_true", help="Run container in background and print container ID")
        add("--sig-proxy", default="true", help="Proxy received signals to the process")
        add("--detach-keys", default=None, help="Override the key sequence for detaching a container")
    add("--rm", action="store_true", help="Automatically remove the container when it exits")
    add("-i", "--interactive", action="store_true", help="Keep STDIN open even if not attached")
    add("-t", "--tty", action="store_true", help="Allocate a pseudo-TTY")
    add("-a", "--attach", action="append", default=[], help="Attach to STDIN, STDOUT or STDERR")
    add("-e", "--env", action="append", default=[], help="Set environment variables")
    add("--env-file", action="append", default=[], help="Read in a file of environment variables")
    add("-l", "--label", action="append", default=[], help="Set meta data on a container")
    add("--label-file", action="append", default=[], help="Read in a line delimited file of labels")
    add("--name", default=None, help="Assign a name to the container")
    add("-w", "--workdir", default="", help="Working directory inside the container")
    add("-u", "--user", default="", help="Username or UID (format: <name|uid>[:<group|gid>])")
    add("--entrypoint", default=None, help="Overwrite the default ENTRYPOINT of the image")
    add("-h", "--hostname", default="", help="Container host name")
    add("--domainname", default="", help="Container NIS domain name")
    add("-m", "--memory", default=None, help="Memory limit")
    add("--memory-swap", default=None, help="Swap limit equal to memory plus swap: '-1' to enable unlimited swap")
    add("--cpus", default=None, help="Number of CPUs")
    add("-c", "--cpu-shares", type=int, default=0, help="CPU shares (relative weight)")
    add("--pids-limit", type=int, default=None, help="Tune container pids limit (set -1 for unlimited)")
    add("--restart", default="no", help="Restart policy to apply when a container exits")
    add("--read-only", action="store_true", help="Mount the container's root filesystem as read only")
    add("--init", action="store_true", help="Run an init inside the container")
    add("--privileged", action="store_true", help="Give extended privileges to this container")
    add("--stop-signal", default=None, help="Signal to stop the container")
    add("--stop-timeout", type=int, default=None, help="Timeout (in seconds) to stop a container")
    add("--cidfile", default=None, help="Write the container ID to the file")
    add("--platform", default=None, help="Set platform if server is multi-platform capable")
    add("--network", "--net", default=None, help="Connect a container to a network")
    add("--pull", default="missing", help='Pull image before running ("always", "missing", "never")')
    add("-q", "--quiet", action="store_true", help="Suppress the pull output")
    add("-p", "--publish", action="append", default=[], help="Publish a container's port(s) to the host")
    add("-v", "--volume", action="append", default=[], help="Bind mount a volume")
    add("--mount", action="append", default=[], help="Attach a filesystem mount to the container")
    add("--volumes-from", action="append", default=[], help="Mount volumes from the specified container(s)")
    add("--cap-add", action="append", default=[], help="Add Linux capabilities")
    add("--cap-drop", action="append", default=[], help="Drop Linux capabilities")
    add("--ulimit", action="append", default=[], help="Ulimit options")
    add("--tmpfs", action="append", default=[], help="Mount a tmpfs directory")
    add("--add-host", action="append", default=[], help="Add a custom host-to-IP mapping (host:ip)")
    add("--dns", action="append", default=[], help="Set custom DNS servers")


def _flag_error(value: str, flag: str, reason: str) -> UsageError:
    return UsageError(f'invalid argument "{value}" for "{flag}" flag: {reason}')


def read_kv_file(path: str, kind: str, environ: Mapping[str, str]) -> list[str]:
    """Lines of an env/label file: blanks and ``#`` comments skipped, ``NAME`` filled from env."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError as exc:
        raise StatusError(125, f"cove: open {path}: {exc.strerror.lower() if exc.strerror else exc}") from exc
    values = []
    for raw in lines:
        line = raw.lstrip()
        if not line or line.startswith("#"):
            continue
        if kind == "env":
            values.append(expand_env(line, environ))
        else:
            values.append(line)
    return values


def expand_env(entry: str, environ: Mapping[str, str]) -> str:
    """``-e NAME`` takes NAME's value from the client's environment when it is set."""
    if "=" in entry:
        return entry
    if entry in environ:
        return f"{entry}={environ[entry]}"
    return entry


def parse_restart(value: str) -> dict[str, Any]:
    """``on-failure:3`` -> {"Name": "on-failure", "MaximumRetryCount": 3}; names checked by the daemon."""
    name, _, count = value.partition(":")
    retries = 0
    if count:
        try:
            retries = int(count)
        except ValueError as exc:
            raise StatusError(125, "cove: invalid restart policy format: maximum retry count must be an integer") from exc
    return {"Name": name or "no", "MaximumRetryCount": retries}


def labels_map(entries: list[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for entry in entries:
        key, _, value = entry.partition("=")
        labels[key] = value
    return labels


def attach_streams(args: Namespace, run: bool) -> tuple[bool, bool, bool]:
    """(stdin, stdout, stderr) attachment, docker's defaults: all but stdin unless -i."""
    detached = getattr(args, "detach", False)
    chosen = {s.lower() for s in args.attach}
    for stream in chosen:
        if stream not in ("stdin", "stdout", "stderr"):
            raise UsageError(f'invalid argument "{stream}" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR')
    if chosen:
        return "stdin" in chosen, "stdout" in chosen, "stderr" in chosen
    if detached and run:
        return False, False, False
    return args.interactive, True, True


def build_create_body(args: Namespace, image: str, command: list[str], run: bool,
                      environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The ``POST /containers/create`` body docker's CLI would send for these flags."""
    env_source = os.environ if environ is None else environ
    if args.publish:
        raise StatusError(125, "cove: -p/--publish is not supported yet")
    if getattr(args, "detach", False) and args.attach:
        raise StatusError(125, "cove: conflicting options: cannot specify both --attach and --detach")
    restart = parse_restart(args.restart)
    if args.rm and restart["Name"] != "no":
        raise StatusError(125, "cove: conflicting options: cannot specify both --restart and --rm")

    env: list[str] = []
    for path in args.env_file:
        env.extend(read_kv_file(path, "env", env_source))
    env.extend(expand_env(e, env_source) for e in args.env)
    label_entries: list[str] = []
    for path in args.label_file:
        label_entries.extend(read_kv_file(path, "label", env_source))
    label_entries.extend(args.label)

    host_config: dict[str, Any] = {
        "AutoRemove": args.rm,
        "RestartPolicy": restart,
        "Privileged": args.privileged,
        "ReadonlyRootfs": args.read_only,
    }
    if args.memory is not None or args.memory_swap is not None or args.cpus is not None:
        from .units import parse_nano_cpus, ram_in_bytes  # datetime and re: only when needed
    if args.memory is not None:
        try:
            host_config["Memory"] = ram_in_bytes(args.memory)
        except ValueError as exc:
            raise _flag_error(args.memory, "-m, --memory", str(exc)) from exc
    if args.memory_swap is not None:
        try:
            host_config["MemorySwap"] = -1 if args.memory_swap == "-1" else ram_in_bytes(args.memory_swap)
        except ValueError as exc:
            raise _flag_error(args.memory_swap, "--memory-swap", str(exc)) from exc
    if args.cpus is not None:
        try:
            host_config["NanoCpus"] = parse_nano_cpus(args.cpus)
        except ValueError as exc:
            raise _flag_error(args.cpus, "--cpus", str(exc)) from exc
    if args.cpu_shares:
        host_config["CpuShares"] = args.cpu_shares
    if args.pids_limit is not None:
        host_config["PidsLimit"] = args.pids_limit
    if args.init:
        host_config["Init"] = True
    if args.network:
        host_config["NetworkMode"] = args.network
    if args.cap_add:
        host_config["CapAdd"] = args.cap_add
    if args.cap_drop:
        host_config["CapDrop"] = args.cap_drop
    if args.dns:
        host_config["Dns"] = args.dns
    if args.add_host:
        host_config["ExtraHosts"] = args.add_host
    if args.volumes_from:
        host_config["VolumesFrom"] = args.volumes_from
    volumes: dict[str, Any] = {}
    if args.volume or args.mount or args.tmpfs:
        from . import mount_options

        binds, volumes = mount_options.binds_and_volumes(args.volume)
        if binds:
            host_config["Binds"] = binds
        if args.mount:
            host_config["Mounts"] = [mount_options.parse_mount(value) for value in args.mount]
        if args.tmpfs:
            host_config["Tmpfs"] = mount_options.tmpfs_map(args.tmpfs)

    stdin, stdout, stderr = attach_streams(args, run)
    body: dict[str, Any] = {
        "Hostname": args.hostname,
        "Domainname": args.domainname,
        "User": args.user,
        "AttachStdin": stdin,
        "AttachStdout": stdout,
        "AttachStderr": stderr,
        "Tty": args.tty,
        "OpenStdin": args.interactive,
        "StdinOnce": bool(args.interactive and stdin),
        "Env": env,
        "Cmd": command or None,
        "Image": image,
        "WorkingDir": args.workdir,
        "Entrypoint": None,
        "Labels": labels_map(label_entries),
        "HostConfig": host_config,
    }
    if volumes:
        body["Volumes"] = volumes
    if args.entrypoint is not None:
        body["Entrypoint"] = [args.entrypoint] if args.entrypoint else [""]
    if args.stop_signal:
        body["StopSignal"] = args.stop_signal
    if args.stop_timeout is not None:
        body["StopTimeout"] = args.stop_timeout
    return body
