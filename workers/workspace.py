"""A run's workspace: its commit checked out, managed state wired in, its environment granted,
its upstreams' local state written, and the confined terraform that works in it."""

from __future__ import annotations

import posixpath
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from orchestrator import worker_api
from orchestrator.settings import Settings
from orchestrator.toolchain import resolve_terraform
from orchestrator.worker_api import Masker, RunEnvironment, RunInputs, StackAtCommit, VcsError
from workers import checkout, environment
from workers.runlog import RunLog
from workers.runtime import plugin_cache, plugin_cache_lock
from workers.sandbox import confine
from workers.terraform import Terraform, base_environment

PLAN_FILE = "stackrun.tfplan"
LOCK_TIMEOUT = "-lock-timeout=60s"


@dataclass(frozen=True)
class Workspace:
    """The run's workspace and its terraform, with what an untrusted run was not given."""

    root: Path
    terraform: Terraform
    withheld: tuple[str, ...]
    credential: str
    inputs_digest: str
    # an environment's files (DESIGN §3), as Terraform in the stack's folder names them
    backend_files: tuple[str, ...] = ()
    var_files: tuple[str, ...] = ()

    def init(self, settings: Settings) -> None:
        """terraform init, one at a time on this machine (it fills the shared plugin cache)."""
        args = ["init", "-input=false", "-no-color"]
        if (self.terraform.workdir / checkout.BACKEND_CONFIG).exists():
            args.append(f"-backend-config={checkout.BACKEND_CONFIG}")
        else:
            args.extend(f"-backend-config={path}" for path in self.backend_files)
        with plugin_cache_lock(settings):
            self.terraform.run(*args)

    @property
    def var_file_args(self) -> list[str]:
        return [f"-var-file={path}" for path in self.var_files]


def prepare(
    settings: Settings, inputs: RunInputs, phase: str, masker: Masker, runlog: RunLog
) -> Workspace:
    """Check the run's commit out for `phase` and set terraform up in the stack's directory."""
    root, directory, at_commit, given = _checked_out(settings, inputs, phase)
    credential = inputs.credential
    masker.add(credential)
    if inputs.managed_state:
        address = checkout.state_address(settings, inputs.stack_id)
        checkout.wire_managed_state(directory, address, inputs.run_id)
        runlog(f"state: managed by stackrun at {address}")
    granted = environment.assemble(settings, inputs, given, masker, runlog)
    env = base_environment({"TF_PLUGIN_CACHE_DIR": str(plugin_cache(settings, granted.trusted))})
    if inputs.managed_state:
        env["TF_HTTP_PASSWORD"] = credential
    env.update(granted.env)
    _write_upstream_local_states(root, inputs, runlog, granted.trusted)
    binary = resolve_terraform(settings.terraform_bin)
    confinement = confine(settings, root, directory, Path(binary), env)
    runlog(f"stackrun: {confinement.sandbox.describe()}")
    terraform = Terraform(binary, directory, env, runlog, confinement)
    if inputs.environment is not None:
        runlog(f"stackrun: environment {inputs.environment}")
    return Workspace(
        root,
        terraform,
        granted.withheld,
        credential,
        granted.inputs_digest,
        _from_stack(inputs.stack_path, at_commit.backend_files),
        _from_stack(inputs.stack_path, at_commit.var_files),
    )


def _checked_out(
    settings: Settings, inputs: RunInputs, phase: str
) -> tuple[Path, Path, StackAtCommit, RunEnvironment]:
    """The run's commit exported and its stack file checked, while the run's environment is
    read from the API: the read starts once the graph at the commit clears the stack (no
    environment is read for a stack that may not run) and overlaps the export. Nothing of
    it is logged or given to terraform before the checkout succeeded."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"run-{inputs.run_id}") as pool:
        reading: list[Future[RunEnvironment]] = []

        def read() -> None:
            reading.append(pool.submit(environment.fetch, settings, inputs))

        root, at_commit = checkout.checkout(settings, inputs, phase, read)
        directory = checkout.stack_dir(root, inputs.stack_path)
        if not directory.is_dir():
            raise VcsError(
                f"stack directory {inputs.stack_path} does not exist at commit {inputs.commit_sha}"
            )
        worker_api.check_stack_file(directory, inputs.stack_path)
        given = reading[0].result()  # checkout returned: the stack was cleared
    return root, directory, at_commit, given


def _from_stack(stack_path: str, paths: tuple[str, ...]) -> tuple[str, ...]:
    """Paths from the repository root as Terraform, working in the stack's folder, is given
    them (the graph keeps them inside the repository)."""
    start = "." if stack_path == "." else stack_path
    return tuple(posixpath.relpath(path, start) for path in paths)


def _write_upstream_local_states(
    root: Path, inputs: RunInputs, runlog: RunLog, trusted: bool
) -> None:
    """A stack that reads a managed upstream through backend "local" finds that upstream's
    current state at the path it names (DESIGN §3), so local-state monorepos work as written;
    an untrusted run finds it with the sensitive values withheld."""
    for read in inputs.local_state_reads:
        target = (root / read["path"]).resolve()
        if not target.is_relative_to(root.resolve()):
            continue
        content = worker_api.upstream_state(read["stack"], trusted)
        if content is None:
            runlog(f"stackrun: {read['stack']} has no state yet; {read['path']} is left absent")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        checkout.write_new(target, content)
        runlog(f"stackrun: wrote the current state of {read['stack']} to {read['path']}")
