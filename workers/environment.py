"""A run's environment for Terraform: variables and upstream inputs from the API (read with
the run's own credential, so this worker never decrypts them), and the stack's AWS role
assumed for the run, as far as the run is trusted (orchestrator/trust.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from orchestrator.aws import sts
from orchestrator.aws.role import AwsRole
from orchestrator.db import session_scope
from orchestrator.models import Run, Stack
from orchestrator.runs import service
from orchestrator.runstate import RunKind
from orchestrator.secrets.masking import Masker
from orchestrator.settings import Settings
from workers import api_client


@dataclass(frozen=True)
class Granted:
    env: dict[str, str]
    withheld: tuple[str, ...]
    trusted: bool


def assemble(
    settings: Settings,
    run: Run,
    stack: Stack,
    credential: str,
    masker: Masker,
    runlog: Callable[[str], None],
) -> Granted:
    """Secrets are added to `masker` before anything is logged."""
    given = api_client.environment(settings, run.id, credential)
    for secret in given.secrets:
        masker.add(secret)
    with session_scope() as session:
        service.update_run_fields(session, run.id, inputs_sha256=given.inputs_digest)
    for note in given.notes:
        runlog(f"stackrun: {note}")
    env = dict(given.variables)
    withheld = list(given.withheld)
    if given.trusted:
        env.update(_aws_credentials(settings, run, stack, masker, runlog))
    elif stack.aws:
        withheld.append(f"AWS role {AwsRole.from_json(stack.aws).role_arn}")
    _log_inputs(run, given.inputs, given.missing, runlog)
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
    return Granted(env, tuple(withheld), given.trusted)


def _aws_credentials(
    settings: Settings, run: Run, stack: Stack, masker: Masker, runlog: Callable[[str], None]
) -> dict[str, str]:
    """The stack's role assumed for this run: temporary credentials in the environment only."""
    if not stack.aws:
        return {}
    role = AwsRole.from_json(stack.aws)
    env = sts.assume(role, run.id, stack.id, settings)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        masker.add(env[name])
    runlog(
        f"stackrun: assumed {role.role_arn} as {sts.session_name(run.id, stack.id)} "
        f"for {role.session_seconds}s"
    )
    return env


def _log_inputs(
    run: Run, inputs: dict[str, str], missing: list[str], runlog: Callable[[str], None]
) -> None:
    if run.kind == RunKind.PROPOSED and (inputs or missing):
        runlog(
            "stackrun: a proposed run plans with its upstream stacks' last applied outputs; "
            "outputs that this change would produce upstream are not applied yet, so not seen"
        )
    for name in sorted(inputs):
        runlog(f"stackrun: input {name} from an upstream stack's last applied outputs")
    for gap in missing:
        runlog(f"stackrun: input {gap} has no applied value yet; terraform uses its default")
