"""Reading Argo CD's side through the hand-off client, against the swagger-checked stand-in:
managed resources, children in the resource tree, a huge tree, an unreachable server."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest

from orchestrator.boundary.argocd_side import Cluster, Limits, Observed, read
from orchestrator.boundary.kinds import ordered
from orchestrator.handoff.argocd_api import ArgoCDClient, ArgoCDError
from tests.support.argocd_server import (
    GET_RESOURCE,
    LIST_APPLICATIONS,
    UNAVAILABLE,
    ArgoCDStandIn,
)
from tests.unit.boundary import shapes

TOKEN = "boundary-argocd-token-1d2c"
CLUSTER = Cluster("prod-eu", "https://prod-eu.eks.example.com", "prod-eu-bootstrap")


def _app(name: str, server: str = CLUSTER.server) -> dict[str, object]:
    return {
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://git.example.com/apps.git", "path": name},
            "destination": {"server": server, "namespace": "payments"},
        },
    }


def _config_map(number: int) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"c{number}", "namespace": "payments"},
    }


@pytest.fixture
def argocd() -> Iterator[ArgoCDStandIn]:
    with ArgoCDStandIn(TOKEN) as server:
        yield server


def _read(argocd: ArgoCDStandIn, limits: Limits | None = None) -> Observed:
    with ArgoCDClient(argocd.url, TOKEN, attempts=1, sleep=lambda _s: None) as client:
        return read(client, CLUSTER, ordered([]), limits or Limits())


def test_managed_objects_and_aws_children_of_the_clusters_applications_are_claims(
    argocd: ArgoCDStandIn,
) -> None:
    argocd.manage(_app("payments-db"), [shapes.ACK_DB_INSTANCE], children=[shapes.ACK_ROLE])
    argocd.manage(_app("elsewhere", server="https://other.example.com"), [shapes.ACK_BUCKET])
    observed = _read(argocd)
    assert observed.listed == {"payments-db"} and observed.complete == {"payments-db"}
    assert observed.problems == [
        "the root application prod-eu-bootstrap is not among the applications the token may "
        "list (check its RBAC): applications not listed keep their findings"
    ]
    claims = {(c.app, str(c.obj)): {i.key for i in c.identities} for c in observed.claims}
    assert f"arn:{shapes.DB_ARN}" in claims[("payments-db", "DBInstance payments/main")]
    assert f"arn:{shapes.ROLE_ARN}" in claims[("payments-db", "Role payments/app")]
    assert len(argocd.calls(GET_RESOURCE)) == 1, "only the AWS child's live object is fetched"
    assert argocd.violations == []


def test_a_huge_tree_is_read_up_to_the_limit_and_its_application_not_closed(
    argocd: ArgoCDStandIn,
) -> None:
    children = [_config_map(n) for n in range(3000)]
    role = copy.deepcopy(shapes.ACK_ROLE)
    argocd.manage(_app("huge"), [shapes.ACK_DB_INSTANCE], children=[*children, role])
    observed = _read(argocd, Limits(tree_nodes=1000, fetches=5))
    assert "huge" in observed.listed and "huge" not in observed.complete
    assert any("3002 objects, more than 1000" in p for p in observed.problems)
    assert any(str(c.obj) == "DBInstance payments/main" for c in observed.claims)
    assert argocd.calls(GET_RESOURCE) == [], "ConfigMaps are never fetched"


def test_too_many_aws_children_stop_at_the_fetch_limit(argocd: ArgoCDStandIn) -> None:
    roles = []
    for number in range(4):
        role = copy.deepcopy(shapes.ACK_ROLE)
        role["metadata"]["name"] = f"r{number}"
        roles.append(role)
    argocd.manage(_app("roles"), [shapes.ACK_DB_INSTANCE], children=roles)
    observed = _read(argocd, Limits(fetches=2))
    assert len(argocd.calls(GET_RESOURCE)) == 2 and "roles" not in observed.complete
    assert any("more than 2 AWS objects" in p for p in observed.problems)


def test_an_unreachable_argocd_is_a_clear_error(argocd: ArgoCDStandIn) -> None:
    argocd.fail(LIST_APPLICATIONS, UNAVAILABLE)
    with pytest.raises(ArgoCDError) as raised:
        _read(argocd)
    assert "argocd list applications" in str(raised.value) and "503" in str(raised.value)
    assert TOKEN not in str(raised.value)


def test_applications_the_root_manages_are_read_wherever_they_deploy(argocd: ArgoCDStandIn) -> None:
    child = _app("addons", server="https://kubernetes.default.svc")
    child_object = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "addons", "namespace": "argocd"},
        "spec": child["spec"],
    }
    argocd.manage(_app(CLUSTER.root_app, server="https://kubernetes.default.svc"), [child_object])
    argocd.manage(child, [shapes.ACK_BUCKET])
    argocd.manage(_app("unrelated", server="https://kubernetes.default.svc"), [shapes.ACK_ROLE])
    observed = _read(argocd)
    assert observed.listed == {CLUSTER.root_app, "addons"}
    assert any(str(c.obj) == "Bucket payments/assets" for c in observed.claims)
    assert argocd.violations == []


def test_a_check_that_cannot_read_argocd_says_why_without_the_token() -> None:
    from orchestrator.boundary.check import Target, _observe
    from orchestrator.settings import Settings

    target = Target("acme/p/bootstrap", "http://127.0.0.1:9", CLUSTER, 1)
    no_token = _observe(target, Settings(argocd_token=None))
    assert no_token == (
        "reading Argo CD at http://127.0.0.1:9 for platform acme/p/bootstrap: handoff server "
        "http://127.0.0.1:9 is set but no Argo CD token is configured (set STACKRUN_ARGOCD_TOKEN)"
    )
    elsewhere = _observe(target, Settings(argocd_token=TOKEN, argocd_servers="https://argo.x"))
    assert isinstance(elsewhere, str) and "not one of STACKRUN_ARGOCD_SERVERS" in elsewhere
    refused = _observe(target, Settings(argocd_token=TOKEN))
    assert isinstance(refused, str)
    assert "argocd list applications: cannot reach http://127.0.0.1:9 (ConnectError" in refused
    assert refused.endswith("findings left as they were") and TOKEN not in refused
