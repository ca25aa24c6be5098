"""``run``/``create`` flags and their mapping onto the create request body (Config + HostConfig).

The mapping is a pure function of the parsed flags (and, for ``-e NAME``, the client's
environment), so it is tested without a daemon.
"""

from __future__ import annotations

import os

from .errors import InvalidOption, UsageError

TYPE_CHECKING = False  # ``typing`` costs milliseconds to import; type checkers know the name
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from .command import FlagParser, Namespace

RESTART_NAMES = ("no", "always", "on-failure", "unless-stopped")
ULIMIT_NAMES = ("core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice",
                "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack", "as")
# the sysctls docker's CLI lets through (opts.ValidateSysctl): namespaced ones only
SYSCTL_NAMES = ("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced")
SYSCTL_PREFIXES = ("net.", "fs.mqueue.")


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
    add("--runtime", default=None, help="Runtime to use for this container")
    add("--stop-signal", default=None, help="Signal to stop the container")
    add("--stop-timeout", type=int, default=None, help="Timeout (in seconds) to stop a container")
    add("--cidfile", default=None, help="Write the container ID to the file")
    add("--platform", default=None, help="Set platform if server is multi-platform capable")
    add("--network", "--net", action="append", default=[], value_type="network", help="Connect a container to a network")
    add("--network-alias", "--net-alias", action="append", default=[], help="Add network-scoped alias for the container")
    add("--ip", default="", help="IPv4 address (e.g., 172.30.100.104)")
    add("--ip6", default="", help="IPv6 address (e.g., 2001:db8::33)")
    add("--link-local-ip", action="append", default=[], help="Container IPv4/IPv6 link-local addresses")
    add("--mac-address", default="", help="Container MAC address (e.g., 92:d0:c6:0a:29:33)")
    add("--pull", default="missing", help='Pull image before running ("always", "missing", "never")')
    add("-q", "--quiet", action="store_true", help="Suppress the pull output")
    add("-p", "--publish", action="append", default=[], help="Publish a container's port(s) to the host")
    add("-P", "--publish-all", action="store_true", help="Publish all exposed ports to random ports")
    add("--expose", action="append", default=[], help="Expose a port or a range of ports")
    add("-v", "--volume", action="append", default=[], help="Bind mount a volume")
    add("--mount", action="append", default=[], help="Attach a filesystem mount to the container")
    add("--volumes-from", action="append", default=[], help="Mount volumes from the specified container(s)")
    add("--cap-add", action="append", default=[], help="Add Linux capabilities")
    add("--security-opt", action="append", default=[], help="Security Options")
    add("--log-driver", default=None, help="Logging driver for the container")
    add("--log-opt", action="append", default=[], help="Log driver options")
    add("--health-cmd", default=None, help="Command to run to check health")
    add("--health-interval", default=None, help="Time between running the check (ms|s|m|h)")
    add("--health-timeout", default=None,
        help="Maximum time to allow one check to run (ms|s|m|h)")
    add("--health-start-period", default=None,
        help="Start period for the container to initialize before starting health-retries "
             "countdown (ms|s|m|h)")
    add("--health-retries", type=int, default=None,
        help="Consecutive failures needed to report unhealthy")
    add("--no-healthcheck", action="store_true", help="Disable any container-specified HEALTHCHECK")
    add("--cap-drop", action="append", default=[], help="Drop Linux capabilities")
    add("--ulimit", action="append", default=[], help="Ulimit options")
    add("--tmpfs", action="append", default=[], help="Mount a tmpfs directory")
    add("--add-host", action="append", default=[], help="Add a custom host-to-IP mapping (host:ip)")
    add("--dns", action="append", default=[], help="Set custom DNS servers")
    add("--dns-search", action="append", default=[], help="Set custom DNS search domains")
    add("--dns-option", "--dns-opt", action="append", default=[], help="Set DNS options")
    add("--shm-size", default=None, help="Size of /dev/shm")
    add("--group-add", action="append", default=[], help="Add additional groups to join")
    add("--sysctl", action="append", default=[], help="Sysctl options")
    add("--oom-score-adj", type=int, default=None, help="Tune host's OOM preferences (-1000 to 1000)")


def _flag_error(value: str, flag: str, reason: str) -> UsageError:
    return UsageError(f'invalid argument "{value}" for "{flag}" flag: {reason}')


