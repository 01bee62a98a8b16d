"""Finding, reading, merging and validating policy files.

``load_policy("default")`` reads a bundled pack; ``load_policy("my.yaml")`` reads a file.  A pack
may ``extends:`` another (a bundled name or a path relative to itself); mappings merge key by key,
everything else is replaced.  Word-list files named by a detector (``files``) or an allowlist
(``allow_files``) are read relative to the file that names them, then to the bundled ``policies/``
folder, and their lines are appended to the inline ``terms`` / ``allow``, so the policy digest
covers the lists' content.  Every error names the file, the path inside it and the line;
``lint_policy`` reports every problem at once instead of the first.
"""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from hallmark.errors import PolicyError

from ._schema import Policy

_MAX_EXTENDS_DEPTH = 8
# libyaml's loader when present: the same safe subset, several times faster to start.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MAX_LIST_BYTES = 8 * 1024 * 1024


def _bundled_root() -> Path:
    return Path(str(importlib.resources.files(__package__)))


def bundled_policies() -> list[str]:
    """Names of the packs shipped inside the ``policies`` package."""
    return sorted(p.name[:-5] for p in _bundled_root().iterdir() if p.name.endswith(".yaml"))


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
    bundled = _bundled_root() / f"{text}.yaml"
    if not bundled.is_file():
        raise PolicyError(
            f"unknown policy {text!r}; bundled policies: {', '.join(bundled_policies())}",
            hint="Pass a bundled policy name or the path of a YAML file.",
        )
    return bundled


