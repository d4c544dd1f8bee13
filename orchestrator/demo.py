"""A small demo platform: network → eks → argocd-bootstrap as null_resource stacks in a local git
repository, registered and pushed; the last stack hands the cluster off to a local GitOps
repository (DESIGN §8). The repositories live beside the data directory (`<data dir>-demo`),
never in it, and need STACKRUN_ALLOW_LOCAL_REPOSITORIES=true (`stackrun up --demo` sets it)."""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import git
from sqlalchemy import select

from orchestrator import repos
from orchestrator.auth import create_token
from orchestrator.db import session_scope
from orchestrator.graph.facts import STACK_FILE
from orchestrator.models import Event, Pipeline, Repository
from orchestrator.secrets.crypto import decrypt
from orchestrator.vcs.mirror import ZERO_SHA
from orchestrator.webhooks import githook
from orchestrator.webhooks.delivery import PushedRef, deliver_push

DEMO_REPOSITORY = "demo/platform"
DEMO_DIR_SUFFIX = "-demo"
PLATFORM_BARE = "platform.git"
PLATFORM_WORK = "platform"
GITOPS_BARE = "gitops.git"
CLUSTER_NAME = "demo-eks"
CLUSTER_ENDPOINT = f"https://{CLUSTER_NAME}.example.internal"
ADDONS_REPOSITORY = "https://github.com/example/addons.git"
DEMO_AUTHOR = git.Actor("stackrun demo", "demo@stackrun.invalid")
PLATFORM_MESSAGE = "demo platform: network → eks → argocd-bootstrap (hands off to Argo CD)"
NOTES_MESSAGE = "demo: another push (network/NOTES.md)"
SETTLED_EVENTS = ("processed", "failed", "ignored")

NETWORK_TF = """\
locals {
  zones = ["eu-west-1a", "eu-west-1b"]
}

resource "null_resource" "vpc" {
  triggers = { cidr = "10.0.0.0/16" }
}

output "vpc_id" {
  value = "vpc-${null_resource.vpc.id}"
}

output "subnet_ids" {
  value = [for zone in local.zones : "subnet-${zone}-${null_resource.vpc.id}"]
}
"""

EKS_TF = """\
variable "vpc_id" {
  type        = string
  description = "output vpc_id of stack network"
}

locals {
  cluster_name = "demo-eks"
}

resource "null_resource" "cluster" {
  triggers = {
    name    = local.cluster_name
    version = "1.31"
    vpc_id  = var.vpc_id
  }
}

resource "null_resource" "node_group" {
  triggers = { cluster = null_resource.cluster.id }
}

output "cluster_name" {
  value = local.cluster_name
}

output "cluster_endpoint" {
  value = "https://${local.cluster_name}.example.internal"
}

output "cluster_arn" {
  value = "arn:aws:eks:eu-west-1:000000000000:cluster/${local.cluster_name}"
}
"""

BOOTSTRAP_TF = """\
variable "cluster_name" {
  type = string
}

variable "cluster_endpoint" {
  type = string
}

variable "cluster_arn" {
  type = string
}

# Stands for `helm install argo-cd`: the one thing Terraform installs in the cluster.
# After the hand-off, Argo CD owns the cluster's contents.
resource "null_resource" "argocd" {
  triggers = {
    chart   = "argo-cd"
    version = "7.7.0"
    cluster = var.cluster_endpoint
  }
}

# The GitOps Bridge: selector values in labels, ARNs and URLs in annotations.
output "gitops_bridge" {
  value = {
    cluster_name = var.cluster_name
    server       = var.cluster_endpoint
    labels = {
      environment   = "demo"
      cloud         = "aws"
      enable_argocd = "true"
    }
    annotations = {
      aws_cluster_arn  = var.cluster_arn
      cluster_endpoint = var.cluster_endpoint
    }
  }
}
"""

GITOPS_README = """\
# GitOps repository of the stackrun demo

stackrun's hand-off writes each cluster's Argo CD cluster Secret and root ApplicationSet to
`clusters/<cluster name>/` here once the platform pipeline has applied.
"""


class DemoError(Exception):
    """The demo cannot be set up here; the message says why and what to try."""


@dataclass(frozen=True)
class DemoPush:
    repository: str
    delivery_id: str
    status_code: int
    body: dict[str, object]


def _stack_hcl(
    name: str, labels: list[str], inputs: list[tuple[str, str, str]], extra: str = ""
) -> str:
    """A `stack {}` block; `inputs` are (variable, upstream stack dir, its output)."""
    blocks = "".join(
        f'\n  input "{variable}" {{\n    stack  = "../{stack}"\n    output = "{output}"\n  }}\n'
        for variable, stack, output in inputs
    )
    return (
        f'stack {{\n  name       = "{name}"\n  labels     = {json.dumps(labels)}\n'
        f"  autodeploy = true\n{blocks}{extra}}}\n"
    )


