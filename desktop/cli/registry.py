"""Registry commands: pull, push, login, logout — docker's output byte for byte.

The daemon does the registry work; the CLI normalises the reference, finds the stored
credentials for its registry (``X-Registry-Auth``), and renders the JSON progress stream.
"""

from __future__ import annotations

from .command import Cli, Command
from .errors import CommandFailed

TYPE_CHECKING = False  # ``typing`` costs milliseconds to import; type checkers know the name
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any, TextIO

    from cove.common.reference import Reference

    from ..client.credentials import ConfigFile
    from .command import FlagParser, Namespace
    from .jsonmessage import Discard

UNENCRYPTED_WARNING = """
WARNING! Your credentials are stored unencrypted in '{path}'.
Configure a credential helper to remove this warning. See
https://docs.docker.com/go/credential-store/
"""
PASSWORD_FLAG_WARNING = "WARNING! Using --password via the CLI is insecure. Use --password-stdin."
EXISTING_CREDENTIALS = ("Authenticating with existing credentials... [Username: {user}]\n\n"
                        " Info -> To login with a different account, run 'docker logout' "
                        "followed by 'docker login'\n\n")
DOCKER_HOLDS = ("WARNING: the credentials for {server} in {path} were stored by docker login "
                "and are still used; remove them with: docker logout {server}")
NON_TTY_LOGIN = "Error: Cannot perform an interactive login from a non TTY device"


def render_stream(messages: Iterable[Any], out: TextIO | Discard,
                  aux: Callable[[dict[str, Any]], None] | None = None) -> None:
    """Render a progress stream; an error in it (``StreamError``) ends the command."""
    from .jsonmessage import display_stream

    display_stream(messages, out, aux=aux)  # type: ignore[arg-type]


def registry_auth(ref: Reference) -> str:
    """The X-Registry-Auth header for ``ref``'s registry, from cove's or docker's config.json."""
    from ..client.credentials import auth_header_for

    return auth_header_for(ref.index_name)


def pull_image(cli: Cli, ref: Reference, out: TextIO | Discard, platform: str | None = None,
               all_tags: bool = False) -> None:
    """Pull ``ref`` and render the progress to ``out`` (``run``/``create`` use stderr)."""
    tag = None if all_tags else ref.api_tag
    messages = cli.client.pull(ref.name, tag, platform, registry_auth(ref))
    render_stream(messages, out)


def pull(args: Namespace, cli: Cli) -> int:
    from cove.common.reference import parse_normalized

    from .jsonmessage import Discard

    ref = parse_normalized(args.args[0])
    if args.all_tags and not ref.name_only:
        raise CommandFailed("tag can't be used with --all-tags/-a")
    if not args.all_tags and ref.name_only:
        ref = ref.with_default_tag()
        if not args.quiet:
            cli.out(f"Using default tag: {ref.tag}")
    pull_image(cli, ref, Discard() if args.quiet else cli.stdout, args.platform, args.all_tags)
    cli.out(str(ref))
    return 0


def push(args: Namespace, cli: Cli) -> int:
    from cove.common.reference import parse_normalized

    from .jsonmessage import Discard

    ref = parse_normalized(args.args[0])
    if ref.digest:
        raise CommandFailed("cannot push a digest reference")
    if args.all_tags and not ref.name_only:
        raise CommandFailed("tag can't be used with --all-tags/-a")
    if not args.all_tags and ref.name_only:
        ref = ref.with_default_tag()
        if not args.quiet:
            cli.out(f"Using default tag: {ref.tag}")
    messages = cli.client.push(ref.familiar_name, None if args.all_tags else ref.tag,
                               registry_auth(ref), args.platform)
    render_stream(messages, Discard() if args.quiet else cli.stdout)
    if args.quiet:
        cli.out(str(ref))
    return 0


def _read_password_stdin(cli: Cli) -> str:
    data = cli.stdin.read()
    return data.removesuffix("\n").removesuffix("\r")


def _prompt(cli: Cli, server: str, username: str, password: str,
            default_user: str = "") -> tuple[str, str]:
    """Ask for what is missing, as docker does; only on a terminal."""
    try:
        interactive = cli.stdin.isatty()
    except (AttributeError, ValueError):
        interactive = False
    if not interactive:
        raise CommandFailed(NON_TTY_LOGIN)
    if not username:
        label = f"Username ({default_user}): " if default_user else "Username: "
        cli.stdout.write(label)
        cli.stdout.flush()
        username = cli.stdin.readline().strip() or default_user
        if not username:
            raise CommandFailed("Error: Non-null Username Required")
    if not password:
        import getpass

        password = getpass.getpass("Password: ", stream=cli.stdout)
        if not password:
            raise CommandFailed("Error: Password Required")
    return username, password


