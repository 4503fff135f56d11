"""Facts read from the Dockerfile's final stage, for tests that check other files against it."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parents[2] / "Dockerfile"


@dataclass(frozen=True, slots=True)
class DockerfileFacts:
    exposed_port: int
    uid: int
    entrypoint: list[str]
    cmd: list[str]
    config_path: str
    """The file after `--config` in CMD: where the configuration is mounted."""
    healthcheck: list[str]
    froms: list[str]


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        if raw.lstrip().startswith("#") and not pending:
            continue
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        lines.append(pending + raw)
        pending = ""
    out = []
    for line in lines:
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


@functools.cache
def dockerfile_facts(path: Path = DOCKERFILE) -> DockerfileFacts:
    steps = instructions(path.read_text())
    froms = [args.split()[0] for word, args in steps if word == "FROM"]
    final = steps[max(i for i, (word, _) in enumerate(steps) if word == "FROM") :]

    def last(word: str) -> str:
        values = [args for w, args in final if w == word]
        if not values:
            raise AssertionError(f"{path}: no {word} in the final stage")
        return values[-1]

    cmd: list[str] = json.loads(last("CMD"))
    health = re.sub(r"^(--\S+\s+)*CMD\s+", "", last("HEALTHCHECK"))
    return DockerfileFacts(
        exposed_port=int(last("EXPOSE").split("/")[0]),
        uid=int(last("USER").split(":")[0]),
        entrypoint=json.loads(last("ENTRYPOINT")),
        cmd=cmd,
        config_path=cmd[cmd.index("--config") + 1],
        healthcheck=json.loads(health),
        froms=froms,
    )