def _handoff_hcl(gitops_url: str) -> str:
    return (
        '\n  handoff "argocd" {\n'
        f'    repository = "{gitops_url}"\n'
        '    branch     = "main"\n'
        '    path       = "clusters"\n'
        '    mode       = "applicationset"\n'
        "    root {\n"
        f'      repo_url = "{ADDONS_REPOSITORY}"\n'
        '      path     = "bootstrap"\n'
        "    }\n"
        "  }\n"
    )


def platform_files(gitops_url: str) -> dict[str, str]:
    """Every file of the demo platform, by path; the last stack hands off to `gitops_url`."""
    cluster = [(name, "eks", name) for name in ("cluster_name", "cluster_endpoint", "cluster_arn")]
    return {
        f"network/{STACK_FILE}": _stack_hcl("network", ["demo"], []),
        "network/main.tf": NETWORK_TF,
        f"eks/{STACK_FILE}": _stack_hcl("eks", ["demo"], [("vpc_id", "network", "vpc_id")]),
        "eks/main.tf": EKS_TF,
        f"argocd-bootstrap/{STACK_FILE}": _stack_hcl(
            "argocd-bootstrap", ["demo", "bootstrap"], cluster, _handoff_hcl(gitops_url)
        ),
        "argocd-bootstrap/main.tf": BOOTSTRAP_TF,
    }


def ensure_gitops_repository(bare: Path) -> Path:
    """The GitOps repository the hand-off commits to: a bare repository whose `main` holds a
    README. Never re-created: the hand-off's commits in it are kept."""
    if not bare.exists():
        git.Repo.init(bare, bare=True, initial_branch="main")
    if "main" not in [head.name for head in git.Repo(bare).heads]:
        with tempfile.TemporaryDirectory() as scratch:
            seed = git.Repo.init(scratch, initial_branch="main")
            (Path(scratch) / "README.md").write_text(GITOPS_README)
            seed.git.add(A=True)
            seed.index.commit("gitops: README", author=DEMO_AUTHOR, committer=DEMO_AUTHOR)
            seed.git.push(str(bare), "main")
    return bare


def _platform_clone(bare: Path, work: Path) -> git.Repo:
    git.Repo.init(bare, bare=True, initial_branch="main")
    repo = git.Repo.init(work, initial_branch="main")
    repo.create_remote("origin", str(bare))
    with repo.config_writer() as config:
        config.set_value("user", "name", DEMO_AUTHOR.name)
        config.set_value("user", "email", DEMO_AUTHOR.email)
    return repo


def _write_platform(work: Path, files: dict[str, str]) -> None:
    """Write the demo's files and drop stacks an older demo had (`dns`)."""
    stacks = {path.split("/")[0] for path in files}
    for stale in work.glob(f"*/{STACK_FILE}"):
        if stale.parent.name not in stacks:
            shutil.rmtree(stale.parent)
    for path, text in files.items():
        target = work / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def _append_notes(work: Path) -> None:
    notes = work / "network" / "NOTES.md"
    notes.write_text(notes.read_text() + "\nanother push\n" if notes.exists() else "notes\n")


def build_repository(root: Path) -> tuple[Path, str, str]:
    """Create (or advance) the demo platform and its GitOps repository under `root`;
    returns (platform bare path, before sha, after sha). A platform already up to date gets
    a change to network/NOTES.md, so every call is a push that plans."""
    gitops = ensure_gitops_repository(root / GITOPS_BARE)
    bare, work = root / PLATFORM_BARE, root / PLATFORM_WORK
    repo = git.Repo(work) if bare.exists() else _platform_clone(bare, work)
    before = repo.head.commit.hexsha if repo.head.is_valid() else ZERO_SHA
    _write_platform(work, platform_files(f"file://{gitops}"))
    message = PLATFORM_MESSAGE
    if not repo.is_dirty(untracked_files=True):
        _append_notes(work)
        message = NOTES_MESSAGE
    repo.git.add(A=True)
    repo.index.commit(message)
    repo.git.push("origin", "main")
    return bare, before, repo.head.commit.hexsha


def ensure_registered(bare: Path) -> tuple[str, str]:
    """Register the demo repository (once) and return (name, webhook secret). A demo
    registered by an older stackrun, whose platform lived inside the data directory, is
    pointed at this one (and its mirror of the old one dropped)."""
    clone_url = f"file://{bare}"
    with session_scope() as session:
        existing = session.scalar(select(Repository).where(Repository.name == DEMO_REPOSITORY))
        if existing is not None:
            if existing.clone_url != clone_url:
                shutil.rmtree(repos.mirror_for(existing).path, ignore_errors=True)
                existing.clone_url = clone_url
            return existing.name, repos.webhook_secret(existing)
        secret = secrets.token_urlsafe(24)
        result = repos.register(
            session,
            name=DEMO_REPOSITORY,
            clone_url=clone_url,
            branch="main",
            provider="github",
            secret=secret,
        )
        if isinstance(result, repos.RepositoryRefused):
            raise DemoError(f"registering the demo platform: {result.reason}")
        return result.name, decrypt(
            result.webhook_secret_enc, f"repository:{result.name}:webhook_secret"
        )


