"""``cove``: docker's command line against a Cove (or Docker) daemon.

Startup stays fast: ``--version`` imports only the version constant, and a command's module is imported
only when that command runs. Errors are written and turned into exit codes here, and
nowhere else; their kinds and docker's code for each are in ``errors``.
"""

from __future__ import annotations

import os
import sys

from cove.common.version import VERSION

TYPE_CHECKING = False  # ``typing`` costs milliseconds to import; type checkers know the name
if TYPE_CHECKING:
    from typing import NoReturn

BUILD = "dev"

# command -> module under cove.desktop.cli; groups map sub-commands the same way.
TOP_LEVEL = {
    "run": "container_run", "create": "container_run", "start": "container_run",
    "attach": "container_run", "ps": "container_list", "logs": "container_ops",
    "stop": "container_ops", "kill": "container_ops", "restart": "container_ops",
    "rm": "container_ops", "wait": "container_ops", "pause": "container_ops",
    "unpause": "container_ops", "rename": "container_ops", "top": "container_ops",
    "exec": "container_exec", "inspect": "inspect", "images": "images", "rmi": "images",
    "tag": "images", "history": "images", "load": "images", "save": "images",
    "import": "images", "update": "container_update",
    "version": "system", "info": "system", "events": "system",
    "pull": "registry", "push": "registry", "login": "registry", "logout": "registry",
    "search": "registry",
    "build": "build", "stats": "container_stats", "cp": "container_files",
    "export": "container_files", "diff": "container_files", "commit": "container_files",
    "port": "container_port",
}
GROUPS = {
    "container": {
        "ls": ("container_list", "ps"), "list": ("container_list", "ps"),
        "ps": ("container_list", "ps"), "prune": ("container_ops", "container prune"),
        "inspect": ("inspect", "container inspect"),
        **{name: (TOP_LEVEL[name], name) for name in (
            "run", "create", "start", "attach", "logs", "stop", "kill", "restart", "rm",
            "wait", "pause", "unpause", "rename", "top", "exec", "stats")},
        "remove": ("container_ops", "rm"),
        **{name: ("container_files", name) for name in ("cp", "export", "diff", "commit")},
        "update": ("container_update", "update"), "port": ("container_port", "port"),
    },
    "image": {
        "ls": ("images", "images"), "list": ("images", "images"),
        "rm": ("images", "rmi"), "remove": ("images", "rmi"), "prune": ("images", "image prune"),
        "inspect": ("inspect", "image inspect"), "history": ("images", "history"),
        "tag": ("images", "tag"), "load": ("images", "load"), "save": ("images", "save"),
        "pull": ("registry", "pull"), "push": ("registry", "push"),
        "build": ("build", "build"), "import": ("images", "import"),
    },
    "system": {"info": ("system", "info"), "events": ("system", "events"),
               "df": ("system_disk", "system df"), "prune": ("system_disk", "system prune")},
    "volume": {
        "create": ("volumes", "volume create"), "ls": ("volumes", "volume ls"),
        "list": ("volumes", "volume ls"), "inspect": ("volumes", "volume inspect"),
        "rm": ("volumes", "volume rm"), "remove": ("volumes", "volume rm"),
        "prune": ("volumes", "volume prune"),
    },
    "network": {
        **{name: ("networks", f"network {name}") for name in (
            "create", "ls", "inspect", "rm", "prune", "connect", "disconnect")},
        "list": ("networks", "network ls"), "remove": ("networks", "network rm"),
    },
    "builder": {"build": ("build", "build"), "prune": ("build", "builder prune")},
    "context": {"ls": ("context", "context ls"), "list": ("context", "context ls"),
                "use": ("context", "context use"), "inspect": ("context", "context inspect"),
                "show": ("context", "context show")},
    "machine": {name: ("machine", f"machine {name}") for name in (
        "init", "start", "stop", "restart", "status", "ls", "inspect", "set", "rm", "logs",
        "ssh")} | {"list": ("machine", "machine ls"), "remove": ("machine", "machine rm")},
}

