"""The `handoff "argocd" {}` block of a stack: what parses into a HandoffSpec, what is said."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.graph import hcl
from orchestrator.stackconfig.handoff import HandoffSpec, RootSpec, parse_handoff

ROOT = {"repo_url": "https://git.example.com/platform.git", "path": "bootstrap"}


def _block(**attributes: Any) -> list[dict[str, Any]]:
    body: dict[str, Any] = {"repository": "platform-gitops", "root": [dict(ROOT)], **attributes}
    return [{"argocd": {k: v for k, v in body.items() if v is not None}}]


def test_a_minimal_block_gets_the_defaults() -> None:
    spec, errors = parse_handoff(_block())
    assert errors == []
    assert spec == HandoffSpec(
        repository="platform-gitops",
        root=RootSpec(repo_url=ROOT["repo_url"], path="bootstrap"),
        branch="main",
        path="clusters",
        mode="applicationset",
        wait_healthy_seconds=300.0,
    )
    assert spec.root.revision == "HEAD" and spec.root.namespace == "argocd"
    assert spec.root.automated is True


def test_a_block_parsed_from_hcl_text_gives_the_same_spec() -> None:
    parsed = hcl.parse(
        'stack {\n  handoff "argocd" {\n    repository = "platform-gitops"\n'
        '    wait_healthy = "1h30m"\n    root {\n'
        '      repo_url = "https://git.example.com/platform.git"\n'
        '      path = "bootstrap"\n      automated = false\n    }\n  }\n}\n',
        "stack.hcl",
    )
    assert isinstance(parsed, dict)
    spec, errors = parse_handoff(parsed["stack"][0]["handoff"])
    assert errors == [] and spec is not None
    assert spec.wait_healthy_seconds == 5400.0 and spec.root.automated is False


def test_no_block_is_no_handoff_and_no_error() -> None:
    assert parse_handoff(None) == (None, [])
    assert parse_handoff([]) == (None, [])


@pytest.mark.parametrize(
    ("raw", "seconds"), [("1h30m", 5400.0), ("10m", 600.0), ("90s", 90.0), (45, 45.0)]
)
def test_wait_healthy_takes_a_duration_or_seconds(raw: str | int, seconds: float) -> None:
    spec, errors = parse_handoff(_block(wait_healthy=raw))
    assert errors == [] and spec is not None and spec.wait_healthy_seconds == seconds


def test_the_spec_survives_a_json_round_trip() -> None:
    spec, _ = parse_handoff(_block(mode="app_of_apps", server="https://argocd.example.com/"))
    assert spec is not None and spec.server == "https://argocd.example.com"
    assert HandoffSpec.from_json(spec.to_json()) == spec


@pytest.mark.parametrize(
    ("attributes", "error"),
    [
        (
            {"mode": "flux"},
            "handoff mode 'flux' must be one of applicationset, app_of_apps",
        ),
        (
            {"root": None},
            'handoff "argocd" needs one root { repo_url = …, path = … } block',
        ),
        ({"repository": None}, "handoff repository is required"),
        (
            {"wait_healthy": "ten minutes"},
            'handoff wait_healthy \'ten minutes\' must be a duration like "10m" or "90s"',
        ),
        ({"wait_healthy": -5}, 'handoff wait_healthy -5 must be a duration like "10m" or "90s"'),
        ({"colour": "blue"}, 'unknown attribute(s) in handoff "argocd": colour'),
        (
            {"path": "clusters/../../etc"},
            "handoff path 'clusters/../../etc' must stay inside the GitOps repository",
        ),
        ({"branch": 5}, "handoff branch must be a string, got 5"),
        (
            {"server": "argocd.example.com"},
            "handoff server 'argocd.example.com' must be an http(s) URL",
        ),
        (
            {"root": [{**ROOT, "revison": "v2"}]},
            "unknown attribute(s) in root: revison",
        ),
        ({"root": [{"path": "bootstrap"}]}, "root repo_url is required"),
        (
            {"root": [{**ROOT, "namespace": "Argo_CD"}]},
            "root namespace 'Argo_CD' is not a valid Kubernetes namespace",
        ),
        ({"root": [{**ROOT, "automated": "yes"}]}, "root automated must be true or false"),
    ],
)
def test_a_bad_block_is_dropped_with_a_precise_error(
    attributes: dict[str, Any], error: str
) -> None:
    assert parse_handoff(_block(**attributes)) == (None, [error])


def test_a_handoff_block_for_another_tool_is_refused() -> None:
    spec, errors = parse_handoff([{"flux": {"repository": "x"}}])
    assert spec is None
    assert errors == ['handoff blocks must be labelled "argocd" (found flux)']


def test_two_argocd_blocks_are_refused() -> None:
    spec, errors = parse_handoff(_block() + _block())
    assert spec is None and errors == ['a stack declares at most one handoff "argocd" block']
