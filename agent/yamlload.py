"""YAML loading that remembers where every value came from.

pydantic errors carry a location path (``("rules", 3, "match", "apps")``) but no line numbers;
operators need ``rules/policies.yaml:42``. ``load_yaml`` returns the plain data plus a map
from each path to its line, and ``validate`` turns pydantic errors into ``ConfigError``s that
name file, line and field, all of them at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pydantic
import yaml

T = TypeVar("T", bound=pydantic.BaseModel)

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class ConfigIssue:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class ConfigError(ValueError):
    """One or more problems in configuration files; ``issues`` lists them all."""

    def __init__(self, issues: Iterable[ConfigIssue]):
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


@dataclass
class YamlDoc:
    file: str
    data: Any
    lines: dict[Loc, int]

    def line_of(self, loc: Loc) -> int | None:
        """Line of the deepest known prefix of ``loc`` (pydantic may add model-internal parts)."""
        for n in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:n]))
            if line is not None:
                return line
        return None

    def issue(self, loc: Loc, message: str) -> ConfigIssue:
        return ConfigIssue(self.file, self.line_of(loc), format_loc(loc), message)


def format_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _construct(node: yaml.Node, loc: Loc, lines: dict[Loc, int], file: str) -> Any:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _construct(key_node, loc + ("<key>",), lines, file)
            if isinstance(key, list | dict):
                raise ConfigError([ConfigIssue(file, key_node.start_mark.line + 1, format_loc(loc),
                                               "mapping keys must be scalars")])
            if key in out:
                # PyYAML silently keeps the last duplicate; a duplicated rule field is a mistake.
                raise ConfigError([ConfigIssue(file, key_node.start_mark.line + 1,
                                               format_loc(loc + (str(key),)), "duplicate key")])
            out[key] = _construct(value_node, loc + (str(key),), lines, file)
        lines.pop(loc + ("<key>",), None)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(v, loc + (i,), lines, file) for i, v in enumerate(node.value)]
    return yaml.SafeLoader(b"").construct_object(node, deep=True)  # scalar with safe tags


def parse_yaml(text: str | bytes, file: str) -> YamlDoc:
    """Parse one YAML document; raise ConfigError naming file and line on a syntax error."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError([ConfigIssue(file, mark.line + 1 if mark else None, "",
                                       f"YAML syntax error: {problem}")]) from None
    lines: dict[Loc, int] = {}
    if node is None:
        return YamlDoc(file, None, lines)
    try:
        data = _construct(node, (), lines, file)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise ConfigError([ConfigIssue(file, mark.line + 1 if mark else None, "",
                                       f"YAML error: {e}")]) from None
    return YamlDoc(file, data, lines)


def load_yaml(path: str | Path) -> YamlDoc:
    path = Path(path)
    try:
        text = path.read_bytes()
    except OSError as e:
        raise ConfigError([ConfigIssue(str(path), None, "", f"cannot read: {e.strerror}")]) from None
    return parse_yaml(text, str(path))


def pydantic_issues(doc: YamlDoc, err: pydantic.ValidationError, prefix: Loc = ()) -> list[ConfigIssue]:
    issues = []
    for e in err.errors(include_url=False):
        loc = prefix + tuple(e["loc"])
        # pydantic appends the tag/type name of unions; keep only parts that exist in the data.
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling)"
        issues.append(doc.issue(loc, msg))
    return issues


def validate(doc: YamlDoc, model: type[T], *, data: Any = None, prefix: Loc = ()) -> T:
    """Validate ``doc.data`` (or ``data`` found at ``prefix`` in it) against ``model``.

    Models may define ``cross_check(self) -> list[tuple[Loc, str]]`` for checks that span
    fields (references between sections); each problem is reported at its own location,
    which a pydantic model validator cannot do.
    """
    try:
        obj = model.model_validate(doc.data if data is None else data)
    except pydantic.ValidationError as e:
        raise ConfigError(pydantic_issues(doc, e, prefix)) from None
    check = getattr(obj, "cross_check", None)
    if check is not None:
        problems = check()
        if problems:
            raise ConfigError(doc.issue(prefix + tuple(loc), msg) for loc, msg in problems)
    return obj
