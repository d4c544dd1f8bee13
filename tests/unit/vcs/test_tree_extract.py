"""A commit's tree on disk never reaches outside it, whatever links the commit holds."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from orchestrator.vcs.tree import extract


def _archive(entries: list[tuple[str, str | None, bytes]]) -> tarfile.TarFile:
    """(name, link target or None, content), in the order git would write them."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, target, content in entries:
            info = tarfile.TarInfo(name)
            if target is not None:
                info.type, info.linkname = tarfile.SYMTYPE, target
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    buffer.seek(0)
    return tarfile.open(fileobj=buffer)


def test_a_chain_through_a_link_made_later_never_leaves_the_tree(tmp_path: Path) -> None:
    """The ordering trick that bypasses tarfile's data filter: `zz_…` is checked before `zzz`
    exists, then `zzz -> .` makes it climb out."""
    outside = tmp_path / "outside.txt"
    outside.write_text("the worker's file")
    root = tmp_path / "w" / "run-1"
    climb = "zzz/" * 16 + "../" * 16 + str(outside).lstrip("/")
    left = extract(
        _archive(
            [("app/main.tf", None, b"# ok\n"), ("app/zz_x.tf", climb, b""), ("app/zzz", ".", b"")]
        ),
        root,
    )
    assert left == [("app/zz_x.tf", climb)]
    assert not (root / "app" / "zz_x.tf").exists() and not (root / "app" / "zz_x.tf").is_symlink()
    assert (root / "app" / "zzz").is_symlink() and (
        root / "app" / "main.tf"
    ).read_text() == "# ok\n"
    assert outside.read_text() == "the worker's file"


def test_links_inside_the_tree_are_kept_and_absolute_ones_left_out(tmp_path: Path) -> None:
    root = tmp_path / "run"
    left = extract(
        _archive(
            [
                ("shared/vars.tfvars", None, b"a = 1\n"),
                ("app/terraform.tfvars", "../shared/vars.tfvars", b""),
                ("app/passwd.tf", "/etc/passwd", b""),
            ]
        ),
        root,
    )
    assert left == [("app/passwd.tf", "/etc/passwd")]
    assert (root / "app" / "terraform.tfvars").read_text() == "a = 1\n"
