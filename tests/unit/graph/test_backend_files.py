"""A partial backend is completed, for matching, by the settings all of its folder's
`-backend-config` files agree on; a setting they disagree on stays unknown."""

from __future__ import annotations

from orchestrator.graph.backends import resolve_backend
from orchestrator.graph.evaluate import Scope
from orchestrator.graph.model import StackNode


def partial_s3_stack() -> StackNode:
    return StackNode(path="projects/vpc", name="projects/vpc", backend_type="s3")


def test_the_key_all_backend_files_agree_on_is_the_stacks() -> None:
    node = partial_s3_stack()
    files = [
        {"bucket": "state-integration", "key": "govuk/infra-vpc.tfstate"},
        {"bucket": "state-production", "key": "govuk/infra-vpc.tfstate"},
    ]
    resolve_backend(node, Scope("projects/vpc", "projects/vpc/main.tf"), files)
    assert node.identity == ("s3", "", "govuk/infra-vpc.tfstate")


def test_backend_files_that_disagree_on_the_key_leave_it_unknown() -> None:
    node = partial_s3_stack()
    files = [{"key": "blue/infra-vpc.tfstate"}, {"key": "green/infra-vpc.tfstate"}]
    resolve_backend(node, Scope("projects/vpc", "projects/vpc/main.tf"), files)
    assert node.identity == ("s3", "", "")


def test_the_backend_block_wins_over_backend_files() -> None:
    node = partial_s3_stack()
    node.backend_config = {"bucket": "state", "key": "own/vpc.tfstate"}
    resolve_backend(node, Scope("projects/vpc", "projects/vpc/main.tf"), [{"key": "file.tfstate"}])
    assert node.identity == ("s3", "state", "own/vpc.tfstate")
