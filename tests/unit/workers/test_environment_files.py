"""An environment's files (DESIGN §3, "Environments") as Terraform, working in the stack's
folder, is given them."""

from __future__ import annotations

from workers.workspace import _from_stack


def test_terraform_is_given_the_environments_files_from_the_stacks_folder() -> None:
    assert _from_stack("app", ("app/dev.tfvars", "config/dev.tfvars")) == (
        "dev.tfvars",
        "../config/dev.tfvars",
    )
    assert _from_stack(".", ("dev.backend",)) == ("dev.backend",)
