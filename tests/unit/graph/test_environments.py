"""Stack instances per environment (DESIGN §3, "Environments"): which folders become
instances, the errors of declarations, what a push affects, how instances are named."""

from __future__ import annotations

from pathlib import Path

from orchestrator.graph.affected import affected
from orchestrator.graph.cache import MemoryCache
from orchestrator.graph.load import graph_of_directory
from orchestrator.graph.model import Graph
from orchestrator.models import Repository
from orchestrator.stacks.service import stack_id_for

PARTIAL_S3 = 'terraform {\n  backend "s3" {}\n}\n'


def _graph(root: Path, files: dict[str, str]) -> Graph:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return graph_of_directory(root, MemoryCache())


def _backend(bucket: str, key: str) -> str:
    return f'bucket = "{bucket}"\nkey    = "{key}"\n'


def test_a_lone_backend_file_completes_its_stack_in_a_repository_without_environments(
    tmp_path: Path,
) -> None:
    graph = _graph(
        tmp_path, {"app/main.tf": PARTIAL_S3, "app/backend.tfbackend": _backend("b", "app")}
    )
    assert list(graph.stacks) == ["app"]
    assert graph.stacks["app"].identity == ("s3", "b", "app")


def test_one_environment_file_makes_one_instance_where_the_repository_has_environments(
    tmp_path: Path,
) -> None:
    graph = _graph(
        tmp_path,
        {
            "vpc/main.tf": PARTIAL_S3,
            "vpc/staging.govuk.backend": _backend("s", "vpc"),
            "vpc/production.govuk.backend": _backend("p", "vpc"),
            "tools/main.tf": PARTIAL_S3,
            "tools/production.govuk.backend": _backend("p", "tools"),
        },
    )
    assert sorted(graph.stacks) == ["tools@production", "vpc@production", "vpc@staging"]
    assert graph.stacks["vpc@staging"].backend_files == ["vpc/staging.govuk.backend"]


def test_an_environments_var_file_by_convention_sets_its_values(tmp_path: Path) -> None:
    reads = (
        PARTIAL_S3 + 'variable "bucket" {}\n'
        'data "terraform_remote_state" "vpc" {\n  backend = "s3"\n'
        '  config = {\n    bucket = var.bucket\n    key    = "vpc"\n  }\n}\n'
    )
    graph = _graph(
        tmp_path,
        {
            "vpc/main.tf": PARTIAL_S3,
            "vpc/dev.backend": _backend("dev-state", "vpc"),
            "vpc/prod.backend": _backend("prod-state", "vpc"),
            "app/main.tf": reads,
            "app/dev.backend": _backend("dev-state", "app"),
            "app/prod.backend": _backend("prod-state", "app"),
            "app/dev.tfvars": 'bucket = "dev-state"\n',
            "app/prod.tfvars": 'bucket = "prod-state"\n',
        },
    )
    assert graph.stacks["app@dev"].var_files == ["app/dev.tfvars"]
    edges = sorted((e.upstream, e.downstream, e.match) for e in graph.edges)
    assert edges == [("vpc@dev", "app@dev", "exact"), ("vpc@prod", "app@prod", "exact")]


def test_declared_environments_are_checked_and_each_error_is_named(tmp_path: Path) -> None:
    stack = (
        "stack {\n"
        '  environment "ok" {\n    var_files = ["ok.tfvars"]\n  }\n'
        '  environment "ok" {\n  }\n'
        '  environment "bad name!" {\n  }\n'
        '  environment "escapes" {\n    var_files = ["../../../etc/passwd.tfvars"]\n  }\n'
        '  environment "wrong" {\n    backend_config = ["main.tf"]\n  }\n'
        "}\n"
    )
    graph = _graph(
        tmp_path, {"app/main.tf": "", "app/stackrun.hcl": stack, "app/ok.tfvars": "x = 1\n"}
    )
    messages = sorted(e["message"] for e in graph.errors if e["kind"] == "environment")
    assert messages == [
        "environment 'bad name!': a name is letters, digits, '_', '-' or '.', starting with a "
        "letter or digit, at most 63 characters",
        "environment 'escapes': var_files '../../../etc/passwd.tfvars' is outside the repository",
        "environment 'ok' is declared twice",
        "environment 'wrong': backend_config 'main.tf' must end in '.backend' or '.tfbackend'",
    ]
    assert sorted(graph.stacks) == ["app@escapes", "app@ok", "app@wrong"]
    assert graph.stacks["app@escapes"].var_files == []


