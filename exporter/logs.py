"""Logging setup: one line per record on stderr, as logfmt or JSON, one level for the process.

Log messages in kafka-vitals are an event text followed by key=value pairs, e.g.
`log.info("server started address=%s path=%s", ...)`. The formatters split them:

    logfmt: ts=2025-01-01T12:00:00.000Z level=info logger=exporter.app msg="server started"
            address=:10308 path=/metrics
    json:   {"ts": "...", "level": "info", "logger": "exporter.app", "msg": "server started",
             "address": ":10308", "path": "/metrics"}

A message whose tail does not read as key=value pairs stays whole in `msg`. An exception becomes
one `exc` field with its newlines escaped: every record stays one line.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import TextIO

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}
_LEVEL_NAMES = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warn",
    logging.ERROR: "error",
    logging.CRITICAL: "error",
}
_PAIR = re.compile(r"""\s*([A-Za-z_][\w.]*)=("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\S*)""")
_FIRST_KEY = re.compile(r"(?:^|\s)[A-Za-z_][\w.]*=")


def split_message(message: str) -> tuple[str, list[tuple[str, str]]]:
    """('event text', [(key, value), ...]); quotes around values are removed."""
    match = _FIRST_KEY.search(message)
    if match is None:
        return message, []
    head, tail = message[: match.start()].strip(), message[match.start() :]
    pairs: list[tuple[str, str]] = []
    pos = 0
    while pos < len(tail):
        pair = _PAIR.match(tail, pos)
        if pair is None or pair.end() == pos:
            if tail[pos:].strip():
                return message, []
            break
        key, value = pair.group(1), pair.group(2)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        pairs.append((key, value))
        pos = pair.end()
    return head, pairs


def _logfmt_value(value: str) -> str:
    if value and not any(c in value for c in ' "=\\\n\r\t'):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t") + '"'


def _fields(record: logging.LogRecord, formatter: logging.Formatter) -> list[tuple[str, str]]:
    ts = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
    msg, pairs = split_message(record.getMessage())
    fields = [
        ("ts", ts.replace("+00:00", "Z")),
        ("level", _LEVEL_NAMES.get(record.levelno, record.levelname.lower())),
        ("logger", record.name),
        ("msg", msg),
        *pairs,
    ]
    if record.exc_info:
        fields.append(("exc", formatter.formatException(record.exc_info)))
    return fields


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{k}={_logfmt_value(v)}" for k, v in _fields(record, self))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, str] = {}
        for key, value in _fields(record, self):
            out[key if key not in out else f"field.{key}"] = value
        return json.dumps(out, ensure_ascii=False)


def setup_logging(level: str = "info", fmt: str = "logfmt", stream: TextIO | None = None) -> None:
    """Send every logger's records to `stream` (stderr) at `level`, formatted as `fmt`."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else LogfmtFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(LEVELS.get(level, logging.INFO))
