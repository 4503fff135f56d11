"""The `kafka-vitals` command: a dispatch table of subcommands.

    kafka-vitals --version                        (anywhere on the line)
    kafka-vitals [serve] [--config FILE] [--web.listen-address=ADDR] [...]
    kafka-vitals --kafka.server=broker:9092 --topic.filter=orders   (kafka_exporter's flags)
    kafka-vitals check [--config FILE] [...]

Without a subcommand the exporter serves, as every Prometheus exporter does; flags may stand
before or after the subcommand. Booleans are `--flag` / `--no-flag` (or `--flag=false`).

Adding a subcommand: write `configure(parser)` (adds its arguments) and `run(args) -> int` (the
exit code), and add one `Subcommand` to `SUBCOMMANDS`. Import heavy modules inside `run`, so
`--help` stays fast. Commands that need the exporter's configuration call
`add_config_arguments` in `configure` and `load(args)` in `run`.

Exit codes: 0 success, 1 failure at run time (e.g. the cluster is unreachable, the port is taken),
2 bad flags or configuration: one line per problem on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from exporter import __version__
from exporter.config import Config

PROG = "kafka-vitals"
DESCRIPTION = (
    "Prometheus exporter for the Apache Kafka vitals: consumer lag, replication, broker latency, "
    "message rates and rebalances, from the Admin API and JMX. Accepts kafka_exporter's flags."
)
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad flags or configuration: each line is printed as it is, and the exit code is 2."""

    def __init__(self, lines: Sequence[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = tuple(lines)


@dataclass(frozen=True, slots=True)
class Subcommand:
    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (and a did-you-mean for unknown flags) instead of usage,
    and help in the layout of Prometheus exporters."""

    usage_line = f"{PROG} [<flags>] [<command>]"
    commands: tuple[tuple[str, str], ...] = ()

    def format_help(self) -> str:
        from exporter.cli.help import format_help

        return format_help(self, self.usage_line, self.commands)

    def error(self, message: str) -> NoReturn:
        raise UsageError([f"{self.prog}: {message} (see {self.prog} --help)"])

    def unknown(self, extras: Sequence[str]) -> UsageError:
        """One line per unknown flag (its value skipped), with a did-you-mean."""
        known = [s for a in self._actions for s in a.option_strings]
        lines: list[str] = []
        for arg in extras:
            if not arg.startswith("-"):
                if not lines:
                    close = difflib.get_close_matches(arg, [c.name for c in SUBCOMMANDS], n=1)
                    hint = f" (did you mean the command {close[0]}?)" if close else ""
                    lines.append(f"{self.prog}: unexpected argument {arg!r}{hint}")
                continue
            flag = arg.split("=", 1)[0]
            close = difflib.get_close_matches(flag, known, n=1, cutoff=0.7)
            hint = f" (did you mean {close[0]}?)" if close else ""
            lines.append(f"{self.prog}: unknown flag {flag}{hint}")
        return UsageError(lines)


# ---- configuration arguments shared by subcommands ------------------------------------------


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """`--config FILE`, one flag per configuration key (secrets excepted; booleans as
    `--[no-]key`), and kafka_exporter's flags."""
    from exporter.cli import compat as cli_compat
    from exporter.config.keys import keys

    parser.add_argument(
        "--config",
        metavar="FILE",
        help="YAML configuration file (optional: every key can also come from the environment)",
    )
    docs = _key_docs()
    groups: dict[str, argparse._ArgumentGroup] = {}
    for key in keys():
        if key.flag is None:
            continue
        section = key.path.split(".", 1)[0] if "." in key.path else "other"
        if section not in groups:
            groups[section] = parser.add_argument_group(f"{section} settings")
        text = f"{docs.get(key.path, '')} (${key.env})".lstrip()
        if key.type is bool:
            cli_compat.add_bool(groups[section], key.flag, key.path, text, *key.flag_aliases)
            continue
        groups[section].add_argument(
            key.flag,
            *key.flag_aliases,
            dest=key.path,
            metavar=_shown_default(key.default),
            default=None,
            help=text,
        )
    cli_compat.add_arguments(parser)


def _key_docs() -> dict[str, str]:
    """key path -> the first sentence of its docstring in exporter/config.py."""
    import dataclasses
    from typing import get_type_hints

    from exporter.docs_gen import field_docs

    docs = field_docs()
    out: dict[str, str] = {}
    for name, tp in get_type_hints(Config).items():
        own = docs.get(getattr(tp, "__name__", ""), {}) if dataclasses.is_dataclass(tp) else {}
        for field_name, text in own.items():
            if field_name:
                out[f"{name}.{field_name}"] = text.split("\n\n", 1)[0].replace("\n", " ")
    out.setdefault("collectors", docs.get("Config", {}).get("collectors", ""))
    return out


def _shown_default(value: object) -> str:
    import json

    if isinstance(value, tuple | list):
        value = ",".join(str(v) for v in value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return json.dumps(value)
    if hasattr(value, "items"):
        value = ",".join(f"{k}={v}" for k, v in value.items())
    return json.dumps(str(value)) if value is not None else "VALUE"


def load(args: argparse.Namespace) -> Config:
    """The configuration from `--config`, the environment and the flags; UsageError if bad."""
    from exporter.cli.compat import translate
    from exporter.config.keys import keys
    from exporter.configure import ConfigError, load_config

    compat = translate(args)
    if compat.problems:
        raise UsageError([f"{PROG}: {p}" for p in compat.problems])
    flags = dict(compat.values)  # the key's own flag wins over a kafka_exporter flag
    flags.update(
        {k.path: getattr(args, k.path) for k in keys() if getattr(args, k.path, None) is not None}
    )
    sources = {p: s for p, s in compat.sources.items() if getattr(args, p, None) is None}
    try:
        return load_config(args.config, flags=flags, flag_sources=sources)
    except ConfigError as exc:
        raise UsageError([f"config: {p}" for p in exc.problems]) from None


def _setup_logging(config: Config, args: argparse.Namespace) -> None:
    import logging

    from exporter.cli.compat import translate
    from exporter.config.load import unknown_env
    from exporter.logs import setup_logging

    setup_logging(config.log.level, config.log.format)
    log = logging.getLogger(__name__)
    for hint in unknown_env():
        log.warning("ignored environment variable detail=%r", hint)
    for warning in translate(args).warnings:
        log.warning("kafka_exporter flag detail=%r", warning)


# ---- serve -----------------------------------------------------------------------------------


def _run_serve(args: argparse.Namespace) -> int:
    config = load(args)
    _setup_logging(config, args)
    from exporter.app import serve
    from exporter.ownership import OwnershipError
    from exporter.sources.admin_scope import with_broker_id
    from exporter.webconfig import WebConfigError

    try:
        config = with_broker_id(config)
    except OwnershipError as exc:
        raise UsageError([f"{PROG}: {exc}"]) from None

    try:
        return serve(config)
    except WebConfigError as exc:  # the file changed after the configuration was checked
        for problem in exc.problems:
            print(f"{PROG}: web.config_file: {problem}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(
            f"{PROG}: cannot listen on {config.web.listen_address}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return EXIT_FAILED


# ---- check -----------------------------------------------------------------------------------


def _run_check(args: argparse.Namespace) -> int:
    config = load(args)
    _setup_logging(config, args)
    from exporter.check_report import report
    from exporter.poller import Poller

    poller = Poller(config)
    try:
        snapshot = poller.poll_once()
        stages = poller.last_stages
    finally:
        poller.stop()
    text, ok = report(config, snapshot, stages)
    print(text)
    return EXIT_OK if ok else EXIT_FAILED


# ---- render ----------------------------------------------------------------------------------


BUNDLE_RENDER = "bundle.render"
"""The bundle's render, found by name: the exporter package never imports the bundle (which sits
above it, see docs/architecture.md); the command only hands it its arguments."""


def _bundle_render() -> Any:
    try:
        return importlib.import_module(BUNDLE_RENDER)
    except ImportError as exc:
        raise UsageError(
            [f"{PROG} render: the alert and dashboard bundle is not installed ({exc})"]
        ) from None


def _configure_render(parser: argparse.ArgumentParser) -> None:
    try:
        _bundle_render().configure(parser)
    except UsageError:
        return  # reported when the command runs


def _run_render(args: argparse.Namespace) -> int:
    code: int = _bundle_render().run(args)
    return code


SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand(
        "serve",
        "poll Kafka in the background and serve /metrics until SIGTERM or SIGINT",
        add_config_arguments,
        _run_serve,
    ),
    Subcommand(
        "check",
        "validate the configuration, poll the cluster once and print a summary",
        add_config_arguments,
        _run_check,
    ),
    Subcommand(
        "render",
        "write the alert rules, PrometheusRule, Alertmanager example, promtool tests, alert docs "
        "and dashboards from the thresholds and an overrides file",
        _configure_render,
        _run_render,
    ),
)


DEFAULT_COMMAND = "serve"
"""What `kafka-vitals [<flags>]` runs, as an exporter does without a subcommand."""


def build_parser() -> tuple[_Parser, dict[str, _Parser]]:
    """The top-level parser and the parser of each subcommand."""
    parser = _Parser(prog=PROG, description=DESCRIPTION, allow_abbrev=False)
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    children: dict[str, _Parser] = {}
    for command in SUBCOMMANDS:
        child = sub.add_parser(
            command.name,
            help=command.help,
            description=DESCRIPTION if command.name == DEFAULT_COMMAND else command.help,
            allow_abbrev=False,
            add_help=False,
        )
        child.add_argument("-h", "--help", action="help", help="Show context-sensitive help.")
        child.add_argument(
            "--version",
            action="version",
            version=f"{PROG} {__version__}",
            help="Show application version.",
        )
        command.configure(child)
        child.set_defaults(run=command.run)
        child.usage_line = f"{PROG} {command.name} [<flags>]"
        children[command.name] = child
    serve = children[DEFAULT_COMMAND]
    serve.usage_line = f"{PROG} [{DEFAULT_COMMAND}] [<flags>]"
    serve.commands = tuple(
        (c.name + (" (default)" if c.name == DEFAULT_COMMAND else ""), c.help) for c in SUBCOMMANDS
    )
    return parser, children


def arrange(argv: Sequence[str], children: dict[str, _Parser]) -> list[str]:
    """The arguments with the subcommand first: `serve` when none is named, and flags given
    before the subcommand moved after it (`kafka-vitals --log.level=debug check`)."""
    args = list(argv)
    takes_value = {
        flag
        for child in children.values()
        for action in child._actions
        if action.nargs not in (0, "?")
        for flag in action.option_strings
    }
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg in children and (i == 0 or args[i - 1] not in takes_value):
            return [arg, *args[:i], *args[i + 1 :]]
    return [DEFAULT_COMMAND, *args]


def main(argv: Sequence[str] | None = None) -> int:
    parser, children = build_parser()
    given = list(sys.argv[1:] if argv is None else argv)
    try:
        if "--version" in given:
            print(f"{PROG} {__version__}")
            return EXIT_OK
        arranged = arrange(given, children)
        args, extras = parser.parse_known_args(arranged)
        if extras:
            raise children[arranged[0]].unknown(extras)
        code: int = args.run(args)
        return code
    except UsageError as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