def test_a_missing_environment_file_blocks_that_instance_only(tmp_path: Path) -> None:
    stack = (
        'stack {\n  environment "dev" {\n    var_files = ["dev.tfvars"]\n  }\n'
        '  environment "prod" {\n    var_files = ["prod.tfvars"]\n  }\n}\n'
    )
    graph = _graph(
        tmp_path, {"app/main.tf": "", "app/stackrun.hcl": stack, "app/dev.tfvars": "x = 1\n"}
    )
    assert graph.stacks["app@dev"].run_blockers == []
    assert graph.stacks["app@prod"].run_blockers == [
        "environment 'prod': app/prod.tfvars does not exist at this commit"
    ]
    assert affected(graph, ["README.md"]) == {}  # never affected by every push


def test_a_push_changing_one_environments_file_affects_that_instance_only(tmp_path: Path) -> None:
    graph = _graph(
        tmp_path,
        {
            "vpc/main.tf": PARTIAL_S3,
            "vpc/staging.backend": _backend("s", "vpc"),
            "vpc/production.backend": _backend("p", "vpc"),
            "vpc/production.tfvars": "x = 1\n",
        },
    )
    assert affected(graph, ["vpc/staging.backend"]) == {
        "vpc@staging": "changed: vpc/staging.backend"
    }
    assert list(affected(graph, ["vpc/production.tfvars"])) == ["vpc@production"]
    assert list(affected(graph, ["vpc/main.tf"])) == ["vpc@production", "vpc@staging"]
    assert list(affected(graph, ["vpc/README.md"])) == ["vpc@production", "vpc@staging"]


def test_a_var_file_outside_the_folder_affects_the_instances_that_name_it(tmp_path: Path) -> None:
    stack = 'stack {\n  environment "dev" {\n    var_files = ["../config/dev.tfvars"]\n  }\n}\n'
    graph = _graph(
        tmp_path,
        {"app/main.tf": "", "app/stackrun.hcl": stack, "config/dev.tfvars": "x = 1\n"},
    )
    assert affected(graph, ["config/dev.tfvars"]) == {
        "app@dev": "changed: config/dev.tfvars (environment dev)"
    }
    assert affected(graph, ["config/prod.tfvars"]) == {}


def test_a_folder_named_like_an_instance_is_an_error_not_a_merge(tmp_path: Path) -> None:
    stack = 'stack {\n  environment "dev" {\n  }\n}\n'
    graph = _graph(
        tmp_path,
        {
            "app/main.tf": "",
            "app/stackrun.hcl": stack,
            "app@dev/main.tf": PARTIAL_S3,
        },
    )
    assert list(graph.stacks) == ["app@dev"]
    assert graph.stacks["app@dev"].path == "app"
    assert [e["message"] for e in graph.errors] == ["app@dev and app both make stack app@dev"]


def test_instances_are_named_by_repository_path_and_environment() -> None:
    repository = Repository(name="acme/infra")
    assert stack_id_for(repository, "vpc@prod") == "acme/infra/vpc@prod"
    assert stack_id_for(repository, ".@prod") == "acme/infra@prod"
    assert stack_id_for(repository, ".") == "acme/infra"


def test_a_changed_backend_file_outside_the_folder_is_seen_by_the_next_build(
    tmp_path: Path,
) -> None:
    stack = (
        'stack {\n  environment "prod" {\n'
        '    backend_config = ["../config/prod.tfbackend"]\n  }\n}\n'
    )
    files = {
        "app/main.tf": PARTIAL_S3,
        "app/stackrun.hcl": stack,
        "config/prod.tfbackend": _backend("b", "old"),
    }
    cache = MemoryCache()
    _graph(tmp_path, files)
    assert graph_of_directory(tmp_path, cache).stacks["app@prod"].identity == ("s3", "b", "old")
    (tmp_path / "config/prod.tfbackend").write_text(_backend("b", "new"))
    assert graph_of_directory(tmp_path, cache).stacks["app@prod"].identity == ("s3", "b", "new")


def test_tfvars_no_environment_names_are_neither_errors_nor_blockers(tmp_path: Path) -> None:
    graph = _graph(
        tmp_path,
        {
            "app/main.tf": PARTIAL_S3,
            "app/example.tfvars": "name = {{ name }}\n",  # a template, not HCL
        },
    )
    assert graph.errors == []
    assert graph.stacks["app"].run_blockers == []


