"""Checks a create request and merges it with the image's config, as dockerd does.

Type errors are reported like dockerd's JSON decoder (``json: cannot unmarshal
string into Go struct field Config.Env of type []string``) so clients see the
same text; value errors use dockerd's wording. The privilege and environment
settings (capabilities, ulimits, sysctls, extra hosts, DNS) are checked here and
turned into what the shim applies (``capability_set``, ``rlimits``) and the files
the container sees (``hosts_file``, ``resolv_conf``): none of them is accepted and
then ignored.
"""

from __future__ import annotations

import json
import os
import shlex
from typing import Any

from cove.runtime import errors
from cove.runtime.containers.spec import LogSpec
from cove.runtime.engine import host_modes, mounts
from cove.runtime.linux import caps, rootfs
from cove.runtime.linux.process import RLIMIT_NUMBERS
from cove.runtime.network import ports

_CONFIG_TYPES: dict[str, tuple[type, ...]] = {
    "Hostname": (str,), "Domainname": (str,), "User": (str,), "AttachStdin": (bool,),
    "AttachStdout": (bool,), "AttachStderr": (bool,), "Tty": (bool,), "OpenStdin": (bool,),
    "StdinOnce": (bool,), "Env": (list,), "Cmd": (list, str), "Entrypoint": (list, str),
    "Image": (str,), "Labels": (dict,), "WorkingDir": (str,), "StopSignal": (str,),
    "StopTimeout": (int,), "NetworkDisabled": (bool,), "ExposedPorts": (dict,),
    "Volumes": (dict,),
}
_HOST_TYPES: dict[str, tuple[type, ...]] = {
    "Memory": (int,), "MemorySwap": (int,), "NanoCpus": (int,), "CpuShares": (int,),
    "CpuQuota": (int,), "CpuPeriod": (int,), "PidsLimit": (int,), "AutoRemove": (bool,),
    "ReadonlyRootfs": (bool,), "Privileged": (bool,), "RestartPolicy": (dict,),
    "Init": (bool,), "Binds": (list,), "PortBindings": (dict,), "NetworkMode": (str,),
    "CapAdd": (list,), "CapDrop": (list,), "VolumesFrom": (list,), "ShmSize": (int,),
    "OomScoreAdj": (int,), "GroupAdd": (list,), "Dns": (list,), "DnsSearch": (list,),
    "DnsOptions": (list,), "ExtraHosts": (list,), "Sysctls": (dict,), "Ulimits": (list,),
    "PidMode": (str,), "IpcMode": (str,), "UTSMode": (str,), "Runtime": (str,),
    "CgroupParent": (str,), "CpusetCpus": (str,), "CpusetMems": (str,), "Devices": (list,),
    "DeviceCgroupRules": (list,), "VolumeDriver": (str,),
}
_NOT_STRING_LISTS = ("Binds", "Ulimits", "Devices")
# sysctls that live in the container's own IPC or network namespace (runc's validator)
_IPC_SYSCTLS = frozenset(("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                          "kernel.shmall", "kernel.shmmax", "kernel.shmmni",
                          "kernel.shm_rmid_forced"))
DEFAULT_SHM_SIZE = 64 * 1024 * 1024
HOSTS = """127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
ff00::0\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
"""
_GO_TYPES = {bool: "bool", int: "int64", str: "string", list: "[]string", dict: "map[string]string"}
_JSON_TYPES = {bool: "bool", int: "number", float: "number", str: "string", list: "array",
               dict: "object"}
RESTART_POLICIES = ("", "no", "always", "unless-stopped", "on-failure")
MIN_MEMORY = 6 * 1024 * 1024


def _check_types(section: str, body: dict[str, Any], types: dict[str, tuple[type, ...]]) -> None:
    for key, allowed in types.items():
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, bool) and bool not in allowed:
            ok = False
        else:
            ok = isinstance(value, allowed)
        if not ok:
            raise errors.InvalidParameter(
                f"json: cannot unmarshal {_JSON_TYPES.get(type(value), 'value')} into Go struct "
                f"field {section}.{key} of type {_GO_TYPES[allowed[0]]}")
        if allowed[0] is list and isinstance(value, list) and key not in _NOT_STRING_LISTS:
            if not all(isinstance(item, str) for item in value):
                raise errors.InvalidParameter(
                    f"json: cannot unmarshal non-string into Go struct field {section}.{key} "
                    "of type string")


