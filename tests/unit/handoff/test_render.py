"""The rendered hand-off objects validate against Argo CD's CRD schemas, and broken ones do not."""

from __future__ import annotations

import copy
import importlib.util
import json
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from orchestrator.handoff.render import (
    HEADER,
    Rendered,
    crd_schema,
    render,
    validation_errors,
)
from orchestrator.handoff.spec import GitopsBridge, HandoffSpec, RootSpec

REPO_ROOT = Path(__file__).resolve().parents[3]
UPSTREAM_CRDS = Path("/work/shared/reference/argocd")
SPEC = HandoffSpec(
    repository="platform-gitops",
    root=RootSpec(repo_url="https://git.example.com/platform.git", path="bootstrap"),
)
BRIDGE = GitopsBridge(
    cluster_name="platform",
    server="https://ABCDEF.gr7.us-east-1.eks.amazonaws.com",
    labels={"environment": "dev", "enable_argocd": "true"},
    annotations={"aws_cluster_arn": "arn:aws:eks:us-east-1:123:cluster/platform"},
)


def _render(mode: str = "applicationset", **root: Any) -> Rendered:
    spec = replace(SPEC, mode=mode, root=replace(SPEC.root, **root))
    return render(spec, BRIDGE, stack="platform/eks", repository="acme/infra")


def _documents(rendered: Rendered) -> dict[str, dict[str, Any]]:
    return {file.path: file.document for file in rendered.files}


@pytest.mark.parametrize(
    ("mode", "root_file", "kind"),
    [
        ("applicationset", "root-applicationset.yaml", "ApplicationSet"),
        ("app_of_apps", "root-application.yaml", "Application"),
    ],
)
def test_both_modes_render_documents_that_validate_with_zero_errors(
    mode: str, root_file: str, kind: str
) -> None:
    for automated in (True, False):
        rendered = _render(mode, automated=automated)
        assert [f.path for f in rendered.files] == [
            "clusters/platform/cluster-secret.yaml",
            f"clusters/platform/{root_file}",
        ]
        assert rendered.root_kind == kind and rendered.root is rendered.files[1].document
        for file in rendered.files:
            assert validation_errors(file.document) == []
            assert validation_errors(yaml.safe_load(file.text())) == []


def test_rendering_is_deterministic_to_the_byte() -> None:
    for mode in ("applicationset", "app_of_apps"):
        first = [(f.path, f.text()) for f in _render(mode).files]
        second = [(f.path, f.text()) for f in _render(mode).files]
        assert first == second


def test_every_file_starts_with_the_managed_by_comment_and_round_trips() -> None:
    for file in _render().files:
        text = file.text()
        assert text.startswith("# managed by stackrun: do not edit by hand\n")
        assert text.startswith(HEADER) and yaml.safe_load(text) == file.document


def test_a_changed_label_changes_the_secret_text() -> None:
    before = _render().files[0].text()
    bridge = replace(BRIDGE, labels={**BRIDGE.labels, "environment": "prod"})
    after = render(SPEC, bridge, stack="platform/eks", repository="acme/infra").files[0].text()
    assert before != after and "environment: prod" in after


def test_the_cluster_secret_follows_the_gitops_bridge_shape() -> None:
    secret = _documents(_render())["clusters/platform/cluster-secret.yaml"]
    assert secret["metadata"]["name"] == "cluster-platform"
    assert secret["metadata"]["namespace"] == "argocd"
    assert secret["metadata"]["labels"] == {
        "environment": "dev",
        "enable_argocd": "true",
        "argocd.argoproj.io/secret-type": "cluster",
        "stackrun.io/cluster": "platform",
        "app.kubernetes.io/managed-by": "stackrun",
    }
    assert secret["metadata"]["annotations"] == {
        "aws_cluster_arn": "arn:aws:eks:us-east-1:123:cluster/platform",
        "stackrun.io/stack": "platform/eks",
        "stackrun.io/repository": "acme/infra",
    }
    assert secret["stringData"] == {
        "name": "platform",
        "server": BRIDGE.server,
        "config": '{"tlsClientConfig": {"insecure": false}}',
    }
    assert json.loads(secret["stringData"]["config"]) == {"tlsClientConfig": {"insecure": False}}