def login(args: Namespace, cli: Cli) -> int:
    from cove.common.reference import DEFAULT_DOMAIN, INDEX_SERVER, convert_to_hostname

    from ..client.credentials import Credentials, CredentialsError
    from ..client.errors import APIError

    username, password = args.username or "", args.password or ""
    if password:
        cli.err(PASSWORD_FLAG_WARNING)
        if args.password_stdin:
            raise CommandFailed("conflicting options: cannot specify both --password and "
                                "--password-stdin")
    if args.password_stdin:
        if not username:
            raise CommandFailed("the --password-stdin option requires --username to be set")
        password = _read_password_stdin(cli)
    given = args.args[0] if args.args else ""
    server = INDEX_SERVER if given in ("", DEFAULT_DOMAIN, INDEX_SERVER) else (
        convert_to_hostname(given))
    try:
        credentials = Credentials.load()
        stored = credentials.get_auth(server) if not username and not password else {}
    except CredentialsError as exc:
        raise CommandFailed(str(exc)) from exc
    auth: dict[str, str] = {}
    response: Any = None
    if stored.get("username") and (stored.get("password") or stored.get("identitytoken")):
        cli.err(EXISTING_CREDENTIALS.format(user=stored["username"]))
        try:
            response = cli.client.login({k: stored[k] for k in (
                "username", "password", "serveraddress", "identitytoken") if stored.get(k)})
        except APIError as exc:
            cli.err(f"Login did not succeed, error: {exc}")
        else:
            token = (response or {}).get("IdentityToken") or ""
            if token and token != stored.get("identitytoken"):
                _store(cli, credentials.own,
                       {**stored, "password": "", "identitytoken": token})
            cli.out(str((response or {}).get("Status") or "Login Succeeded"))
            return 0
    if response is None:
        username, password = (username, password) if username and password else _prompt(
            cli, server, username, password, stored.get("username", ""))
        auth = {"username": username, "password": password, "serveraddress": server}
        response = cli.client.login(auth)
    token = (response or {}).get("IdentityToken") or ""
    if token:
        auth = {**auth, "password": "", "identitytoken": token}
    auth["serveraddress"] = server
    _store(cli, credentials.own, auth)
    cli.out(str((response or {}).get("Status") or "Login Succeeded"))
    return 0


def _store(cli: Cli, config: ConfigFile, auth: dict[str, str]) -> None:
    """Save ``auth`` where cove's config.json says (helper or file); warn if it is plain text."""
    from ..client.credentials import CredentialsError, FileStore

    try:
        store = config.store_for(auth["serveraddress"])
        if isinstance(store, FileStore) and auth.get("password"):
            cli.err(UNENCRYPTED_WARNING.format(path=config.path))
        store.store(auth)
    except CredentialsError as exc:
        message = str(exc)
        if not message.startswith("Error saving credentials"):
            message = f"Error saving credentials: {message}"
        raise CommandFailed(message) from exc


def logout(args: Namespace, cli: Cli) -> int:
    """Erase the login from cove's config; one only docker's config holds is left to docker.

    Rewriting docker's file behind its back would surprise a user of both tools, so, as
    podman does, the user is told which command removes it.
    """
    from cove.common.reference import DEFAULT_DOMAIN, INDEX_SERVER, convert_to_hostname

    from ..client.credentials import Credentials, CredentialsError

    given = args.args[0] if args.args else ""
    if given in ("", DEFAULT_DOMAIN):
        server, hostname, candidates = INDEX_SERVER, INDEX_SERVER, [INDEX_SERVER]
    else:
        server, hostname = given, convert_to_hostname(given)
        candidates = list(dict.fromkeys(
            [server, hostname, f"http://{hostname}", f"https://{hostname}"]))
    cli.out(f"Removing login credentials for {hostname}")
    try:
        credentials = Credentials.load()
    except CredentialsError as exc:
        raise CommandFailed(str(exc)) from exc
    docker_only = [c for c in candidates if credentials.docker_holds(c)]
    if docker_only and credentials.docker is not None:
        cli.err(DOCKER_HOLDS.format(server=hostname, path=credentials.docker.path))
    errors: dict[str, str] = {}
    for candidate in candidates:
        try:
            credentials.own.store_for(candidate).erase(candidate)
        except CredentialsError as exc:
            errors[candidate] = str(exc)
    if len(errors) == len(candidates):
        cli.err("WARNING: could not erase credentials:")
        for candidate, message in errors.items():
            cli.err(f"{candidate}: {message}")
    return 0


