"""Stack discovery (orchestrator/graph/discover.py) over in-memory trees, DESIGN §3."""

from __future__ import annotations

import json

import pytest

from orchestrator.graph.discover import StackSpec, discover, relevant_file, stack_of

STACKRUN_HCL = """\
stack {
  name        = "eks"
  labels      = ["prod", "aws"]
  autodeploy  = true
  depends_on  = ["../network"]
  worker_pool = "gpu"
}
"""
S3_BACKEND = """\
terraform {
  backend "s3" {
    bucket = "tfstate"
    key    = "network/terraform.tfstate"
    region = "eu-west-1"
  }
}
"""
LOCAL_BACKEND = """\
terraform {
  backend "local" {
    path = "terraform.tfstate"
  }
}
"""
MODULE_TF = """\
variable "cidr" {
  type = string
}

resource "null_resource" "this" {
  triggers = {
    cidr = var.cidr
  }
}
"""
MODULE_CALL = """\
module "vpc" {
  source = "../modules/vpc"
  cidr   = "10.0.0.0/16"
}
"""


def test_stackrun_hcl_stack_block_gives_all_its_attributes() -> None:
    specs = discover({"platform/eks/stackrun.hcl": STACKRUN_HCL, "platform/eks/main.tf": ""})
    assert specs == [
        StackSpec(
            path="platform/eks",
            name="eks",
            labels=("prod", "aws"),
            autodeploy=True,
            depends_on=("../network",),
            worker_pool="gpu",
            backend_type=None,
            errors=(),
        )
    ]
    assert specs[0].managed_state


def test_empty_stack_block_gives_defaults_and_the_path_as_name() -> None:
    (spec,) = discover({"apps/web/stackrun.hcl": "stack {}\n"})
    assert spec.name == "apps/web"
    assert spec.labels == ()
    assert spec.autodeploy is False
    assert spec.depends_on == ()
    assert spec.worker_pool == "default"
    assert spec.errors == ()


def test_dir_with_only_an_s3_backend_is_a_stack_with_its_own_state() -> None:
    (spec,) = discover({"network/backend.tf": S3_BACKEND})
    assert spec.path == "network"
    assert spec.name == "network"
    assert spec.backend_type == "s3"
    assert spec.managed_state is False


def test_local_backend_is_treated_as_managed_state() -> None:
    (spec,) = discover({"legacy/main.tf": LOCAL_BACKEND})
    assert spec.backend_type == "local"
    assert spec.managed_state is True


def test_stackrun_hcl_and_backend_in_one_dir_combine() -> None:
    (spec,) = discover({"eks/stackrun.hcl": STACKRUN_HCL, "eks/backend.tf": S3_BACKEND})
    assert spec.name == "eks"
    assert spec.backend_type == "s3"
    assert spec.managed_state is False


def test_plain_module_dir_is_not_a_stack() -> None:
    files = {
        "modules/vpc/main.tf": MODULE_TF,
        "network/backend.tf": S3_BACKEND,
        "network/main.tf": MODULE_CALL,
    }
    assert [s.path for s in discover(files)] == ["network"]


def test_terraform_block_without_backend_is_not_a_stack() -> None:
    files = {"modules/x/versions.tf": 'terraform {\n  required_version = ">= 1.0"\n}\n'}
    assert discover(files) == []


def test_broken_stackrun_hcl_still_yields_a_stack_carrying_file_and_line() -> None:
    (spec,) = discover({"eks/stackrun.hcl": "stack {\n  name = \n}\n", "eks/main.tf": MODULE_TF})
    assert spec.path == "eks"
    assert len(spec.errors) == 1
    assert spec.errors[0].startswith("eks/stackrun.hcl:2:")


def test_broken_tf_file_in_a_stack_is_reported_on_the_stack() -> None:
    files = {"eks/stackrun.hcl": STACKRUN_HCL, "eks/main.tf": 'resource "x" "y" {\n  a = \n}\n'}
    (spec,) = discover(files)
    assert spec.name == "eks"
    assert len(spec.errors) == 1
    assert spec.errors[0].startswith("eks/main.tf:")


def test_tf_json_backend_makes_a_stack() -> None:
    # Terraform's JSON syntax as documented: block type -> label -> body, as objects.
    text = json.dumps({"terraform": {"backend": {"s3": {"bucket": "b", "key": "k"}}}})
    (spec,) = discover({"json-stack/main.tf.json": text})
    assert spec.path == "json-stack"
    assert spec.backend_type == "s3"
    assert spec.managed_state is False


def test_tf_json_backend_in_array_form_makes_a_stack() -> None:
    text = json.dumps({"terraform": [{"backend": [{"gcs": {"bucket": "b"}}]}]})
    (spec,) = discover({"g/main.tf.json": text})
    assert spec.backend_type == "gcs"


def test_files_at_the_top_make_the_root_stack_dot() -> None:
    (spec,) = discover({"main.tf": S3_BACKEND})
    assert spec.path == "."
    assert spec.name == "."


def test_stacks_are_returned_sorted_by_path() -> None:
    files = {
        "z/backend.tf": S3_BACKEND,
        "a/stackrun.hcl": "stack {}\n",
        "m/n/backend.tf": LOCAL_BACKEND,
        "backend.tf": S3_BACKEND,
    }
    assert [s.path for s in discover(files)] == [".", "a", "m/n", "z"]


def test_nested_stack_and_parent_stack_are_both_found() -> None:
    files = {"infra/backend.tf": S3_BACKEND, "infra/child/stackrun.hcl": "stack {}\n"}
    assert [s.path for s in discover(files)] == ["infra", "infra/child"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a/main.tf", True),
        ("a/override.tf.json", True),
        ("a/stackrun.hcl", True),
        ("stackrun.hcl", True),
        ("a/terraform.tfvars", False),
        ("a/README.md", False),
        ("a/other.hcl", False),
    ],
)
def test_relevant_file_picks_terraform_and_stackrun_files(path: str, expected: bool) -> None:
    assert relevant_file(path) is expected


def test_stack_of_picks_the_deepest_holder() -> None:
    stacks = [".", "infra", "infra/eks", "infra/eks/addons"]
    assert stack_of("infra/eks/main.tf", stacks) == "infra/eks"
    assert stack_of("infra/eks/addons/x/y.tf", stacks) == "infra/eks/addons"
    assert stack_of("infra/vars.tf", stacks) == "infra"


def test_stack_of_falls_back_to_the_root_stack() -> None:
    assert stack_of("main.tf", [".", "infra"]) == "."
    assert stack_of("docs/readme.md", ["infra", "."]) == "."


def test_stack_of_is_none_without_a_holder() -> None:
    assert stack_of("modules/vpc/main.tf", ["infra", "apps"]) is None
    assert stack_of("main.tf", []) is None


def test_stack_of_does_not_confuse_a_sibling_with_a_shared_prefix() -> None:
    assert stack_of("infra/eks-addons/main.tf", ["infra/eks"]) is None
    assert stack_of("infra/eks-addons/main.tf", ["infra/eks", "infra"]) == "infra"