def read_kv_file(path: str, kind: str, environ: Mapping[str, str]) -> list[str]:
    """Lines of an env/label file: blanks and ``#`` comments skipped, ``NAME`` filled from env."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError as exc:
        raise InvalidOption(f"open {path}: {exc.strerror.lower() if exc.strerror else exc}") from exc
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
            raise InvalidOption("invalid restart policy format: maximum retry count must be "
                                "an integer") from exc
    return {"Name": name or "no", "MaximumRetryCount": retries}


def capability_names(values: list[str]) -> list[str]:
    """``net_admin`` -> ``CAP_NET_ADMIN``, ``all`` -> ``ALL``, deduplicated and sorted,
    as the docker CLI sends them (the daemon checks that they exist)."""
    names = set()
    for value in values:
        upper = value.strip().upper()
        names.add(upper if upper == "ALL" or upper.startswith("CAP_") else "CAP_" + upper)
    return sorted(names)


def _go_int(text: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise ValueError(f'strconv.ParseInt: parsing "{text}": invalid syntax') from None


def parse_ulimit(value: str) -> dict[str, Any]:
    """``nofile=1024:2048`` -> {"Name": "nofile", "Hard": 2048, "Soft": 1024} (go-units)."""
    name, sep, limits = value.partition("=")
    if not sep:
        raise _flag_error(value, "--ulimit", f"invalid ulimit argument: {value}")
    if name not in ULIMIT_NAMES:
        raise _flag_error(value, "--ulimit", f"invalid ulimit type: {name}")
    parts = limits.split(":")
    if len(parts) > 2:
        raise _flag_error(value, "--ulimit", f"too many limit value arguments - {limits}, "
                          "can only have up to two, `soft[:hard]`")
    try:
        soft = _go_int(parts[0])
        hard = _go_int(parts[1]) if len(parts) == 2 else soft
    except ValueError as exc:
        raise _flag_error(value, "--ulimit", str(exc)) from exc
    if soft > hard:
        raise _flag_error(value, "--ulimit", "ulimit soft limit must be less than or equal "
                          f"to hard limit: {soft} > {hard}")
    return {"Name": name, "Hard": hard, "Soft": soft}


def _is_ip(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def parse_extra_host(value: str) -> str:
    """``name:ip`` or ``name=ip`` (also ``name:host-gateway``) -> ``name:ip``."""
    separator = "=" if "=" in value else ":"
    name, sep, address = value.partition(separator)
    if not sep or not name or not address:
        raise _flag_error(value, "--add-host", f'bad format for add-host: "{value}"')
    if address != "host-gateway" and not _is_ip(address.strip("[]")):
        raise _flag_error(value, "--add-host", f'invalid IP address in add-host: "{address}"')
    return f"{name}:{address.strip('[]')}"


def parse_sysctls(values: list[str]) -> dict[str, str]:
    sysctls: dict[str, str] = {}
    for value in values:
        key, sep, setting = value.partition("=")
        if not sep or not (key in SYSCTL_NAMES or key.startswith(SYSCTL_PREFIXES)):
            raise _flag_error(value, "--sysctl", f"sysctl '{value}' is not allowed")
        sysctls[key] = setting
    return sysctls


_GO_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
             "m": 60_000_000_000, "h": 3_600_000_000_000}


def go_duration_ns(text: str, flag: str) -> int:
    """Go's ``time.ParseDuration`` ("1m30s", "500ms") in nanoseconds, for duration flags."""
    import re

    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", text)
    if text in ("0", "") or (parts and "".join(n + u for n, u in parts) == text):
        return int(sum(float(n) * _GO_UNITS[u] for n, u in parts))
    raise InvalidOption(f'invalid argument "{text}" for "{flag}" flag: '
                        f'time: invalid duration "{text}"')


def _healthcheck(args: Namespace) -> dict[str, Any] | None:
    """Config.Healthcheck from the --health-* flags, as the docker CLI builds it."""
    timings = {"Interval": ("--health-interval", args.health_interval),
               "Timeout": ("--health-timeout", args.health_timeout),
               "StartPeriod": ("--health-start-period", args.health_start_period)}
    given = args.health_cmd is not None or args.health_retries is not None or \
        any(value is not None for _flag, value in timings.values())
    if args.no_healthcheck:
        if given:
            raise InvalidOption("--no-healthcheck conflicts with --health-* options")
        return {"Test": ["NONE"]}
    if not given:
        return None
    check: dict[str, Any] = {}
    if args.health_cmd:
        check["Test"] = ["CMD-SHELL", args.health_cmd]
    for key, (flag, value) in timings.items():
        if value is not None:
            nanoseconds = go_duration_ns(value, flag)
            if nanoseconds < 0:
                raise InvalidOption(f"{flag} cannot be negative")
            check[key] = nanoseconds
    if args.health_retries is not None:
        if args.health_retries < 0:
            raise InvalidOption("--health-retries cannot be negative")
        check["Retries"] = args.health_retries
    return check


