"""Links of a tree resolved like a filesystem would, without one (orchestrator/vcs/links.py)."""

from __future__ import annotations

import pytest

from orchestrator.vcs.links import resolve

FILES = ["shared/common.tfvars", "s1/main.tf", "modules/vpc/main.tf"]


def test_links_inside_the_tree_end_at_a_file_a_folder_or_nothing() -> None:
    found = resolve(
        FILES,
        {
            "s1/terraform.tfvars": "../shared/common.tfvars",
            "s1/vpc": "../modules/vpc",
            "s1/vpc_main.tf": "vpc/main.tf",  # through the folder link
            "s1/gone.tf": "../nowhere.tf",
            "s1/here": ".",
        },
    )
    assert found.files == {
        "s1/terraform.tfvars": "shared/common.tfvars",
        "s1/vpc_main.tf": "modules/vpc/main.tf",
    }
    assert found.folders == {"s1/vpc": "modules/vpc", "s1/here": "s1"}
    assert found.dangling == {"s1/gone.tf": "nowhere.tf"}
    assert found.problems == {}


ABSOLUTE = "leaves the repository (an absolute path)"


@pytest.mark.parametrize(
    ("links", "reason"),
    [
        ({"s1/evil.tf": "/etc/passwd"}, ABSOLUTE),
        ({"s1/evil.tf": "../../etc/passwd"}, "leaves the repository"),
        ({"s1/up": "..", "s1/evil.tf": "up/../x"}, "leaves the repository"),
        ({"etc": "/etc", "s1/evil.tf": "../etc/passwd"}, ABSOLUTE),
        ({"s1/a.tf": "b.tf", "s1/b.tf": "a.tf"}, "is a loop of links (more than 40 hops)"),
        ({"s1/evil.tf": ""}, "is not a path"),
    ],
)
def test_links_that_leave_the_tree_or_loop_are_problems(links: dict[str, str], reason: str) -> None:
    found = resolve(FILES, links)
    assert found.problems["s1/evil.tf" if "s1/evil.tf" in links else "s1/a.tf"].reason == reason


def test_a_link_is_judged_by_the_whole_tree_not_by_the_order_of_extraction() -> None:
    """`a -> q/..` looks like the root while `q` does not exist yet; once `q -> .` exists it
    is the root's parent. The resolver sees every link at once."""
    found = resolve(FILES, {"a": "q/..", "q": "."})
    assert found.folders == {"q": ""}
    assert found.problems["a"].reason == "leaves the repository"


def test_a_path_below_a_link_that_leaves_finds_that_link() -> None:
    found = resolve(FILES, {"modules/ext": "/opt/modules"})
    problem = found.leaving("modules/ext/vpc")
    assert problem is not None and problem.path == "modules/ext"
    assert found.leaving("modules/vpc") is None
    assert problem.message() == (
        "modules/ext is a link to '/opt/modules', which leaves the repository (an absolute "
        "path); it is not extracted"
    )