class _Source:
    """A parsed YAML file that remembers the line of every node."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lists: list[Path] = []  # list files this source read (they invalidate the cache too)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise PolicyError(f"{path}: cannot read policy file ({e.__class__.__name__})") from e
        try:
            self.node = yaml.compose(text, Loader=_LOADER)
            self.data = yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f":{mark.line + 1}" if mark is not None else ""
            problem = getattr(e, "problem", None) or str(e).splitlines()[0]
            raise PolicyError(f"{path}{where}: not valid YAML: {problem}") from e
        if self.data is None:
            self.data = {}
        if not isinstance(self.data, dict):
            raise PolicyError(f"{path}:1: a policy must be a mapping, not {type(self.data).__name__}")

    def find(self, loc: tuple[Any, ...]) -> tuple[int, bool]:
        """The 1-based line of the deepest node on ``loc`` in this file, and whether all of
        ``loc`` was found.  Parts that are not keys here (pydantic's union tags) are skipped."""
        node = self.node
        line = node.start_mark.line + 1 if node is not None else 1
        complete = True
        for key in loc:
            nxt = None
            if isinstance(node, yaml.MappingNode):
                nxt = next((v for k, v in node.value if k.value == str(key)), None)
                if nxt is None:
                    nxt = next((k for k, _ in node.value if k.value == str(key)), None)
                    if nxt is not None:  # an unknown key: point at the key itself
                        return nxt.start_mark.line + 1, complete
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
                nxt = node.value[key]
            if nxt is None:
                complete = False
                continue
            node = nxt
            line = node.start_mark.line + 1
        return line, complete


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_list(path: Path) -> list[str]:
    if path.stat().st_size > _MAX_LIST_BYTES:
        raise OSError("list file is larger than 8 MiB")
    terms = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        term = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if term:
            terms.append(term)
    return terms


def _list_path(name: str, source: Path) -> Path | None:
    candidate = Path(name)
    options = (
        [candidate] if candidate.is_absolute() else [source.parent / candidate, _bundled_root() / candidate]
    )
    return next((p for p in options if p.is_file()), None)


def _resolve_registries(source: _Source, detector: Any, loc: tuple[Any, ...], problems: list[str]) -> None:
    """A ``people`` detector's registry files (``data``), found like list files: relative to the
    policy file, then to the bundled folder; a missing one is a problem of the policy."""
    if not isinstance(detector, dict) or not isinstance(detector.get("data"), list):
        return
    resolved = []
    for i, name in enumerate(detector["data"]):
        if name == "bundled" or not isinstance(name, str):
            resolved.append(name)
            continue
        path = _list_path(name, source.path)
        if path is None:
            line, _ = source.find((*loc, "data", i))
            problems.append(
                f"{source.path}:{line}: {'.'.join(map(str, (*loc, 'data', i)))}: registry file not found: {name}"
            )
            continue
        source.lists.append(path)
        resolved.append(str(path.resolve()))
    detector["data"] = resolved


def _inline_lists(source: _Source, problems: list[str]) -> None:
    """Append the content of every named list file to its inline terms (in place)."""

    def load_into(holder: Any, files_key: str, terms_key: str, loc: tuple[Any, ...]) -> None:
        if not isinstance(holder, dict) or files_key not in holder:
            return
        files = holder[files_key]
        if not isinstance(files, list):
            return  # the schema reports the wrong type
        terms = holder.get(terms_key) or []
        if not isinstance(terms, list):
            return
        terms = list(terms)
        for i, name in enumerate(files):
            line, _ = source.find((*loc, files_key, i))
            where = f"{source.path}:{line}: {'.'.join(map(str, (*loc, files_key, i)))}"
            path = _list_path(str(name), source.path)
            if path is None:
                problems.append(f"{where}: list file not found: {name}")
                continue
            source.lists.append(path)
            try:
                terms.extend(_read_list(path))
            except (OSError, UnicodeDecodeError) as e:
                problems.append(f"{where}: cannot read list file {name} ({e.__class__.__name__})")
        holder[terms_key] = terms

    # The prompt's categories, and the edit-only ones (``edit.categories``), hold list files.
    for section in ("prompt", "edit"):
        holder = source.data.get(section)
        if not isinstance(holder, dict):
            continue
        if section == "prompt":
            load_into(holder, "allow_files", "allow", ("prompt",))
        categories = holder.get("categories")
        if isinstance(categories, dict):
            _inline_categories(categories, section, load_into, source, problems)


def _inline_categories(
    categories: dict[str, Any], section: str, load_into: Any, source: _Source, problems: list[str]
) -> None:
    for name, category in categories.items():
        if not isinstance(category, dict):
            continue
        loc = (section, "categories", name)
        load_into(category, "allow_files", "allow", loc)
        detectors = category.get("detectors")
        if isinstance(detectors, list):
            for i, detector in enumerate(detectors):
                load_into(detector, "files", "terms", (*loc, "detectors", i))
                for listed in ("role", "harm", "sexual", "cue", "opt_out", "allow_names"):
                    field = {"role": "roles", "cue": "cues"}.get(listed, listed)
                    load_into(detector, f"{listed}_files", field, (*loc, "detectors", i))
                _resolve_registries(source, detector, (*loc, "detectors", i), problems)
                _inline_classifier(source, detector, (*loc, "detectors", i), problems)


def _inline_classifier(source: _Source, detector: Any, loc: tuple[Any, ...], problems: list[str]) -> None:
    """Read a semantic detector's ``classifier_file`` (JSON) into its ``classifier``, so that the
    policy's digest covers the weights as it covers list files' words."""
    if not isinstance(detector, dict) or not isinstance(detector.get("classifier_file"), str):
        return
    line, _ = source.find((*loc, "classifier_file"))
    where = f"{source.path}:{line}: {'.'.join(map(str, (*loc, 'classifier_file')))}"
    name = detector["classifier_file"]
    path = _list_path(name, source.path)
    if path is None:
        problems.append(f"{where}: classifier file not found: {name}")
        return
    source.lists.append(path)
    try:
        if path.stat().st_size > _MAX_LIST_BYTES:
            raise OSError("classifier file is larger than 8 MiB")
        detector["classifier"] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        problems.append(f"{where}: cannot read classifier file {name} ({e.__class__.__name__})")


def _read_chain(path: Path, problems: list[str], depth: int = 0) -> tuple[dict[str, Any], list[_Source]]:
    if depth > _MAX_EXTENDS_DEPTH:
        raise PolicyError(f"{path}: `extends` chain is deeper than {_MAX_EXTENDS_DEPTH} (a cycle?)")
    source = _Source(path)
    _inline_lists(source, problems)
    data = dict(source.data)
    parent = data.get("extends")
    if parent is None:
        return data, [source]
    if not isinstance(parent, str):
        line, _ = source.find(("extends",))
        raise PolicyError(f"{path}:{line}: extends: must be a policy name or path")
    try:
        parent_path = _resolve(parent, relative_to=path)
    except PolicyError as e:
        line, _ = source.find(("extends",))
        raise PolicyError(f"{path}:{line}: extends: {e}") from e
    base, chain = _read_chain(parent_path, problems, depth + 1)
    return _merge(base, data), [source, *chain]


def format_validation_errors(error: ValidationError, sources: list[_Source]) -> list[str]:
    """One line per problem: ``file:line: path.inside: message``, naming the most derived file
    of an ``extends`` chain that spells out that path."""
    lines = []
    for problem in error.errors():
        loc = tuple(problem["loc"])
        where, (line, _) = sources[0], sources[0].find(loc)
        for source in sources:
            probe, complete = source.find(loc)
            if complete:
                where, line = source, probe
                break
        dotted = ".".join(str(p) for p in loc) or "(top)"
        msg = problem["msg"].removeprefix("Value error, ")
        lines.append(f"{where.path}:{line}: {dotted}: {msg}")
    return lines


def _load(path: Path) -> tuple[Policy | None, list[str], list[_Source]]:
    problems: list[str] = []
    data, sources = _read_chain(path, problems)
    try:
        policy = Policy.model_validate(data)
    except ValidationError as e:
        return None, problems + format_validation_errors(e, sources), sources
    return (None if problems else policy), problems, sources


_CACHE: dict[Path, tuple[tuple[tuple[str, int], ...], Policy]] = {}


def _stamp(paths: list[Path]) -> tuple[tuple[str, int], ...]:
    return tuple((str(p), p.stat().st_mtime_ns) for p in paths)


def load_policy(name_or_path: str | Path = "default") -> Policy:
    """Load, merge (``extends``) and validate a policy by bundled name or file path.

    The first problem is raised as a ``PolicyError`` naming file, path and line (with a count of
    the others).  Results are cached per file until one of the files in its chain changes.
    """
    path = _resolve(name_or_path).resolve()
    cached = _CACHE.get(path)
    if cached is not None:
        stamp, policy = cached
        try:
            if _stamp([Path(p) for p, _ in stamp]) == stamp:
                return policy
        except OSError:
            pass
    policy_or_none, problems, sources = _load(path)
    if problems or policy_or_none is None:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise PolicyError(problems[0] + more)
    files = [p.resolve() for s in sources for p in (s.path, *s.lists)]
    _CACHE[path] = (_stamp(files), policy_or_none)
    return policy_or_none


def lint_policy(name_or_path: str | Path) -> list[str]:
    """Every problem of a policy file as ``file:line: path: message`` lines (empty when clean)."""
    try:
        path = _resolve(name_or_path)
        _, problems, _ = _load(path)
    except PolicyError as e:
        return [str(e)]
    return problems
