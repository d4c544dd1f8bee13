"""A run's environment for Terraform: variables and upstream inputs from the API (read with
the run's own credential, so this worker never decrypts them), and the stack's AWS role
assumed for the run, as far as the run is trusted (orchestrator/trust.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from orchestrator import worker_api
from orchestrator.settings import Settings
from orchestrator.worker_api import Masker, RunEnvironment, RunInputs, RunKind
from workers import api_client


@dataclass(frozen=True)
class Granted:
    env: dict[str, str]
    withheld: tuple[str, ...]
    trusted: bool
    inputs_digest: str


def fetch(settings: Settings, inputs: RunInputs) -> RunEnvironment:
    """The run's environment as the API gives it for the run's credential (thread-safe)."""
    return api_client.environment(settings, inputs.run_id, inputs.credential)


def assemble(
    settings: Settings,
    inputs: RunInputs,
    given: RunEnvironment,
    masker: Masker,
    runlog: Callable[[str], None],
) -> Granted:
    """What `fetch` gave, with the stack's AWS role when trusted; secrets are added to
    `masker` before anything is logged. The digest of the inputs is the caller's to record."""
    for secret in given.secrets:
        masker.add(secret)
    for note in given.notes:
        runlog(f"stackrun: {note}")
    env = dict(given.variables)
    withheld = list(given.withheld)
    if given.trusted:
        env.update(_aws_credentials(settings, inputs, masker, runlog))
    elif inputs.aws:
        withheld.append(f"AWS role {inputs.aws_role_arn}")
    _log_inputs(inputs, given.inputs, given.missing, runlog)
    for name in sorted(set(given.inputs) & set(env)):
        runlog(f"stackrun: input {name} overrides the variable of the same name")
    env.update(given.inputs)
    if not given.trusted:
        listed = ", ".join(withheld) if withheld else "none were configured"
        runlog(
            f"stackrun: this proposed run is untrusted ({given.trust_reason}): secret "
            f"variables, sensitive upstream outputs and the stack's AWS role are withheld "
            f"({listed})"
        )
    return Granted(env, tuple(withheld), given.trusted, given.inputs_digest)


def _aws_credentials(
    settings: Settings, inputs: RunInputs, masker: Masker, runlog: Callable[[str], None]
) -> dict[str, str]:
    """The stack's role assumed for this run: temporary credentials in the environment only."""
    assumed = worker_api.assume_role(settings, inputs)
    if assumed is None:
        return {}
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        masker.add(assumed.env[name])
    runlog(
        f"stackrun: assumed {assumed.role_arn} as {assumed.session_name} "
        f"for {assumed.session_seconds}s"
    )
    return assumed.env


def _log_inputs(
    inputs: RunInputs, found: dict[str, str], missing: list[str], runlog: Callable[[str], None]
) -> None:
    if inputs.kind == RunKind.PROPOSED and (found or missing):
        runlog(
            "stackrun: a proposed run plans with its upstream stacks' last applied outputs; "
            "outputs that this change would produce upstream are not applied yet, so not seen"
        )
    for name in sorted(found):
        runlog(f"stackrun: input {name} from an upstream stack's last applied outputs")
    for gap in missing:
        runlog(f"stackrun: input {gap} has no applied value yet; terraform uses its default")
