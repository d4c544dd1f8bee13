"""A stackrun.hcl that does not parse fails every run of its stack with the parser's message,
also when its text was checked before (the check remembers texts it parsed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.worker_api import check_stack_file


def test_a_broken_stack_file_fails_each_time_and_a_fixed_one_passes(tmp_path: Path) -> None:
    folder = tmp_path / "net"
    folder.mkdir()
    (folder / "stackrun.hcl").write_text('stack {\n  name = "net\n}\n')
    for _ in range(2):
        with pytest.raises(ValueError, match=r"^parsing net/stackrun.hcl:2"):
            check_stack_file(folder, "net")
    (folder / "stackrun.hcl").write_text('stack {\n  name = "net"\n}\n')
    check_stack_file(folder, "net")
    check_stack_file(folder, "net")
