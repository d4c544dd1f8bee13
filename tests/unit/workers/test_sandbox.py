"""The sandbox's command line (pure), the paths it exposes, and one real bubblewrap run that
hides the data directory from terraform's view."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from orchestrator.settings import Settings
from workers import sandbox
from workers.sandbox import Confinement, Host, Sandbox, SandboxUnavailable, View, bwrap_argv

HOST = Host({"/bin": "usr/bin", "/lib": "usr/lib"}, ("/lib64",), ("/etc/ssl", "/etc/resolv.conf"))
VIEW = View(
    workspace=Path("/data/workspaces/run-7-plan"),
    workdir=Path("/data/workspaces/run-7-plan/app"),
    binary=Path("/opt/tf/terraform"),
    read_only=(Path("/opt/mirror"),),
)


def _pairs(argv: list[str], flag: str) -> list[tuple[str, str]]:
    return [(argv[i + 1], argv[i + 2]) for i, a in enumerate(argv) if a == flag]


def test_terraform_sees_its_workspace_read_write_and_its_tools_read_only() -> None:
    argv = bwrap_argv("/usr/bin/bwrap", VIEW, HOST, Path("/etc-dir"), None)
    assert ("/data/workspaces/run-7-plan", "/data/workspaces/run-7-plan") in _pairs(argv, "--bind")
    read_only = _pairs(argv, "--ro-bind")
    assert ("/opt/tf/terraform", "/opt/tf/terraform") in read_only
    assert ("/opt/mirror", "/opt/mirror") in read_only
    assert ("/etc-dir/passwd", "/etc/passwd") in read_only
    assert ("/usr", "/usr") in read_only and ("/lib64", "/lib64") in read_only
    assert not any(source in ("/", "/data", "/etc") for source, _ in read_only)
    assert argv[argv.index("--chdir") + 1] == "/data/workspaces/run-7-plan/app"


def test_the_data_directory_itself_is_only_an_empty_mount_point() -> None:
    argv = bwrap_argv("/usr/bin/bwrap", VIEW, HOST, Path("/etc-dir"), None)
    made = [argv[i + 1] for i, a in enumerate(argv) if a == "--dir"]
    assert "/data" in made and "/data/workspaces" in made
    binds = [s for s, _ in _pairs(argv, "--bind") + _pairs(argv, "--ro-bind")]
    assert "/data" not in binds and "/data/workspaces" not in binds


def test_as_root_it_drops_to_the_sandbox_user_with_no_capabilities() -> None:
    argv = bwrap_argv("/usr/bin/bwrap", VIEW, HOST, Path("/etc-dir"), (999, 995))
    tail = argv[argv.index("--") + 1 :]
    assert tail[:3] == ["/usr/bin/setpriv", "--reuid=999", "--regid=995"]
    assert "--no-new-privs" in tail and "--bounding-set=-all" in tail
    assert "--unshare-pid" in argv and "--unshare-all" not in argv


def test_as_another_user_it_uses_a_user_namespace_and_shares_only_the_network() -> None:
    argv = bwrap_argv("/usr/bin/bwrap", VIEW, HOST, Path("/etc-dir"), None)
    assert "--unshare-all" in argv and "--share-net" in argv
    assert "setpriv" not in " ".join(argv)
    assert argv[:3] == ["/usr/bin/env", "--ignore-signal=INT", "/usr/bin/bwrap"]


def test_the_provider_cache_is_writable_only_while_init_fills_it() -> None:
    class Recorder(Sandbox):
        def __init__(self) -> None:
            self.bwrap, self.drop_to, self.views = "bwrap", None, []

        def command(self, argv: list[str], view: View) -> list[str]:
            self.views.append(view)
            return argv

    recorder = Recorder()
    confinement = Confinement(recorder, VIEW, Path("/data/plugin-cache"))
    confinement.command(["terraform", "init"])
    confinement.command(["terraform", "plan"])
    init, plan = recorder.views
    assert Path("/data/plugin-cache") in init.read_write
    assert Path("/data/plugin-cache") in plan.read_only and not plan.read_write


def test_toolchain_paths_never_expose_a_path_holding_the_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    mirror = data / "provider-mirror"
    mirror.mkdir(parents=True)
    config = data / "terraformrc"
    config.write_text(
        f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n'
        f'  filesystem_mirror {{\n    path = "{tmp_path}"\n  }}\n}}\n'
    )
    found = sandbox._toolchain_paths({"TF_CLI_CONFIG_FILE": str(config)}, data)
    assert found == (config, mirror)


def test_a_required_sandbox_that_cannot_run_refuses_instead_of_running_unconfined(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sandbox.shutil, "which", lambda _name: None)
    sandbox._resolve.cache_clear()
    try:
        with pytest.raises(SandboxUnavailable, match="install bubblewrap"):
            sandbox.for_settings(Settings(sandbox="bwrap"))
        fallback = sandbox.for_settings(Settings(sandbox="auto"))
        assert not fallback.confined and "bwrap is not installed" in fallback.describe()
    finally:
        sandbox._resolve.cache_clear()


def test_a_real_sandbox_hides_the_data_directory_and_the_host_users(tmp_path: Path) -> None:
    if shutil.which("bwrap") is None:
        if os.environ.get("CI"):
            pytest.fail("CI installs bubblewrap (.ci/run)")
        pytest.skip("bubblewrap is not installed")
    sandbox._resolve.cache_clear()
    data = tmp_path / "data"
    workspace = data / "workspaces" / "run-1-plan"
    workspace.mkdir(parents=True)
    (data / "secret.key").write_text("the-master-key")
    env = {"PATH": "/usr/bin:/bin"}
    confinement = sandbox.confine(
        Settings(data_dir=data, sandbox="bwrap"), workspace, workspace, Path("/bin/sh"), env
    )
    script = f"cat {data}/secret.key; cat /etc/passwd; touch made-here; id -u"
    done = subprocess.run(
        confinement.command(["/bin/sh", "-c", script]),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "the-master-key" not in done.stdout
    assert "No such file" in done.stderr
    assert "root:" not in done.stdout and done.stdout.startswith("terraform:x:")
    assert (workspace / "made-here").exists()
    if os.geteuid() == 0:
        assert done.stdout.split()[-1] != "0"


def test_stackrun_never_writes_through_a_link_planted_in_the_workspace(tmp_path: Path) -> None:
    from workers.checkout import write_new

    victim = tmp_path / "secret.key"
    victim.write_text("the master key")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "stackrun.tfplan").symlink_to(victim)
    write_new(workspace / "stackrun.tfplan", b"plan bytes")
    assert victim.read_text() == "the master key"
    assert not (workspace / "stackrun.tfplan").is_symlink()
    assert (workspace / "stackrun.tfplan").read_bytes() == b"plan bytes"