def admin_token() -> str:
    with session_scope() as session:
        return create_token(session, f"demo-admin-{uuid.uuid4().hex[:6]}", "admin")


def push_webhook(
    api_url: str, name: str, secret: str, clone_url: str, before: str, after: str
) -> DemoPush:
    pushed = PushedRef(before, after, "refs/heads/main")
    done = deliver_push(api_url, name, secret, clone_url, pushed, "demo-user")
    return DemoPush(name, done.delivery_id, done.status_code, done.body)


def pipeline_of(delivery_id: str, seconds: float = 30.0) -> int | None:
    """The pipeline the delivery's push created, once a worker has processed it; None when
    it made none (ignored, failed) or is still unprocessed after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with session_scope() as session:
            event = session.scalar(select(Event).where(Event.delivery_id == delivery_id))
            if event is not None and event.status in SETTLED_EVENTS:
                return session.scalar(select(Pipeline.id).where(Pipeline.event_id == event.id))
        time.sleep(0.25)
    return None


def demo_dir(data_dir: Path) -> Path:
    """Where the demo's repositories live: beside the data directory, since no repository may
    be registered inside it."""
    return data_dir.parent / f"{data_dir.name}{DEMO_DIR_SUFFIX}"


def gitops_repository(data_dir: Path) -> Path:
    return demo_dir(data_dir) / GITOPS_BARE


def next_steps(
    data_dir: Path, url: str, token: str, command: str, pipeline: int | None
) -> list[str]:
    """What to type to follow the demo from the push to the hand-off's commit, then to change
    the platform and see the push plan."""
    gitops = gitops_repository(data_dir)
    platform = demo_dir(data_dir) / PLATFORM_BARE
    steps = [
        "demo: network → eks → argocd-bootstrap apply one after another (autodeploy), then the "
        f"cluster is handed off to Argo CD by a commit to {gitops}",
        f"web UI: {url}/pipelines/{pipeline or ''}    (sign in with the admin token above)",
        f"next: export STACKRUN_URL={url} STACKRUN_TOKEN={token}",
        f"      {command} runs list    # network, eks, argocd-bootstrap: planned, applied in turn",
        '      curl -H "Authorization: Bearer $STACKRUN_TOKEN" '
        f"$STACKRUN_URL/api/v1/pipelines/{pipeline or '<id>'}",
        "          # the push's runs and handoffs: committed once argocd-bootstrap has applied",
        f"      git --git-dir {gitops} log --stat    # the hand-off's commit",
        f"change it: git clone {platform} platform && cd platform  # edit, commit, then",
        f"      git push    # the hook delivers the push; {command} runs list shows its runs",
    ]
    if pipeline is None:
        steps.insert(5, f'          (<id>: the "pipeline" of its runs: {command} runs show <run>)')
    return steps


@dataclass(frozen=True)
class DemoStart:
    """What `up --demo` did: the push it delivered (None when it kept the user's platform as
    it was, already registered: nothing to push), the admin token, the platform's bare
    repository and its head."""

    push: DemoPush | None
    token: str
    platform: Path
    head: str


def kept_head(bare: Path) -> str | None:
    """The head of `main` of an existing demo platform, or None when there is none yet."""
    if not (bare / "HEAD").is_file():
        return None
    try:
        return str(git.Repo(bare).commit("refs/heads/main").hexsha)
    except (git.GitError, ValueError):
        return None


def _registered() -> bool:
    with session_scope() as session:
        found = session.scalar(select(Repository.id).where(Repository.name == DEMO_REPOSITORY))
        return found is not None


def run_demo(data_dir: Path, api_url: str) -> DemoStart:
    """Create, register and push the demo platform, and install its post-receive hook so a
    `git push` to it plans. A platform already there is kept with its history as the user
    left it: only what is missing is registered (and then its head pushed)."""
    root = demo_dir(data_dir)
    bare = root / PLATFORM_BARE
    head = kept_head(bare)
    if head is None:
        bare, before, after = build_repository(root)
    else:
        ensure_gitops_repository(root / GITOPS_BARE)
        before, after = ZERO_SHA, head
    known = head is not None and _registered()
    name, secret = ensure_registered(bare)
    clone_url = f"file://{bare}"
    try:
        githook.install(bare, githook.HookConfig(api_url, name, clone_url, secret))
    except githook.HookError as exc:
        raise DemoError(str(exc)) from None
    token = admin_token()
    push = None if known else push_webhook(api_url, name, secret, clone_url, before, after)
    return DemoStart(push, token, bare, after)