SEARCH_FORMAT = "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}"
SEARCH_HEADERS = {"Name": "NAME", "Description": "DESCRIPTION", "StarCount": "STARS",
                  "IsOfficial": "OFFICIAL", "IsAutomated": "AUTOMATED"}


class _SearchRow:
    """One result with the fields docker's search template offers."""

    def __init__(self, result: dict[str, Any], trunc: bool) -> None:
        self.Name = str(result.get("name") or "")
        description = str(result.get("description") or "").replace("\n", " ").replace("\r", " ")
        if trunc and len(description) > 45:
            description = description[:44] + "…"
        self.Description = description
        self.StarCount = str(result.get("star_count") or 0)
        self.IsOfficial = "[OK]" if result.get("is_official") else ""
        self.IsAutomated = "[OK]" if result.get("is_automated") else ""


def search(args: Namespace, cli: Cli) -> int:
    """``search TERM``: the daemon asks the registry (Docker Hub unless the term names
    one); the client sends its login for that registry, as for a pull."""
    from cove.common.reference import INDEX_SERVER

    from ..client.credentials import auth_header_for
    from .command import parse_filters
    from .formatter import render

    term = args.args[0]
    first, sep, _rest = term.partition("/")
    index = first if sep and ("." in first or ":" in first or first == "localhost") \
        else INDEX_SERVER
    results = cli.client.search(term, args.limit, parse_filters(args.filter),
                                auth_header_for(index)) or []
    rows = [_SearchRow(result, not args.no_trunc) for result in results]
    cli.stdout.write(render(args.format or SEARCH_FORMAT, rows, SEARCH_HEADERS))
    return 0


def _search_flags(parser: FlagParser) -> None:
    parser.add_argument("-f", "--filter", action="append", default=[],
                        help="Filter output based on conditions provided")
    parser.add_argument("--format", default=None,
                        help="Pretty-print search using a Go template")
    parser.add_argument("--limit", type=int, default=None, help="Max number of search results")
    parser.add_argument("--no-trunc", action="store_true", help="Don't truncate output")


def _pull_flags(parser: FlagParser) -> None:
    parser.add_argument("-a", "--all-tags", action="store_true",
                        help="Download all tagged images in the repository")
    parser.add_argument("--disable-content-trust", action="store_true", default=True,
                        help="Skip image verification (default true)")
    parser.add_argument("--platform", default=None,
                        help="Set platform if server is multi-platform capable")
    parser.add_argument("-q", "--quiet", action="store_true", help="Suppress verbose output")


def _push_flags(parser: FlagParser) -> None:
    parser.add_argument("-a", "--all-tags", action="store_true",
                        help="Push all tags of an image to the repository")
    parser.add_argument("--disable-content-trust", action="store_true", default=True,
                        help="Skip image signing (default true)")
    parser.add_argument("--platform", default=None,
                        help="Push a platform-specific manifest as a single-platform image")
    parser.add_argument("-q", "--quiet", action="store_true", help="Suppress verbose output")


def _login_flags(parser: FlagParser) -> None:
    parser.add_argument("-p", "--password", default=None, help="Password or Personal Access Token (PAT)")
    parser.add_argument("--password-stdin", action="store_true",
                        help="Take the Password or Personal Access Token (PAT) from stdin")
    parser.add_argument("-u", "--username", default=None, help="Username")


COMMANDS = {
    "pull": Command("pull", "[OPTIONS] NAME[:TAG|@DIGEST]",
                    "Download an image from a registry", pull, _pull_flags,
                    min_args=1, max_args=1),
    "push": Command("push", "[OPTIONS] NAME[:TAG]", "Upload an image to a registry", push,
                    _push_flags, min_args=1, max_args=1),
    "login": Command("login", "[OPTIONS] [SERVER]",
                     "Authenticate to a registry.\nDefaults to Docker Hub if no server is specified.",
                     login, _login_flags, max_args=1),
    "search": Command("search", "[OPTIONS] TERM", "Search Docker Hub for images", search,
                      _search_flags, min_args=1, max_args=1),
    "logout": Command("logout", "[SERVER]",
                      "Log out from a registry.\nIf no server is specified, the default is defined by the daemon.",
                      logout, max_args=1),
}
