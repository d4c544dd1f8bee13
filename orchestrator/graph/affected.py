"""Which stacks a set of changed paths affects (DESIGN §3). Pure."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from orchestrator.graph.globs import watch_pattern
from orchestrator.graph.model import Graph


def owner(path: str, stack_paths: Collection[str]) -> str | None:
    """The deepest stack directory holding `path` (its folders, nearest first)."""
    folder = path
    while "/" in folder:
        folder = folder.rpartition("/")[0]
        if folder in stack_paths:
            return folder
    return "." if "." in stack_paths else None


def _instances_by_folder(graph: Graph) -> dict[str, list[str]]:
    """{folder: the addresses of its stack or of its environments' instances}."""
    found: dict[str, list[str]] = {}
    for address, node in sorted(graph.stacks.items()):
        found.setdefault(node.path, []).append(address)
    return found


def _env_file_owners(graph: Graph) -> dict[str, set[str]]:
    """{an environment's file: the instances given it}."""
    owners: dict[str, set[str]] = {}
    for address, node in graph.stacks.items():
        for path in (*node.backend_files, *node.var_files):
            owners.setdefault(path, set()).add(address)
    return owners


def _seen_by(graph: Graph, address: str, path: str, owners: Mapping[str, set[str]]) -> bool:
    """A file of a stack's folder changes the stack, unless it is a file of other
    environments only (`staging.backend` does not change `app@production`)."""
    given = owners.get(path)
    return graph.stacks[address].environment is None or not given or address in given


def _through_links(changed: list[str], link_ends: Mapping[str, str]) -> dict[str, str]:
    """{path: how to name the change}: every changed path, and every path that shows it
    through a link inside the repository (`app/terraform.tfvars`, a link, changes when
    `shared/app.tfvars` does)."""
    seen_as = {path: path for path in changed}
    for link, end in sorted(link_ends.items()):
        for path in changed:
            if path == end or (end and path.startswith(end + "/")) or not end:
                shown = link + path[len(end) :] if end else f"{link}/{path}"
                seen_as.setdefault(shown, f"{path} (seen at {shown} through a link)")
    return seen_as


def _first_changed_under(changed: list[str]) -> dict[str, str]:
    """{folder: the first changed path (in order) under it}, "." for the root."""
    first: dict[str, str] = {".": changed[0]} if changed else {}
    for path in changed:
        folder = path
        while "/" in folder:
            folder = folder.rpartition("/")[0]
            first.setdefault(folder, path)
    return first


# Changed files that change what Terraform does: cited as the reason before any other file.
TERRAFORM_SUFFIXES = (
    ".tf",
    ".tf.json",
    ".tfvars",
    ".tfvars.json",
    ".hcl",
    ".backend",
    ".tfbackend",
)


def _terraform_files_first(path: str) -> tuple[bool, str]:
    return (not path.endswith(TERRAFORM_SUFFIXES), path)


def affected(graph: Graph, changed: Iterable[str]) -> dict[str, str]:
    """{stack address: why it runs}, in run order (upstreams first): own changes, its
    environment's files, local modules, watch globs, broken files, then everything
    downstream through data edges (marked "downstream of …"). Never upstream. A reason cites
    a Terraform file before any other. A change of no file affects nothing, not even a stack
    with a broken file: it is as broken as it was, and there is nothing new to plan."""
    seen_as = _through_links(sorted(set(changed)), graph.link_ends)
    if not seen_as:
        return {}
    changed = sorted(seen_as, key=_terraform_files_first)
    reasons: dict[str, str] = {}
    first_under = _first_changed_under(changed)
    by_folder = _instances_by_folder(graph)
    owners = _env_file_owners(graph)
    for path in changed:
        for stack in by_folder.get(owner(path, by_folder) or "", []):
            if _seen_by(graph, stack, path, owners):
                reasons.setdefault(stack, f"changed: {seen_as[path]}")
    for path in changed:
        for stack in sorted(owners.get(path, ())):
            environment = graph.stacks[stack].environment
            reasons.setdefault(stack, f"changed: {seen_as[path]} (environment {environment})")
    for stack_path, node in sorted(graph.stacks.items()):
        if stack_path in reasons:
            continue
        module_hit = next(
            ((m, first_under[m]) for m in sorted(node.module_dirs) if m in first_under), None
        )
        if module_hit:
            reasons[stack_path] = f"module {module_hit[0]} changed: {module_hit[1]}"
            continue
        patterns = [watch_pattern(node.path, g) for g in node.watch]
        watched = next((p for p in changed for g in patterns if g.match(p)), None)
        if watched:
            reasons[stack_path] = f"watched: {watched}"
        elif node.errors:
            reasons[stack_path] = f"files fail to parse: {node.errors[0]}"
        elif node.blockers:
            reasons[stack_path] = f"blocked: {node.blockers[0]}"
    for stack_path, upstream in graph.downstream(set(reasons)).items():
        reasons[stack_path] = f"downstream of {upstream}"
    return {path: reasons[path] for path in graph.upstreams_first(reasons)}
