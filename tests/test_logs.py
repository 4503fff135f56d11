"""Log lines: logfmt and JSON, key=value messages split into fields, one line per record."""

from __future__ import annotations

import io
import json
import logging

from exporter.logs import setup_logging, split_message


def _emit(fmt: str, level: str = "info") -> list[str]:
    stream = io.StringIO()
    setup_logging(level, fmt, stream)
    log = logging.getLogger("exporter.test")
    log.debug("hidden unless debug")
    log.info("server started address=%s path=%s", ":10308", "/metrics")
    log.warning("source failed source=admin error=%r", 'refused: "x"')
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("cycle failed stage=metadata")
    setup_logging("info", "logfmt")  # back to stderr for the rest of the session
    return stream.getvalue().splitlines()


def test_split_message() -> None:
    assert split_message("done seconds=0.5 series=10") == (
        "done",
        [("seconds", "0.5"), ("series", "10")],
    )
    assert split_message("failed error='a b' x=\"c d\"") == (
        "failed",
        [("error", "a b"), ("x", "c d")],
    )
    assert split_message("plain text") == ("plain text", [])
    assert split_message("odd x=['a', 'b']") == ("odd x=['a', 'b']", [])


def test_logfmt_lines() -> None:
    lines = _emit("logfmt")
    assert len(lines) == 3
    assert lines[0].startswith("ts=") and lines[0].endswith(
        'level=info logger=exporter.test msg="server started" address=:10308 path=/metrics'
    )
    assert 'level=warn logger=exporter.test msg="source failed" source=admin' in lines[1]
    assert 'error="refused: \\"x\\""' in lines[1]
    assert "level=error" in lines[2] and 'exc="Traceback' in lines[2]
    assert "ValueError: boom" in lines[2]


def test_json_lines_and_level() -> None:
    lines = _emit("json", "debug")
    records = [json.loads(line) for line in lines]
    assert [r["level"] for r in records] == ["debug", "info", "warn", "error"]
    assert records[1]["msg"] == "server started" and records[1]["path"] == "/metrics"
    assert records[2]["error"] == 'refused: "x"'
    assert "ValueError: boom" in records[3]["exc"]
    assert logging.getLogger().level == logging.INFO
