"""Finding, reading, merging and validating policy files.

``load_policy("default")`` reads a bundled pack; ``load_policy("my.yaml")`` reads a file.  A pack
may ``extends:`` another (a bundled name or a path relative to itself); mappings merge key by key,
everything else is replaced.  Every error names the file, the path inside it and the line.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from policies._errors import PolicyError
from policies._schema import Policy

_MAX_EXTENDS_DEPTH = 8


def bundled_policies() -> list[str]:
    """Names of the packs shipped inside the ``policies`` package."""
    root = importlib.resources.files("policies")
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def _resolve(name_or_path: str | Path, *, relative_to: Path | None = None) -> Path:
    text = str(name_or_path)
    candidate = Path(text)
    if relative_to is not None and not candidate.is_absolute():
        near = relative_to.parent / candidate
        if near.is_file():
            return near
    if candidate.suffix in {".yaml", ".yml"} or "/" in text or candidate.is_file():
        if not candidate.is_file():
            raise PolicyError(f"policy file not found: {text}")
        return candidate
    bundled = importlib.resources.files("policies") / f"{text}.yaml"
    if not bundled.is_file():
        raise PolicyError(
            f"unknown policy {text!r}; bundled policies: {', '.join(bundled_policies())}",
            hint="Pass a bundled policy name or the path of a YAML file.",
        )
    return Path(str(bundled))


class _Source:
    """A parsed YAML file that remembers the line of every node."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise PolicyError(f"{path}: cannot read policy file ({e.__class__.__name__})") from e
        try:
            self.node = yaml.compose(text, Loader=yaml.SafeLoader)
            self.data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f":{mark.line + 1}" if mark is not None else ""
            problem = getattr(e, "problem", None) or str(e).splitlines()[0]
            raise PolicyError(f"{path}{where}: not valid YAML: {problem}") from e
        if self.data is None:
            self.data = {}
        if not isinstance(self.data, dict):
            raise PolicyError(f"{path}:1: a policy must be a mapping, not {type(self.data).__name__}")

    def line_of(self, loc: tuple[Any, ...]) -> int | None:
        """The 1-based line of the deepest node on ``loc`` that exists in this file."""
        node = self.node
        line = node.start_mark.line + 1 if node is not None else None
        for key in loc:
            if isinstance(node, yaml.MappingNode):
                nxt = next((v for k, v in node.value if k.value == str(key)), None)
                if nxt is None:
                    # An unknown key: point at the key itself.
                    nxt = next((k for k, _ in node.value if k.value == str(key)), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
                nxt = node.value[key]
            else:
                nxt = None
            if nxt is None:
                break
            node = nxt
            line = node.start_mark.line + 1
        return line


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_chain(path: Path, depth: int = 0) -> tuple[dict[str, Any], list[_Source]]:
    if depth > _MAX_EXTENDS_DEPTH:
        raise PolicyError(f"{path}: `extends` chain is deeper than {_MAX_EXTENDS_DEPTH} (a cycle?)")
    source = _Source(path)
    data = dict(source.data)
    parent = data.get("extends")
    if parent is None:
        return data, [source]
    if not isinstance(parent, str):
        raise PolicyError(f"{path}:{source.line_of(('extends',))}: extends: must be a policy name or path")
    base, chain = _read_chain(_resolve(parent, relative_to=path), depth + 1)
    return _merge(base, data), [source, *chain]


def format_validation_errors(error: ValidationError, sources: list[_Source]) -> list[str]:
    """One line per problem: ``file:line: path.inside: message``."""
    lines = []
    for problem in error.errors():
        loc = tuple(problem["loc"])
        # Report the most derived file that mentions this path, else the top file.
        where = sources[0]
        line = where.line_of(loc)
        for source in sources:
            probe = source.line_of(loc)
            if probe is not None and probe != source.node.start_mark.line + 1 if source.node else False:
                where, line = source, probe
                break
        dotted = ".".join(str(p) for p in loc) or "(top)"
        lines.append(f"{where.path}:{line or 1}: {dotted}: {problem['msg']}")
    return lines


def load_policy(name_or_path: str | Path = "default") -> Policy:
    """Load, merge (``extends``) and validate a policy by bundled name or file path."""
    path = _resolve(name_or_path)
    data, sources = _read_chain(path)
    try:
        return Policy.model_validate(data)
    except ValidationError as e:
        problems = format_validation_errors(e, sources)
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise PolicyError(problems[0] + more) from e
