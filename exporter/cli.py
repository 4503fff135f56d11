"""The `kafka-vitals` command: a dispatch table of subcommands.

    kafka-vitals --version
    kafka-vitals serve [--config FILE] [--web.listen-address ADDR] [...]
    kafka-vitals check [--config FILE] [...]

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
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NoReturn

from exporter import __version__
from exporter.config import Config

PROG = "kafka-vitals"
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
    """argparse with one-line errors (and a did-you-mean for unknown flags) instead of usage."""

    def error(self, message: str) -> NoReturn:
        raise UsageError([f"{self.prog}: {message} (see {self.prog} --help)"])

    def unknown(self, extras: Sequence[str]) -> UsageError:
        """One line per unknown flag (its value skipped), with a did-you-mean."""
        known = [s for a in self._actions for s in a.option_strings]
        lines: list[str] = []
        for arg in extras:
            if not arg.startswith("-"):
                if not lines:
                    lines.append(f"{self.prog}: unexpected argument {arg!r}")
                continue
            flag = arg.split("=", 1)[0]
            close = difflib.get_close_matches(flag, known, n=1, cutoff=0.7)
            hint = f" (did you mean {close[0]}?)" if close else ""
            lines.append(f"{self.prog}: unknown flag {flag}{hint}")
        return UsageError(lines)


# ---- configuration arguments shared by subcommands ------------------------------------------


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """`--config FILE` and one flag per configuration key (secrets excepted)."""
    from exporter.config.keys import keys

    parser.add_argument(
        "--config",
        metavar="FILE",
        help="YAML configuration file (optional: every key can also come from the environment)",
    )
    groups: dict[str, argparse._ArgumentGroup] = {}
    for key in keys():
        if key.flag is None:
            continue
        section = key.path.split(".", 1)[0] if "." in key.path else "other"
        if section not in groups:
            groups[section] = parser.add_argument_group(f"{section} settings")
        groups[section].add_argument(
            key.flag,
            *key.flag_aliases,
            dest=key.path,
            metavar="VALUE",
            default=None,
            help=f"env {key.env}",
        )


def load(args: argparse.Namespace) -> Config:
    """The configuration from `--config`, the environment and the flags; UsageError if bad."""
    from exporter.config.keys import keys
    from exporter.configure import ConfigError, load_config

    flags = {
        k.path: getattr(args, k.path) for k in keys() if getattr(args, k.path, None) is not None
    }
    try:
        return load_config(args.config, flags=flags)
    except ConfigError as exc:
        raise UsageError([f"config: {p}" for p in exc.problems]) from None


def _setup_logging(config: Config) -> None:
    from exporter.config.load import unknown_env
    from exporter.logs import setup_logging

    setup_logging(config.log.level, config.log.format)
    if hints := unknown_env():
        import logging

        for hint in hints:
            logging.getLogger(__name__).warning("ignored environment variable detail=%r", hint)


# ---- serve -----------------------------------------------------------------------------------


def _run_serve(args: argparse.Namespace) -> int:
    config = load(args)
    _setup_logging(config)
    from exporter.app import serve
    from exporter.webconfig import WebConfigError

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
    _setup_logging(config)
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


def _configure_render(parser: argparse.ArgumentParser) -> None:
    from alerts.render import configure

    configure(parser)


def _run_render(args: argparse.Namespace) -> int:
    from alerts.render import run

    return run(args)


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


def build_parser() -> tuple[_Parser, dict[str, _Parser]]:
    """The top-level parser and the parser of each subcommand."""
    parser = _Parser(
        prog=PROG,
        description="Prometheus exporter for the Apache Kafka vitals.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    children: dict[str, _Parser] = {}
    for command in SUBCOMMANDS:
        child = sub.add_parser(
            command.name,
            help=command.help,
            description=command.help,
            usage=(
                "%(prog)s [--config FILE] [--SECTION.KEY VALUE ...]"
                if command.configure is add_config_arguments
                else None
            ),
            allow_abbrev=False,
        )
        command.configure(child)
        child.set_defaults(run=command.run)
        children[command.name] = child
    return parser, children


def main(argv: Sequence[str] | None = None) -> int:
    parser, children = build_parser()
    try:
        args, extras = parser.parse_known_args(argv)
        if extras:
            raise children.get(args.command, parser).unknown(extras)
        if getattr(args, "run", None) is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
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
