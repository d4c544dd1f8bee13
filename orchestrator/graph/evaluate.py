"""Static evaluation of the few expressions the graph needs, as far as it is certain: var.*
from literal defaults, tfvars and module-call arguments; local.* with literal values;
path.module. Anything else is Unresolved, with the reason; evaluation never raises.

Bounded: each var and local of a scope is evaluated once (a reference fan-out stays linear),
a chain of references (across module calls too) stops at _MAX_DEPTH, a reference loop and a
value longer than _MAX_TEXT are Unresolved."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from orchestrator.graph import hcl
from orchestrator.graph.expressions import template
from orchestrator.graph.values import Partial, Unresolved

__all__ = ["REPO_ROOT", "Argument", "Partial", "Scope", "Unresolved", "parse_snippet"]
REPO_ROOT = "//"
# stackrun selects no Terraform workspace: its runs use Terraform's default one.
DEFAULT_WORKSPACE = "default"
_MAX_DEPTH = 64
_MAX_TEXT = 64 * 1024


@dataclass
class Argument:
    """A module-call argument: its expression and the scope it is evaluated in."""

    value: Any
    scope: Scope


@dataclass
class Scope:
    """The variables and locals visible inside one module instance."""

    module_dir: str
    file: str
    variable_blocks: Mapping[str, str] = field(default_factory=dict)
    variable_values: Mapping[str, Any] = field(default_factory=dict)
    local_blocks: list[str] = field(default_factory=list)
    local_values: dict[str, Any] = field(default_factory=dict)
    arguments: Mapping[str, Argument] = field(default_factory=dict)
    broken_values: str | None = None
    _locals_parsed: bool = False
    _known: dict[tuple[str, str], Any] = field(default_factory=dict)
    _resolving: set[tuple[str, str]] = field(default_factory=set)

    def var(self, name: str, depth: int = 0) -> Any:
        if name in self.arguments:
            argument = self.arguments[name]
            return argument.scope.evaluate(argument.value, depth)
        if self.broken_values is not None:
            return Unresolved(f"var.{name}: {self.broken_values} fails to parse")
        if name in self.variable_values:
            return self.variable_values[name]
        block = self.variable_blocks.get(name)
        if block is None:
            return Unresolved(f"var.{name} is not declared in {self.module_dir}")
        parsed = parse_snippet(block, self.file.removesuffix(".json"))
        if isinstance(parsed, hcl.HclError):
            return Unresolved(f"var.{name}: {parsed}")
        body = _first(parsed.get("variable"), name)
        if "default" not in body:
            return Unresolved(f"var.{name} has no default and no value in tfvars", True)
        return self.evaluate(body["default"], depth)

    def local(self, name: str, depth: int = 0) -> Any:
        if not self._locals_parsed:
            self._parse_locals()
        if name not in self.local_values:
            return Unresolved(f"local.{name} is not defined in {self.module_dir}")
        return self.evaluate(self.local_values[name], depth)

    def _parse_locals(self) -> None:
        self._locals_parsed = True
        for block in self.local_blocks:
            parsed = parse_snippet(block, self.file.removesuffix(".json"))
            if isinstance(parsed, hcl.HclError):
                continue
            for values in parsed.get("locals") or []:
                if isinstance(values, dict):
                    self.local_values.update(values)

    def evaluate(self, value: Any, depth: int = 0) -> Any:
        """A literal value, or Unresolved with the reason. `depth` counts the references
        followed so far, through module-call arguments too."""
        if depth > _MAX_DEPTH:
            return Unresolved("references nest too deeply (a reference loop?)")
        if not isinstance(value, str) or "${" not in value:
            return value
        return self._evaluate_string(value, depth + 1)

    def _resolve(self, kind: str, name: str, depth: int) -> Any:
        """var.name or local.name, each evaluated once per scope."""
        key = (kind, name)
        if key in self._known:
            return self._known[key]
        if key in self._resolving:
            return Unresolved(f"{kind}.{name} refers to itself (a reference loop)")
        self._resolving.add(key)
        try:
            value = self.var(name, depth) if kind == "var" else self.local(name, depth)
        finally:
            self._resolving.discard(key)
        self._known[key] = value
        return value

    def _evaluate_string(self, value: str, depth: int) -> Any:
        def resolve(kind: str, name: str) -> Any:
            if kind in ("var", "local"):
                return self._resolve(kind, name, depth)
            if kind == "path" and name == "module":
                return REPO_ROOT + self.module_dir
            if kind == "terraform" and name == "workspace":
                return DEFAULT_WORKSPACE
            return Unresolved(f"{kind}.{name} cannot be evaluated statically")

        return _bounded(template(value, resolve))


def _bounded(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _MAX_TEXT:
        return Unresolved(f"the value is longer than {_MAX_TEXT} characters")
    if isinstance(value, Partial) and sum(len(p or "") for p in value.parts) > _MAX_TEXT:
        return Unresolved(f"the value is longer than {_MAX_TEXT} characters")
    return value


@lru_cache(maxsize=100_000)
def parse_snippet(text: str, filename: str) -> dict[str, Any] | hcl.HclError:
    """Variable and locals blocks recur unchanged from push to push: parse each text once.
    Callers must not mutate the result."""
    return hcl.parse(text, filename, max_bytes=None)


def _first(blocks: Any, name: str) -> dict[str, Any]:
    for block in blocks or []:
        if isinstance(block, dict) and name in block and isinstance(block[name], dict):
            return dict(block[name])
    return {}
