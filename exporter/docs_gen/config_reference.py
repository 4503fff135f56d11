"""`docs/config-reference.yaml`: every configuration key with its default, its environment
variable and its comment, the comments taken from the attribute docstrings in
`exporter/config/model.py` (read with `ast`)."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import textwrap
from collections.abc import Mapping
from typing import Any, Literal, get_args, get_origin, get_type_hints

from exporter.config import Config, Secret
from exporter.config import model as config
from exporter.config.binder import field_default
from exporter.config.keys import ENV_PREFIX


def field_docs() -> dict[str, dict[str, str]]:
    """{class name: {field name or "": docstring}} from the source of exporter/config/model.py."""
    tree = ast.parse(inspect.getsource(config))
    docs: dict[str, dict[str, str]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        own = docs.setdefault(node.name, {"": ast.get_docstring(node) or ""})
        for stmt, after in zip(node.body, [*node.body[1:], None], strict=True):
            if (
                isinstance(stmt, ast.AnnAssign)
                and isinstance(stmt.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                own[stmt.target.id] = inspect.cleandoc(after.value.value)
    return docs


def _yaml_value(value: Any) -> str:
    if isinstance(value, Secret):
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, tuple):
        return json.dumps(list(value)) if value else "[]"
    if isinstance(value, Mapping):
        return json.dumps(dict(value)) if value else "{}"
    raise TypeError(f"no YAML form for {value!r}")


def _comment(text: str, indent: str) -> list[str]:
    return [f"{indent}# {line}".rstrip() for line in text.splitlines()]


def _type_note(tp: Any) -> str:
    if get_origin(tp) is Literal:
        return "One of: " + ", ".join(repr(c) if c == "" else str(c) for c in get_args(tp)) + "."
    if tp is Secret:
        return "Secret: from this file, the environment, or the *_file key; never logged."
    return ""


def _item_lines(item_type: Any, docs: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Comment lines describing the keys of each item of a list of objects."""
    hints = get_type_hints(item_type)
    own = docs.get(getattr(item_type, "__name__", ""), {})
    lines = ["  # Each item is an object with these keys:"]
    for f in dataclasses.fields(item_type):
        default = field_default(f)
        shown = "required" if default is dataclasses.MISSING else f"default {_yaml_value(default)}"
        text = " ".join(s for s in (_type_note(hints[f.name]), own.get(f.name, "")) if s)
        wrapped = textwrap.wrap(f"{f.name} ({shown}): {text}".rstrip(": "), 94)
        lines += [f"  #   {wrapped[0]}", *(f"  #     {w}" for w in wrapped[1:])]
    return lines


def _env_note(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is tuple:
        item = get_args(tp)[0]
        return (
            " (a JSON list)"
            if dataclasses.is_dataclass(item)
            else " (comma-separated, or a JSON list)"
        )
    if origin in (Mapping, dict):
        return " (k=v,k=v or a JSON object)"
    return ""


def config_reference() -> str:
    docs = field_docs()
    lines = [
        "# kafka-vitals reference configuration: every key, with its default value.",
        "# Generated from exporter/config/model.py by `python -m exporter.docs_gen`; do not edit.",
        "#",
        f"# Every key can also be set by the environment variable {ENV_PREFIX}<SECTION>_<KEY>",
        "# (shown as `env:`), and every key but a secret by the flag",
        "# --<section>.<key-with-dashes>.",
        "# Precedence: flags > environment > this file > defaults. See docs/configuration.md.",
    ]
    hints = get_type_hints(Config)
    for section in dataclasses.fields(Config):
        tp = hints[section.name]
        lines.append("")
        if not dataclasses.is_dataclass(tp):
            lines += _comment(docs["Config"].get(section.name, ""), "")
            lines.append(f"# env: {ENV_PREFIX}{section.name.upper()}{_env_note(tp)}")
            lines.append(f"{section.name}: {_yaml_value(field_default(section))}")
            continue
        own = docs.get(getattr(tp, "__name__", ""), {})
        lines += _comment(own.get("", ""), "")
        lines.append(f"{section.name}:")
        section_hints = get_type_hints(tp)
        for f in dataclasses.fields(tp):
            ftp = section_hints[f.name]
            env = f"{ENV_PREFIX}{section.name.upper()}_{f.name.upper()}"
            text = "\n".join(s for s in (own.get(f.name, ""), _type_note(ftp)) if s)
            lines += _comment(text, "  ")
            item = get_args(ftp)[0] if get_origin(ftp) is tuple else None
            if dataclasses.is_dataclass(item):
                lines += _item_lines(item, docs)
            lines.append(f"  # env: {env}{_env_note(ftp)}")
            lines.append(f"  {f.name}: {_yaml_value(field_default(f))}")
    return "\n".join(lines) + "\n"