def test_a_bad_declaration_blocks_the_folders_stacks_instead_of_being_dropped(
    tmp_path: Path,
) -> None:
    only_bad = 'stack {\n  environment "prod!" {\n  }\n}\n'
    graph = _graph(tmp_path, {"app/main.tf": "", "app/stackrun.hcl": only_bad})
    assert list(graph.stacks) == ["app"]
    assert graph.stacks["app"].run_blockers[0].startswith("environment 'prod!': a name is")
    dropped = 'stack {\n  environment "prod" {\n    var_files = ["prod.tfvars.json"]\n  }\n}\n'
    graph = _graph(tmp_path, {"app/stackrun.hcl": dropped})
    assert graph.stacks["app@prod"].run_blockers == [
        "environment 'prod': var_files 'prod.tfvars.json' must end in '.tfvars'"
    ]


def test_names_and_files_terraform_would_misread_are_refused(tmp_path: Path) -> None:
    newline = 'stack {\n  environment "prod\\n" {\n  }\n}\n'
    graph = _graph(tmp_path, {"app/main.tf": "", "app/stackrun.hcl": newline})
    assert graph.errors[0]["message"].startswith("environment 'prod\\n': a name is")
    setting = (
        'stack {\n  environment "dev" {\n    backend_config = ["key=evil.tfbackend"]\n  }\n}\n'
    )
    graph = _graph(tmp_path, {"app/stackrun.hcl": setting, "app/key=evil.tfbackend": 'key = "k"\n'})
    assert graph.errors[0]["message"] == (
        "environment 'dev': backend_config 'key=evil.tfbackend' holds '=', "
        "which terraform reads as a setting, not a file"
    )
    assert graph.stacks["app@dev"].backend_files == []
    assert graph.stacks["app@dev"].run_blockers  # blocked, never run with the wrong backend
    attribute = 'stack {\n  environment = "staging"\n}\n'
    graph = _graph(tmp_path, {"app/stackrun.hcl": attribute})
    assert graph.stacks["app"].run_blockers == [
        "environment is a block, `environment \"<name>\" { … }`, not 'staging'"
    ]


def test_a_folder_gets_at_most_64_environments(tmp_path: Path) -> None:
    files = {"app/main.tf": PARTIAL_S3}
    files.update({f"app/e{n:03}.backend": _backend("b", f"k{n}") for n in range(70)})
    graph = _graph(tmp_path, files)
    assert len(graph.stacks) == 64
    assert graph.errors[0]["message"] == "more than 64 environments' backend files in one folder"


def test_the_convention_leaves_shared_files_and_other_folders_alone(tmp_path: Path) -> None:
    graph = _graph(
        tmp_path,
        {
            "vpc/main.tf": PARTIAL_S3,
            "vpc/backend.tfbackend": _backend("b", "vpc"),  # shared settings, no environment
            "vpc/dev.backend": _backend("d", "vpc"),
            "vpc/prod.backend": _backend("p", "vpc"),
            "config/dev.s3.tfbackend": _backend("d", "x"),  # not a stack: names nothing
            "config/qa.s3.tfbackend": _backend("q", "x"),
            "legacy/main.tf": PARTIAL_S3,
            "legacy/qa.tfbackend": _backend("q", "legacy"),
        },
    )
    assert sorted(graph.stacks) == ["legacy", "vpc@dev", "vpc@prod"]


def test_a_declared_reference_to_a_folder_with_an_at_sign_names_it(tmp_path: Path) -> None:
    graph = _graph(
        tmp_path,
        {
            "a@b/main.tf": PARTIAL_S3.replace("{}", '{\n    key = "x"\n  }'),
            "app/main.tf": "",
            "app/stackrun.hcl": 'stack {\n  depends_on = ["../a@b"]\n}\n',
        },
    )
    assert [(e.upstream, e.downstream) for e in graph.edges] == [("a@b", "app")]


def test_an_environment_file_through_a_folder_link_is_found(tmp_path: Path) -> None:
    stack = 'stack {\n  environment "prod" {\n    var_files = ["../envs/prod.tfvars"]\n  }\n}\n'
    _graph(tmp_path, {"app/main.tf": "", "app/stackrun.hcl": stack, "cfg/prod.tfvars": "x = 1\n"})
    (tmp_path / "envs").symlink_to("cfg")
    graph = graph_of_directory(tmp_path, MemoryCache())
    assert graph.stacks["app@prod"].run_blockers == []
    assert graph.stacks["app@prod"].var_files == ["cfg/prod.tfvars"]


def test_an_input_that_is_not_a_block_is_unresolved_not_a_crash(tmp_path: Path) -> None:
    graph = _graph(tmp_path, {"app/main.tf": "", "app/stackrun.hcl": 'stack {\n  input = "x"\n}\n'})
    assert graph.unresolved[0]["reason"].startswith("input is a block")