USAGE = """
Usage:  cove [OPTIONS] COMMAND

A self-sufficient runtime for containers

Common Commands:
  run         Create and run a new container from an image
  exec        Execute a command in a running container
  ps          List containers
  build       Build an image from a Dockerfile
  pull        Download an image from a registry
  push        Upload an image to a registry
  images      List images
  login       Authenticate to a registry
  logout      Log out from a registry
  version     Show the Cove version information
  info        Display system-wide information

Management Commands:
  builder     Manage builds
  container   Manage containers
  context     Manage contexts
  image       Manage images
  machine     Manage the Linux VM the engine runs in
  network     Manage networks
  system      Manage Cove
  volume      Manage volumes

Commands:
  attach      Attach local standard input, output, and error streams to a running container
  commit      Create a new image from a container's changes
  cp          Copy files/folders between a container and the local filesystem
  create      Create a new container
  diff        Inspect changes to files or directories on a container's filesystem
  events      Get real time events from the server
  export      Export a container's filesystem as a tar archive
  history     Show the history of an image
  import      Import the contents from a tarball to create a filesystem image
  inspect     Return low-level information on Cove objects
  kill        Kill one or more running containers
  load        Load an image from a tar archive or STDIN
  logs        Fetch the logs of a container
  pause       Pause all processes within one or more containers
  rename      Rename a container
  restart     Restart one or more containers
  rm          Remove one or more containers
  rmi         Remove one or more images
  save        Save one or more images to a tar archive (streamed to STDOUT by default)
  search      Search Docker Hub for images
  start       Start one or more stopped containers
  stats       Display a live stream of container(s) resource usage statistics
  stop        Stop one or more running containers
  tag         Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
  top         Display the running processes of a container
  unpause     Unpause all processes within one or more containers
  update      Update configuration of one or more containers
  wait        Block until one or more containers stop, then print their exit codes

Global Options:
      --config string      Location of client config files
  -c, --context string     Name of the context to use ("native", "vm" or "default")
  -D, --debug              Enable debug mode
  -H, --host string        Daemon socket to connect to
  -l, --log-level string   Set the logging level ("debug", "info", "warn", "error", "fatal")
  -v, --version            Print version information and quit

Run 'cove COMMAND --help' for more information on a command.
"""

_GLOBAL_WITH_VALUE = {"-H", "--host", "-l", "--log-level", "--config", "-c", "--context",
                      "--tlscacert", "--tlscert", "--tlskey"}
_GLOBAL_FLAGS = {"-D", "--debug", "--tls", "--tlsverify"}


def version_text() -> str:
    return f"Cove version {VERSION}, build {BUILD}"


def _split_globals(argv: list[str]) -> tuple[str | None, list[str], str | None]:
    """(host flag, remaining argv starting at the command, early action); a bad global
    flag raises ``UsageError``."""
    host: str | None = None
    context: str | None = None
    i = 0
    while i < len(argv):
        token = argv[i]
        name, eq, value = token.partition("=")
        if token in ("-v", "--version"):
            return host, [], "version"
        if token in ("-h", "--help"):
            return host, [], "help"
        if name in _GLOBAL_WITH_VALUE:
            if not eq:
                i += 1
                if i >= len(argv):
                    from .errors import UsageError

                    raise UsageError(f"flag needs an argument: {name}")
                value = argv[i]
            if name in ("-H", "--host"):
                host = value
            elif name in ("-c", "--context"):
                context = value
            else:
                _apply_global(name, value)
        elif token.startswith("-H") and len(token) > 2:
            host = token[2:]
        elif token in _GLOBAL_FLAGS:
            _apply_global(token, "")
        elif token.startswith("-"):
            from .errors import UsageError

            raise UsageError(f"unknown flag: {token}\nSee 'cove --help'.")
        else:
            return _with_context(host, context), argv[i:], None
        i += 1
    return _with_context(host, context), [], "help"


def _with_context(host: str | None, context: str | None) -> str | None:
    """``--context NAME`` as the host it names; with ``-H`` too, docker's conflict."""
    if context is None:
        return host
    from .errors import CommandFailed

    if host is not None:
        raise CommandFailed("conflicting options: either specify --host or --context, not both")
    from ..client.contexts import ContextError, host_of

    try:
        host = host_of(context)
    except ContextError as exc:
        raise CommandFailed(f"Failed to initialize: {exc}") from exc
    os.environ["COVE_CONTEXT"] = context  # what `context show` and `version` then name
    return host


_LOG_LEVELS = ("trace", "debug", "info", "warn", "warning", "error", "fatal", "panic")


def _apply_global(name: str, value: str) -> None:
    """Docker's global flags: each takes effect, or is refused as docker refuses what it
    cannot do (a failure to initialise, exit 1). The CLI writes no logs, so a valid
    ``--log-level`` has nothing more to change."""
    from .errors import CommandFailed

    if name in ("-l", "--log-level"):
        if value.lower() not in _LOG_LEVELS:
            raise CommandFailed(f"Unable to parse logging level: {value}")
    elif name == "--config":
        os.environ["COVE_CONFIG"] = value  # the client's config dir, as docker's --config
    elif name in ("-D", "--debug"):
        os.environ["DEBUG"] = "1"  # what docker's -D sets; ``info`` shows Debug Mode: true
    else:  # --tls, --tlsverify, --tlscacert, --tlscert, --tlskey
        raise CommandFailed(f"Failed to initialize: {name} is not supported: Cove reaches its "
                            "engine over a Unix socket (or SSH to its VM), not TLS")


def _resolve(words: list[str]) -> tuple[str, str, list[str]] | None:
    """(module, command key, rest) for ``run ...`` or ``container run ...``."""
    head, rest = words[0], words[1:]
    if head in TOP_LEVEL:
        return TOP_LEVEL[head], head, rest
    group = GROUPS.get(head)
    if group is not None and rest and rest[0] in group:
        module, key = group[rest[0]]
        return module, key, rest[1:]
    return None