def test_stackrun_labels_win_over_bridge_labels_of_the_same_key() -> None:
    bridge = replace(BRIDGE, labels={"stackrun.io/cluster": "other"})
    rendered = render(SPEC, bridge, stack="s", repository="r")
    assert rendered.files[0].document["metadata"]["labels"]["stackrun.io/cluster"] == "platform"


def test_the_applicationset_cluster_selector_matches_the_secret_labels() -> None:
    rendered = _render()
    secret_labels = rendered.files[0].document["metadata"]["labels"]
    (generator,) = rendered.root["spec"]["generators"]
    selector = generator["clusters"]["selector"]["matchLabels"]
    assert selector and selector.items() <= secret_labels.items()


def test_the_generated_application_name_is_the_reported_app_name() -> None:
    rendered = _render()
    template_name = rendered.root["spec"]["template"]["metadata"]["name"]
    secret_name = rendered.files[0].document["stringData"]["name"]
    assert template_name.replace("{{.name}}", secret_name) == rendered.app_name
    assert rendered.app_name == "platform-bootstrap"
    assert _render("app_of_apps").root["metadata"]["name"] == rendered.app_name


def test_the_application_set_uses_go_templates_for_the_cluster_fields() -> None:
    spec = _render().root["spec"]
    assert spec["goTemplate"] is True and spec["goTemplateOptions"] == ["missingkey=error"]
    assert spec["template"]["spec"]["destination"] == {
        "server": "{{.server}}",
        "namespace": "argocd",
    }