def _as_list(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return shlex.split(value) if value else []
    return list(value)


LOG_DRIVERS = ("json-file", "local", "none")
DOCKER_LOG_DRIVERS = ("awslogs", "etwlogs", "fluentd", "gcplogs", "gelf", "journald",
                      "logentries", "splunk", "syslog")
JSON_FILE_OPTIONS = ("max-size", "max-file", "compress", "labels", "labels-regex", "env",
                     "env-regex", "tag")


def _decimal_size(text: str) -> int:
    """go-units ``FromHumanSize`` ("10m" = 10,000,000), what json-file reads max-size with."""
    import re

    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?", text.strip().lower())
    if not match:
        raise errors.InvalidParameter(f"invalid size: '{text}'")
    return int(float(match[1]) * 1000 ** " kmgtp".index(match[2] or " "))


def log_settings(host: dict[str, Any], path: str) -> LogSpec:
    """The shim's log settings from ``LogConfig`` (``--log-driver``, ``--log-opt``): the
    json-file driver with max-size/max-file rotation, ``local`` (the same files, rotated by
    default), or ``none``. Options json-file
    knows but this engine does not act on (labels, env, tag: extra attributes; compress)
    are refused unless they would change nothing."""
    config = host.get("LogConfig") or {}
    driver = config.get("Type") or "json-file"
    options = config.get("Config") or {}
    if driver not in LOG_DRIVERS:
        if driver in DOCKER_LOG_DRIVERS:
            raise errors.NotImplementedByEngine(
                f"logging driver {driver!r} is not supported by this engine "
                f"({', '.join(LOG_DRIVERS)})")
        raise errors.InvalidParameter(
            f'error looking up logging plugin {driver}: plugin "{driver}" not found')
    if driver == "local":  # kept as json-file lines, with local's rotation by default
        for key in options:
            if key not in ("max-size", "max-file", "compress"):
                raise errors.InvalidParameter(f"unknown log opt '{key}' for log driver local")
        options = {"max-size": "20m", "max-file": "5", **options}
    if driver == "none":
        if options:
            raise errors.InvalidParameter(f"unknown log opt '{next(iter(options))}' for none "
                                          "log driver")
        return LogSpec()
    for key, value in options.items():
        if key not in JSON_FILE_OPTIONS:
            raise errors.InvalidParameter(f"unknown log opt '{key}' for json-file log driver")
        if key in ("labels", "labels-regex", "env", "env-regex", "tag") and value:
            raise errors.NotImplementedByEngine(
                f"log opt '{key}' is not supported by this engine yet")
        if key == "compress" and str(value).lower() not in ("", "false"):
            raise errors.NotImplementedByEngine("compressed log files are not supported yet")
    max_size = _decimal_size(options["max-size"]) if options.get("max-size") else 0
    max_files = 1
    if options.get("max-file"):
        try:
            max_files = int(options["max-file"])
        except ValueError as exc:
            raise errors.InvalidParameter(f"invalid value for max-file: {options['max-file']}") \
                from exc
        if max_files < 1:
            raise errors.InvalidParameter("max-file cannot be less than 1")
    # max-file without max-size is accepted and keeps one file, as dockerd 20.10 does
    return LogSpec(path, max_size, max_files if max_size else 1)


def no_new_privileges(host: dict[str, Any]) -> bool:
    """``--security-opt``: whether ``no-new-privileges`` is asked for (dockerd's default is
    off, so setuid programs work). Profiles this engine cannot apply are refused, not
    ignored; ``unconfined`` ones and SELinux labels (no SELinux here) are accepted.
    Seccomp profiles are read at start (``engine/seccomp.py``), as dockerd reads them. A
    malformed option is a 500, as dockerd answers it (a plain error, no kind)."""
    wanted = False
    for option in host.get("SecurityOpt") or []:
        text = str(option)
        separator = "=" if "=" in text else ":"
        key, sep, value = text.partition(separator)
        if key == "no-new-privileges":
            if sep and value not in ("true", "false"):
                raise errors.SystemError_(f"invalid --security-opt 2: {json.dumps(text)}")
            wanted = value != "false"
        elif not sep:
            raise errors.SystemError_(f"invalid --security-opt 1: {json.dumps(text)}")
        elif key == "apparmor":
            if value != "unconfined":
                raise errors.NotImplementedByEngine(
                    f"{key} profiles are not supported by this engine yet "
                    f"(only {key}=unconfined)")
        elif key in ("label", "systempaths", "seccomp"):
            continue
        else:
            raise errors.SystemError_(f"invalid --security-opt 2: {json.dumps(text)}")
    return wanted


def validate(body: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a create body into (Config, HostConfig), both checked."""
    if not isinstance(body, dict):
        raise errors.InvalidParameter("invalid JSON: container config must be an object")
    host = body.get("HostConfig") or {}
    if not isinstance(host, dict):
        raise errors.InvalidParameter(
            "json: cannot unmarshal value into Go struct field ContainerCreate.HostConfig")
    config = {k: v for k, v in body.items() if k not in ("HostConfig", "NetworkingConfig")}
    _check_types("Config", config, _CONFIG_TYPES)
    _check_types("HostConfig", host, _HOST_TYPES)
    no_new_privileges(host)
    log_settings(host, "")
    if not config.get("Image"):
        raise errors.InvalidParameter("No image specified")  # dockerd: config.Image == ""
    memory = host.get("Memory") or 0
    if 0 < memory < MIN_MEMORY:
        raise errors.InvalidParameter("Minimum memory limit allowed is 6MB")
    nano = host.get("NanoCpus") or 0
    cpus = os.cpu_count() or 1
    if nano < 0 or nano > cpus * 1_000_000_000:
        raise errors.InvalidParameter(
            f"Range of CPUs is from 0.01 to {cpus}.00, as there are only {cpus} CPUs available")
    if nano and (host.get("CpuQuota") or host.get("CpuPeriod")):
        raise errors.InvalidParameter(
            "Conflicting options: Nano CPUs and CPU Period cannot both be set")
    policy = host.get("RestartPolicy") or {}
    validate_restart_policy(policy)
    if host.get("AutoRemove") and (policy.get("Name") or "") not in ("", "no"):
        raise errors.InvalidParameter("can't create 'AutoRemove' container with restart policy")
    for env in config.get("Env") or []:
        if "=" not in env and not env:
            raise errors.InvalidParameter(f"invalid environment variable: {env}")
    ports.validate(config, host)
    mounts.validate(host)
    host_modes.validate(config, host)
    host_modes.validate_networking(config, body.get("NetworkingConfig"))
    capability_set(host)
    rlimits(host)
    _check_process_settings(host)
    return config, host


def validate_restart_policy(policy: dict[str, Any]) -> None:
    """A ``RestartPolicy`` as dockerd checks it on create and on update alike: a known name,
    a retry count only with on-failure, and never a negative one."""
    name = policy.get("Name") or ""
    if name not in RESTART_POLICIES:
        raise errors.InvalidParameter(f"invalid restart policy '{name}'")
    if policy.get("MaximumRetryCount") and name != "on-failure":
        raise errors.InvalidParameter(
            f"maximum retry count cannot be used with restart policy '{name}'")
    if (policy.get("MaximumRetryCount") or 0) < 0:
        raise errors.InvalidParameter("maximum retry count cannot be negative")


def capability_set(host: dict[str, Any], last_cap: int | None = None,
                   held: int | None = None) -> int:
    """The container's capability mask from Privileged/CapAdd/CapDrop (dockerd's rules).

    "All" (privileged, or ALL added) means all that the engine itself holds, since no
    process can hand out more; a capability named explicitly that the engine lacks is
    refused, as runc refuses it, rather than silently left out."""
    last = caps.last_capability() if last_cap is None else last_cap
    if host.get("Privileged"):
        wanted, explicit = caps.all_mask(last), 0
    else:
        adds, drops = list(host.get("CapAdd") or []), list(host.get("CapDrop") or [])
        for key, names in (("CapAdd", adds), ("CapDrop", drops)):
            try:
                caps.normalize_names(names, last)
            except ValueError as exc:
                raise errors.InvalidParameter(f"invalid {key}: {exc}") from exc
        wanted = caps.tweak_capabilities(adds, drops, last)
        named = [n for n in caps.normalize_names(adds, last) if n != caps.ALL]
        explicit = caps.capability_mask(named)
    if held is None:
        return wanted
    missing = explicit & ~held
    if missing:
        raise errors.SystemError_(
            "unable to apply caps: operation not permitted: the engine itself does not hold "
            + ", ".join(caps.capability_names(missing)))
    return wanted & held


def rlimits(host: dict[str, Any]) -> list[list[int]]:
    """``[[RLIMIT number, soft, hard], ...]`` from HostConfig.Ulimits, checked with the
    docker CLI's words (dockerd itself leaves them to runc at start)."""
    result = []
    for item in host.get("Ulimits") or []:
        if not isinstance(item, dict):
            raise errors.InvalidParameter(
                "json: cannot unmarshal non-object into Go struct field "
                "HostConfig.Ulimits of type units.Ulimit")
        for field, kind in (("Name", str), ("Soft", int), ("Hard", int)):
            value = item.get(field)
            if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
                raise errors.InvalidParameter(
                    f"json: cannot unmarshal {_JSON_TYPES.get(type(value), 'value')} into Go "
                    f"struct field Ulimit.HostConfig.Ulimits.{field} of type "
                    f"{'string' if kind is str else 'int64'}")
        name = item.get("Name") or ""
        if name not in RLIMIT_NUMBERS:
            raise errors.InvalidParameter(f"invalid ulimit type: {name}")
        soft, hard = item.get("Soft") or 0, item.get("Hard") or 0
        if hard >= 0 and (soft < 0 or soft > hard):
            raise errors.InvalidParameter(
                f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")
        result.append([RLIMIT_NUMBERS[name], soft, hard])
    return result


def _check_process_settings(host: dict[str, Any]) -> None:
    """ShmSize, OomScoreAdj, ExtraHosts and Sysctls, with dockerd's (and runc's) words."""
    if (host.get("ShmSize") or 0) < 0:
        raise errors.InvalidParameter("SHM size can not be less than 0")
    oom = host.get("OomScoreAdj") or 0
    if not -1000 <= oom <= 1000:
        raise errors.InvalidParameter(
            f"Invalid value {oom}, range for oom score adj is [-1000, 1000]")
    import ipaddress

    for entry in host.get("ExtraHosts") or []:
        name, sep, address = entry.partition(":")
        if not sep or not name:
            raise errors.InvalidParameter(f'bad format for add-host: "{entry}"')
        if address == HOST_GATEWAY:  # the bridge's address, put in when the file is made
            continue
        try:
            ipaddress.ip_address(address.strip("[]"))
        except ValueError:
            raise errors.InvalidParameter(
                f'invalid IP address in add-host: "{address}"') from None
    for key, value in (host.get("Sysctls") or {}).items():
        if not isinstance(value, str):
            raise errors.InvalidParameter(
                f"json: cannot unmarshal {_JSON_TYPES.get(type(value), 'value')} into Go "
                "struct field HostConfig.Sysctls of type string")
        if not (key in _IPC_SYSCTLS or key.startswith(("fs.mqueue.", "net."))):
            raise errors.InvalidParameter(f'sysctl "{key}" is not in a separate kernel namespace')
        if "/" in key or ".." in key or key.endswith("."):
            raise errors.InvalidParameter(f'sysctl "{key}" is not a valid name')


HOST_GATEWAY = "host-gateway"
"""``--add-host name:host-gateway``: the host, as containers reach it (the default bridge's
address, as dockerd's default host-gateway-ip)."""


def extra_hosts(host: dict[str, Any], gateway: str | None) -> list[str]:
    """Each ``--add-host`` as an /etc/hosts line, ``host-gateway`` as ``gateway``."""
    lines = []
    for entry in host.get("ExtraHosts") or []:
        name, _, address = entry.partition(":")
        if address == HOST_GATEWAY:
            if gateway is None:  # dockerd's words, there at start
                raise errors.InvalidParameter("unable to derive the IP value for host-gateway")
            address = gateway
        lines.append(f"{address.strip('[]')}\t{name}\n")
    return lines


def hosts_file(host: dict[str, Any], own: tuple[str, str, str] | None = None,
               gateway: str | None = None) -> str:
    """/etc/hosts: the standard entries, then each ``--add-host`` as "ip<TAB>name", then
    for a container with an address (``own``: address, hostname, domain name) its own
    line, as libnetwork appends it when the endpoint joins (``fqdn name`` with a domain)."""
    lines = [HOSTS, *extra_hosts(host, gateway)]
    if own is not None:
        address, hostname, domain = own
        fqdn = f"{hostname}.{domain}" if domain else hostname
        names = f"{fqdn} {fqdn.split('.', 1)[0]}" if "." in fqdn else fqdn
        lines.append(f"{address}\t{names}\n")
    return "".join(lines)


def host_resolv_conf(path: str = "/etc/resolv.conf",
                     resolved: str = "/run/systemd/resolve/resolv.conf") -> str:
    """The host's resolver settings a container can use: /etc/resolv.conf, or, when that
    only names systemd-resolved's stub (127.0.0.53, unreachable from a container's own
    namespace), the upstream servers resolved itself uses, as libnetwork reads them."""
    text = _read_text(path)
    servers = [line.split()[1] for line in text.splitlines()
               if line.startswith("nameserver") and len(line.split()) > 1]
    if servers and all(server == "127.0.0.53" for server in servers):
        upstream = _read_text(resolved)
        if upstream:
            return upstream
    return text


def _read_text(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def host_hosts_file(host: dict[str, Any], path: str = "/etc/hosts",
                    gateway: str | None = None) -> str:
    """/etc/hosts of a container on the host's network: the host's, then each
    ``--add-host``."""
    text = _read_text(path)
    if text and not text.endswith("\n"):
        text += "\n"
    return text + "".join(extra_hosts(host, gateway))


def resolv_conf(host: dict[str, Any], host_resolv: str | None = None,
                keep_loopback: bool = False) -> str:
    """/etc/resolv.conf as libnetwork builds it: the host's, minus loopback servers the
    container cannot reach (Google's when none is left); with --dns, --dns-search or
    --dns-option, a new file of search, nameserver and options lines where each given
    one replaces the host's."""
    if host_resolv is None:  # the host's own network reaches its own resolver
        host_resolv = _read_text("/etc/resolv.conf") if keep_loopback else host_resolv_conf()
    lines = host_resolv.splitlines()

    def loopback(line: str) -> bool:
        fields = line.split()
        return (len(fields) > 1 and fields[0] == "nameserver"
                and (fields[1].startswith("127.") or fields[1] == "::1"))

    kept = [line for line in lines if keep_loopback or not loopback(line)]
    servers = [line.split()[1] for line in kept
               if line.startswith("nameserver") and len(line.split()) > 1]
    if not servers:
        servers = ["8.8.8.8", "8.8.4.4"]
        kept += ["nameserver " + server for server in servers]
    dns, search, options = (list(host.get(key) or [])
                            for key in ("Dns", "DnsSearch", "DnsOptions"))
    if not (dns or search or options):
        return "\n".join(kept) + "\n"

    def values(keyword: str) -> list[str]:
        found: list[str] = []
        for line in kept:
            fields = line.split()
            if fields and fields[0] == keyword:
                found = fields[1:] if keyword != "options" else found + fields[1:]
        return found

    search = search or values("search")
    options = options or values("options")
    out = ""
    if search and " ".join(search).strip(" ") != ".":
        out += "search " + " ".join(search) + "\n"
    out += "".join(f"nameserver {server}\n" for server in (dns or servers))
    if options and " ".join(options).strip(" "):
        out += "options " + " ".join(options) + "\n"
    return out


def merge_image_config(config: dict[str, Any], image_config: dict[str, Any]) -> dict[str, Any]:
    """The container's Config: the request over the image's defaults (dockerd's merge)."""
    merged = dict(config)
    user_entrypoint = _as_list(config.get("Entrypoint"))
    if user_entrypoint == [""]:  # --entrypoint "": the docker CLI sends [""] to clear it
        user_entrypoint = []
    user_cmd = _as_list(config.get("Cmd"))
    if user_entrypoint is not None and user_entrypoint != []:
        merged["Entrypoint"] = user_entrypoint
        merged["Cmd"] = user_cmd or None
    else:
        merged["Entrypoint"] = image_config.get("Entrypoint") if user_entrypoint is None else None
        merged["Cmd"] = user_cmd if user_cmd else image_config.get("Cmd")
    env: dict[str, str] = {}
    order: list[str] = []
    for item in (image_config.get("Env") or []) + (config.get("Env") or []):
        key = item.split("=", 1)[0]
        if key not in env:
            order.append(key)
        env[key] = item
    merged["Env"] = [env[k] for k in order]
    for key in ("WorkingDir", "User", "StopSignal"):
        if not merged.get(key) and image_config.get(key):
            merged[key] = image_config[key]
    labels = dict(image_config.get("Labels") or {})
    labels.update(config.get("Labels") or {})
    merged["Labels"] = labels
    if image_config.get("ExposedPorts") and not merged.get("ExposedPorts"):
        merged["ExposedPorts"] = image_config["ExposedPorts"]
    if image_config.get("Volumes") and not merged.get("Volumes"):
        merged["Volumes"] = image_config["Volumes"]
    image_check = image_config.get("Healthcheck")
    if image_check and not merged.get("Healthcheck"):
        merged["Healthcheck"] = image_check
    elif image_check:  # dockerd's merge: what the user left out comes from the image
        check = dict(merged["Healthcheck"])
        for key in ("Test", "Interval", "Timeout", "StartPeriod", "Retries"):
            if not check.get(key) and image_check.get(key):
                check[key] = image_check[key]
        merged["Healthcheck"] = check
    for key, default in (("Hostname", ""), ("Domainname", ""), ("User", ""),
                         ("AttachStdin", False), ("AttachStdout", False),
                         ("AttachStderr", False), ("Tty", False), ("OpenStdin", False),
                         ("StdinOnce", False), ("WorkingDir", ""), ("OnBuild", None)):
        merged.setdefault(key, default)
    argv = (merged.get("Entrypoint") or []) + (merged.get("Cmd") or [])
    if not argv:
        raise errors.InvalidParameter("No command specified")
    return merged


def normalize_host_config(host: dict[str, Any]) -> dict[str, Any]:
    out = dict(host)
    policy = dict(out.get("RestartPolicy") or {})
    policy.setdefault("Name", "")
    policy.setdefault("MaximumRetryCount", 0)
    out["RestartPolicy"] = policy
    out.setdefault("NetworkMode", "default")
    out["Runtime"] = out.get("Runtime") or host_modes.RUNTIME
    out["IpcMode"] = out.get("IpcMode") or host_modes.DEFAULT_IPC_MODE
    for key in ("PidMode", "UTSMode", "CgroupParent", "CpusetCpus", "CpusetMems"):
        out.setdefault(key, "")
    out.setdefault("Devices", [])
    log_config = dict(out.get("LogConfig") or {})  # the docker CLI sends Type "" unset
    out["LogConfig"] = {"Type": log_config.get("Type") or "json-file",
                        "Config": log_config.get("Config") or {}}
    # what the container gets, as dockerd reports it: its own cgroup namespace (the shim
    # always unshares one), the /proc and /sys paths masked or read-only unless privileged
    out["CgroupnsMode"] = out.get("CgroupnsMode") or "private"
    unconfined = any(str(option).replace(":", "=") == "systempaths=unconfined"
                     for option in out.get("SecurityOpt") or [])
    for key, paths in (("MaskedPaths", rootfs.MASKED_PATHS),
                       ("ReadonlyPaths", rootfs.READONLY_PATHS)):
        if out.get(key) is None:  # --security-opt systempaths=unconfined: none, as dockerd
            out[key] = None if out.get("Privileged") else [] if unconfined else list(paths)
    for key in ("Memory", "MemorySwap", "NanoCpus", "CpuShares", "CpuQuota", "CpuPeriod"):
        out.setdefault(key, 0)
    if not out.get("PidsLimit") or out["PidsLimit"] <= 0:  # 0 and -1: unlimited, as null
        out["PidsLimit"] = None
    if out.get("MemorySwappiness") == -1:  # the docker CLI's "unset"
        out["MemorySwappiness"] = None
    out.setdefault("MemorySwappiness", None)
    for key in ("AutoRemove", "ReadonlyRootfs", "Privileged"):
        out.setdefault(key, False)
    out.setdefault("Binds", None)
    out.setdefault("PortBindings", {})
    if not out.get("ShmSize"):
        out["ShmSize"] = DEFAULT_SHM_SIZE  # dockerd: 0 means the default
    out.setdefault("OomScoreAdj", 0)
    for key in ("CapAdd", "CapDrop", "ExtraHosts", "GroupAdd", "Ulimits"):
        out.setdefault(key, None)
    for key in ("Dns", "DnsOptions", "DnsSearch"):
        out.setdefault(key, [])
    return out
