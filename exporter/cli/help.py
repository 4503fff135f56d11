"""`--help` written the way Prometheus exporters write it (kingpin's layout).

    usage: kafka-vitals [<flags>] [<command>]

    Flags:
      -h, --help                  Show context-sensitive help.
          --web.listen-address=":10308"
                                  Address to listen on ... ($KAFKA_VITALS_WEB_LISTEN_ADDRESS)
          --[no-]kafka.tls-verify-hostname
                                  ...

Each flag shows its default after `=`, booleans show `--[no-]flag`, and flags that map to a
configuration key name their environment variable.
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Sequence

WIDTH = 100
COLUMN = 34


def _left(action: argparse.Action) -> str:
    longs = [s for s in action.option_strings if s.startswith("--")]
    shorts = [s for s in action.option_strings if not s.startswith("--")]
    flag = longs[0] if longs else action.option_strings[0]
    if action.nargs == "?" and action.const == "true":
        text = f"--[no-]{flag[2:]}"
    elif action.nargs == 0:
        text = flag
    else:
        text = f"{flag}={action.metavar or 'VALUE'}"
    return f"{shorts[0]}, {text}" if shorts else f"    {text}"


def _lines(left: str, text: str) -> list[str]:
    body = textwrap.wrap(text, WIDTH - COLUMN) or [""]
    head = f"  {left}"
    if len(head) + 2 > COLUMN:
        return [head, *(" " * COLUMN + line for line in body)]
    return [head.ljust(COLUMN) + body[0], *(" " * COLUMN + line for line in body[1:])]


def format_help(
    parser: argparse.ArgumentParser,
    usage: str,
    commands: Sequence[tuple[str, str]] = (),
) -> str:
    """The help of `parser`: usage, description, flags by group, then the commands."""
    out = [f"usage: {usage}", ""]
    if parser.description:
        out += [*textwrap.wrap(parser.description, WIDTH), ""]
    for group in parser._action_groups:
        shown = [
            a for a in group._group_actions if a.option_strings and a.help is not argparse.SUPPRESS
        ]
        if not shown:
            continue
        title = group.title or "Flags"
        out.append("Flags:" if title in ("options", "optional arguments") else f"{title}:")
        for action in shown:
            out += _lines(_left(action), (action.help or "") % {"prog": parser.prog})
        out.append("")
    if commands:
        out.append("Commands:")
        for name, text in commands:
            out += _lines(name, text)
        out.append("")
    return "\n".join(out)