def test_the_root_application_targets_the_bridge_server_and_has_the_finalizer() -> None:
    root = _render("app_of_apps").root
    assert root["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]
    assert root["spec"]["destination"] == {"server": BRIDGE.server, "namespace": "argocd"}
    assert root["spec"]["source"] == {
        "repoURL": "https://git.example.com/platform.git",
        "path": "bootstrap",
        "targetRevision": "HEAD",
    }


def test_automated_sync_is_only_rendered_when_asked_for() -> None:
    for mode in ("applicationset", "app_of_apps"):
        on, off = _render(mode).root["spec"], _render(mode, automated=False).root["spec"]
        on, off = on.get("template", {}).get("spec", on), off.get("template", {}).get("spec", off)
        assert on["syncPolicy"] == {
            "automated": {"prune": True, "selfHeal": True},
            "syncOptions": ["CreateNamespace=true"],
        }
        assert off["syncPolicy"] == {"syncOptions": ["CreateNamespace=true"]}


def test_a_repository_root_path_puts_the_files_in_the_cluster_folder() -> None:
    rendered = render(replace(SPEC, path="."), BRIDGE, stack="s", repository="r")
    assert [f.path for f in rendered.files] == [
        "platform/cluster-secret.yaml",
        "platform/root-applicationset.yaml",
    ]


def test_an_unknown_mode_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown handoff mode 'flux'"):
        render(replace(SPEC, mode="flux"), BRIDGE, stack="s", repository="r")


def test_a_broken_applicationset_is_reported_by_path() -> None:
    broken = copy.deepcopy(_render().root)
    broken["spec"]["generators"] = {"clusters": {}}
    del broken["spec"]["template"]
    assert validation_errors(broken) == [
        "ApplicationSet spec.generators: {'clusters': {}} is not of type 'array'",
        "ApplicationSet spec: 'template' is a required property",
    ]


def test_a_generator_that_is_not_an_object_is_reported_by_index() -> None:
    broken = copy.deepcopy(_render().root)
    broken["spec"]["generators"].append("x")
    assert validation_errors(broken) == [
        "ApplicationSet spec.generators[1]: 'x' is not of type 'object'"
    ]


def test_a_broken_application_is_reported_by_path() -> None:
    broken = copy.deepcopy(_render("app_of_apps").root)
    del broken["spec"]["destination"]
    broken["spec"]["source"]["directory"] = {"recurse": "yes"}
    assert validation_errors(broken) == [
        "Application spec.source.directory.recurse: 'yes' is not of type 'boolean'",
        "Application spec: 'destination' is a required property",
    ]


def test_an_unknown_field_is_an_error_rather_than_silently_pruned() -> None:
    broken = copy.deepcopy(_render("app_of_apps").root)
    broken["spec"]["syncPolicy"]["automatic"] = {"prune": True}
    broken["spec"]["generators"] = []
    assert validation_errors(broken) == [
        "Application spec.syncPolicy: Additional properties are not allowed "
        "('automatic' was unexpected)",
        "Application spec: Additional properties are not allowed ('generators' was unexpected)",
    ]


def test_helm_values_object_keeps_its_free_form_fields() -> None:
    app = copy.deepcopy(_render("app_of_apps").root)
    app["spec"]["source"]["helm"] = {"valuesObject": {"anything": {"goes": [1, "two"]}}}
    assert validation_errors(app) == []


def test_the_api_version_and_object_metadata_are_checked() -> None:
    broken = copy.deepcopy(_render().root)
    broken["apiVersion"] = "argoproj.io/v1"
    broken["metadata"]["name"] = "Platform_Bootstrap"
    broken["metadata"]["labels"] = {"team": "arn:aws:iam::123:role/x"}
    assert validation_errors(broken) == [
        "ApplicationSet apiVersion: 'argoproj.io/v1alpha1' was expected",
        "ApplicationSet metadata.labels.team: 'arn:aws:iam::123:role/x' is not a label value "
        "([A-Za-z0-9-_.], starting and ending alphanumeric)",
        "ApplicationSet metadata.name: 'Platform_Bootstrap' is not a DNS subdomain "
        "(lowercase letters, digits, '-' and '.')",
    ]


def test_a_secret_whose_string_data_value_is_not_a_string_is_rejected() -> None:
    secret = copy.deepcopy(_render().files[0].document)
    secret["stringData"]["insecure"] = False
    assert validation_errors(secret) == [
        "Secret stringData.insecure: False is not of type 'string'"
    ]


def test_a_secret_with_bad_data_or_keys_is_rejected_with_quoted_paths() -> None:
    secret = copy.deepcopy(_render().files[0].document)
    secret["data"] = {"token": "not base64!"}
    secret["metadata"]["labels"]["stackrun.io/cluster"] = 7
    secret["stringdata"] = {}
    assert validation_errors(secret) == [
        "Secret data.token: 'not base64!' is not base64",
        "Secret metadata.labels['stackrun.io/cluster']: 7 is not of type 'string'",
        "Secret: Additional properties are not allowed ('stringdata' was unexpected)",
    ]


def test_an_unsupported_kind_is_one_error() -> None:
    assert validation_errors({"apiVersion": "v1", "kind": "ConfigMap"}) == [
        "document kind 'ConfigMap' is not Application, ApplicationSet or Secret"
    ]


@pytest.mark.parametrize("kind", ["Application", "ApplicationSet"])
def test_the_packaged_schemas_are_valid_draft_7_schemas(kind: str) -> None:
    schema = crd_schema(kind)
    Draft7Validator.check_schema(schema)
    assert schema["type"] == "object" and schema["required"] == ["metadata", "spec"]


def _extract_script() -> ModuleType:
    path = REPO_ROOT / "scripts" / "extract_argocd_schemas.py"
    spec = importlib.util.spec_from_file_location("extract_argocd_schemas", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_packaged_schemas_equal_what_the_extract_script_produces() -> None:
    if not UPSTREAM_CRDS.is_dir():
        pytest.skip(f"{UPSTREAM_CRDS} (the upstream Argo CD v3.5.1 CRDs) is not on this machine")
    expected = _extract_script().extract(UPSTREAM_CRDS)
    packaged = REPO_ROOT / "orchestrator" / "handoff" / "schemas"
    assert sorted(expected) == ["application.json", "applicationset.json"]
    for name, text in expected.items():
        assert (packaged / name).read_text(encoding="utf-8") == text, name