def main(argv: list[str] | None = None) -> int:
    """Run one command. Called without ``argv`` (the ``cove`` executable), it ends the process.

    The process then exits with ``os._exit`` once the output is flushed: tearing down the
    interpreter (every module, every object) adds 5-15 ms to each command and does nothing
    a CLI needs. Open files are closed by their handlers and nothing registers atexit work.
    """
    if argv is None:
        code = dispatch(sys.argv[1:])
        exit_now(code)
    return dispatch(argv)


def exit_now(code: int) -> NoReturn:
    """Flush stdout and stderr and end the process with ``code``, skipping interpreter teardown."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code if isinstance(code, int) else 1)


def dispatch(argv: list[str]) -> int:
    """Parse the global flags and run the command; returns the exit status."""
    try:
        host_flag, words, action = _split_globals(argv)
        if action == "version":
            sys.stdout.write(version_text() + "\n")
            return 0
        if action == "help":
            sys.stdout.write(USAGE)
            return 0
        resolved = _resolve(words)
        if resolved is None:
            return _group_usage(words)
    except Exception as exc:  # noqa: BLE001 - the kinds are imported on failure only: --version stays fast
        from .errors import CLIError

        if not isinstance(exc, CLIError):
            raise
        sys.stderr.write(exc.show())
        return exc.exit_code
    module_name, key, rest = resolved
    return run_command(module_name, key, rest, host_flag)


def _group_usage(words: list[str]) -> int:
    """``cove volume`` lists the group's commands; anything else is an unknown command."""
    from .errors import CommandFailed

    head = words[0]
    if head not in GROUPS:
        raise CommandFailed(f"cove: unknown command: cove {head}\n\n"
                            "Run 'cove --help' for more information")
    if len(words) > 1 and words[1] not in ("-h", "--help"):
        raise CommandFailed(f"cove: unknown command: cove {head} {words[1]}\n\n"
                            f"Run 'cove {head} --help' for more information")
    sys.stdout.write(f"\nUsage:  cove {head} COMMAND\n\nCommands:\n")
    for name in sorted(GROUPS[head]):
        sys.stdout.write(f"  {name}\n")
    return 0


def _aliases(module_name: str, key: str) -> list[str]:
    """Every name a command answers to, in docker's help order: its own group's forms, the
    top-level one, then the other groups'."""
    by_group = [[f"cove {group} {sub}" for sub, target in subs.items()
                 if target == (module_name, key)] for group, subs in GROUPS.items()]
    homes = [names for names in by_group if names]
    top = [f"cove {key}"] if TOP_LEVEL.get(key) == module_name else []
    if not homes:
        return top
    return homes[0] + top + [name for names in homes[1:] for name in names]


def run_command(module_name: str, key: str, argv: list[str], host_flag: str | None) -> int:
    import importlib

    from .command import Cli, parse
    from .errors import EXIT_CODES, INTERRUPTED, ArgCountError, CLIError, CommandFailed

    module = importlib.import_module(f"{__package__}.{module_name}")
    command = module.COMMANDS[key]
    try:
        args, parser = parse(command, key, argv)
        if args.help:
            sys.stdout.write(parser.format_help(_aliases(module_name, key)))
            return 0
        count = len(args.args)
        if count < command.min_args or (command.max_args is not None and count > command.max_args):
            raise ArgCountError(_arity_message(command, key))
        from ..client.transport import resolve_host

        cli = Cli(resolve_host(host_flag))
        return int(command.handler(args, cli) or 0)
    except CLIError as exc:
        sys.stderr.write(exc.show(key, command.usage))
        return exc.exit_code
    except KeyboardInterrupt:
        return INTERRUPTED
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - these failures docker prints as they are
        from ..client.errors import ClientError
        from .template import TemplateError

        if not isinstance(exc, ClientError | TemplateError | OSError | ValueError):
            raise
        sys.stderr.write(f"{exc}\n")
        return EXIT_CODES[CommandFailed]
    finally:
        try:
            sys.stdout.flush()
        except (BrokenPipeError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _arity_message(command: object, full_name: str) -> str:
    min_args = getattr(command, "min_args", 0)
    max_args = getattr(command, "max_args", None)
    if max_args == 0:
        return f"'cove {full_name}' accepts no arguments"
    if min_args == max_args:
        noun = "argument" if min_args == 1 else "arguments"
        return f"'cove {full_name}' requires {min_args} {noun}"
    if max_args is not None and min_args == 0:
        return f"'cove {full_name}' requires at most {max_args} argument{'s' if max_args != 1 else ''}"
    noun = "argument" if min_args == 1 else "arguments"
    return f"'cove {full_name}' requires at least {min_args} {noun}"


if __name__ == "__main__":
    raise SystemExit(main())