def _security_opt(value: str) -> str:
    """As the docker CLI: a seccomp profile given as a file travels as its JSON text,
    compacted (what inspect then shows)."""
    key, sep, path = value.partition("=")
    if key != "seccomp" or not sep or path == "unconfined":
        return value
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise InvalidOption(f"opening seccomp profile ({path}) failed: open {path}: "
                            f"{(exc.strerror or str(exc)).lower()}") from exc
    import json

    try:
        json.loads(text)
    except ValueError as exc:
        raise InvalidOption(f"compacting json for seccomp profile ({path}) failed: "
                            f"{exc}") from exc
    return f"seccomp={_compact_json(text)}"


def _compact_json(text: str) -> str:
    """Valid JSON without the whitespace between tokens, the rest kept as written (Go's
    json.Compact: key order, number spelling and escapes unchanged)."""
    out: list[str] = []
    in_string = escaped = False
    for char in text:
        if in_string:
            out.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
            out.append(char)
        elif char not in " \t\n\r":
            out.append(char)
    return "".join(out)


def privilege_and_environment(args: Namespace) -> dict[str, Any]:
    """The HostConfig fields of --cap-add/--cap-drop, --ulimit, --add-host, --dns*,
    --shm-size, --group-add, --sysctl and --oom-score-adj, checked as the docker CLI does."""
    host: dict[str, Any] = {}
    if args.cap_add:
        host["CapAdd"] = capability_names(args.cap_add)
    if args.cap_drop:
        host["CapDrop"] = capability_names(args.cap_drop)
    if args.security_opt:
        host["SecurityOpt"] = [_security_opt(value) for value in args.security_opt]
    if args.log_driver or args.log_opt:
        options = {}
        for entry in args.log_opt:
            key, sep, value = entry.partition("=")
            if not sep:
                raise InvalidOption(f"invalid log opt '{entry}'")
            options[key] = value
        host["LogConfig"] = {"Type": args.log_driver or "", "Config": options}
    if args.ulimit:
        host["Ulimits"] = sorted((parse_ulimit(v) for v in args.ulimit),
                                 key=lambda limit: limit["Name"])
    for server in args.dns:
        if not _is_ip(server):
            raise _flag_error(server, "--dns", f"IP address is not correctly formatted: {server}")
    for flag, key in (("dns", "Dns"), ("dns_search", "DnsSearch"), ("dns_option", "DnsOptions"),
                      ("group_add", "GroupAdd")):
        if getattr(args, flag):
            host[key] = list(getattr(args, flag))
    if args.add_host:
        host["ExtraHosts"] = [parse_extra_host(v) for v in args.add_host]
    if args.shm_size is not None:
        from .units import ram_in_bytes

        try:
            host["ShmSize"] = ram_in_bytes(args.shm_size)
        except ValueError as exc:
            raise _flag_error(args.shm_size, "--shm-size", str(exc)) from exc
    if args.sysctl:
        host["Sysctls"] = parse_sysctls(args.sysctl)
    if args.oom_score_adj is not None:
        host["OomScoreAdj"] = args.oom_score_adj
    return host


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
    exposed: dict[str, Any] = {}
    bindings: dict[str, Any] = {}
    if args.publish or args.expose:
        from . import publish_options

        exposed, bindings = publish_options.parse_publish(args.publish)
        exposed.update(publish_options.parse_expose(args.expose))
    if getattr(args, "detach", False) and args.attach:
        raise InvalidOption("conflicting options: cannot specify both --attach and --detach")
    restart = parse_restart(args.restart)
    if args.rm and restart["Name"] != "no":
        raise InvalidOption("conflicting options: cannot specify both --restart and --rm")

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
    endpoints: dict[str, Any] = {}
    if args.network or args.network_alias or args.ip or args.ip6 or args.link_local_ip:
        from .network_options import endpoints_config

        host_config["NetworkMode"], endpoints = endpoints_config(
            args.network, args.network_alias, args.ip, args.ip6, args.link_local_ip)
    if bindings:
        host_config["PortBindings"] = bindings
    if args.publish_all:
        host_config["PublishAllPorts"] = True
    if args.runtime:  # the daemon checks the name
        host_config["Runtime"] = args.runtime
    host_config.update(privilege_and_environment(args))
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
    if args.mac_address:
        body["MacAddress"] = args.mac_address
    if endpoints:
        body["NetworkingConfig"] = {"EndpointsConfig": endpoints}
    if exposed:
        body["ExposedPorts"] = exposed
    if args.entrypoint is not None:
        body["Entrypoint"] = [args.entrypoint] if args.entrypoint else [""]
    if args.stop_signal:
        body["StopSignal"] = args.stop_signal
    if args.stop_timeout is not None:
        body["StopTimeout"] = args.stop_timeout
    healthcheck = _healthcheck(args)
    if healthcheck is not None:
        body["Healthcheck"] = healthcheck
    return body
