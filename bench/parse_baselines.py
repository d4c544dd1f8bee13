"""Full-parse baselines for the stack-graph benchmark (issue 3): every .tf file, two parsers.

Run: .venv/bin/python bench/parse_baselines.py DIR [--only naive|wasm] [--json]

  naive   one Python process, `hcl2.loads(text)` (python-hcl2, default options) of every .tf file
          under DIR, one after the other: the figure a cold graph build is compared with
  wasm    HashiCorp's Go HCL parser built to WebAssembly (npm @cdktf/hcl2json): ONE node process
          reads and parses every .tf file with `await parse(filename, contents)`; it reports its
          own time for that loop (after the WASM module is loaded by one warm-up parse) and the
          WASM load time; the wall time adds node start-up

The npm package is installed on first use into bench/.cache/hcl2json/ (git-ignored). Both loops
include reading each file (from the page cache in practice). Files under .git and .terraform are
skipped. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

HCL2JSON_VERSION = "0.21.0"
CACHE_DIR = Path(__file__).resolve().parent / ".cache" / "hcl2json"
SKIP_DIRS = {".git", ".terraform"}

# One node process: read the file list (JSON) from stdin, warm up, parse every file in turn.
RUNNER_JS = """\
"use strict";
const fs = require("fs");
const { parse } = require("@cdktf/hcl2json");

(async () => {
  const files = JSON.parse(fs.readFileSync(0, "utf8"));
  const t0 = process.hrtime.bigint();
  await parse("warmup.tf", 'variable "x" {}\\n'); // loads and starts the WASM module
  const t1 = process.hrtime.bigint();
  let bytes = 0;
  let errors = 0;
  const firstErrors = [];
  for (const file of files) {
    const text = fs.readFileSync(file, "utf8");
    bytes += Buffer.byteLength(text);
    try {
      await parse(file, text);
    } catch (err) {
      errors += 1;
      if (firstErrors.length < 5) firstErrors.push(String(err).slice(0, 300));
    }
  }
  const t2 = process.hrtime.bigint();
  process.stdout.write(JSON.stringify({
    files: files.length,
    bytes,
    errors,
    first_errors: firstErrors,
    init_ms: Number(t1 - t0) / 1e6,
    parse_ms: Number(t2 - t1) / 1e6,
  }) + "\\n");
  process.exit(0); // the Go runtime keeps the event loop alive
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
"""


class NaiveTiming(NamedTuple):
    seconds: float
    files: int
    bytes: int
    errors: list[str]


class WasmTiming(NamedTuple):
    parse_s: float  # the parsing loop, as measured inside node
    wall_s: float  # the whole node process, start-up and WASM load included
    init_s: float  # loading the WASM module (first parse), inside node
    files: int
    bytes: int
    errors: list[str]


def tf_files(directory: str | Path) -> list[Path]:
    """Every .tf file under directory, sorted, outside .git and .terraform."""
    root = Path(directory)
    return sorted(
        p
        for p in root.rglob("*.tf")
        if p.is_file() and not SKIP_DIRS.intersection(p.relative_to(root).parts)
    )


def measure_naive_hcl2(directory: str | Path) -> NaiveTiming:
    import hcl2  # only this baseline needs it

    files = tf_files(directory)
    errors: list[str] = []
    size = 0
    t0 = time.perf_counter()
    for path in files:
        text = path.read_text()
        size += len(text.encode())
        try:
            hcl2.loads(text)
        except Exception as exc:
            errors.append(f"{path}: {type(exc).__name__}: {str(exc)[:200]}")
    return NaiveTiming(time.perf_counter() - t0, len(files), size, errors)


def naive_hcl2(directory: str | Path) -> float:
    """Seconds for a single-process `hcl2.loads(text)` of every .tf file under directory."""
    return measure_naive_hcl2(directory).seconds


def ensure_hcl2json(cache_dir: Path = CACHE_DIR) -> Path:
    """Install @cdktf/hcl2json with npm into cache_dir once; return the runner script."""
    package = cache_dir / "node_modules" / "@cdktf" / "hcl2json" / "package.json"
    if not package.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is not installed")
        cache_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                str(cache_dir),
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                f"@cdktf/hcl2json@{HCL2JSON_VERSION}",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    runner = cache_dir / "run.js"
    if not runner.exists() or runner.read_text() != RUNNER_JS:
        runner.write_text(RUNNER_JS)
    return runner


def hcl2json_wasm(directory: str | Path) -> WasmTiming:
    """One node process parses every .tf file with @cdktf/hcl2json; its loop time and wall time."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not installed")
    runner = ensure_hcl2json()
    files = [str(p.resolve()) for p in tf_files(directory)]
    t0 = time.perf_counter()
    proc = subprocess.run(
        [node, str(runner)],
        input=json.dumps(files),
        capture_output=True,
        text=True,
        cwd=runner.parent,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"node exited {proc.returncode}: {proc.stderr[-2000:]}")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    return WasmTiming(
        parse_s=report["parse_ms"] / 1000,
        wall_s=wall,
        init_s=report["init_ms"] / 1000,
        files=report["files"],
        bytes=report["bytes"],
        errors=[f"{report['errors']} files failed", *report["first_errors"]]
        if report["errors"]
        else [],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Full-parse baselines over every .tf of DIR.")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--only", choices=["naive", "wasm"])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    files = tf_files(args.directory)
    size = sum(p.stat().st_size for p in files)
    result: dict[str, object] = {"dir": str(args.directory), "files": len(files), "bytes": size}
    say = (lambda _text: None) if args.json else print
    say(f"{args.directory}: {len(files)} .tf files, {size / 1e6:.2f} MB")
    wasm: WasmTiming | None = None
    naive: NaiveTiming | None = None
    if args.only in (None, "wasm"):
        wasm = hcl2json_wasm(args.directory)
        result["hcl2json_wasm"] = wasm._asdict()
        say(
            f"@cdktf/hcl2json {HCL2JSON_VERSION} (Go HCL -> WASM, 1 node process): "
            f"parse loop {wasm.parse_s:.2f} s ({wasm.bytes / 1024 / wasm.parse_s:.0f} KB/s), "
            f"WASM load {wasm.init_s:.2f} s, wall {wasm.wall_s:.2f} s incl. node start-up; "
            f"{len(wasm.errors)} errors"
        )
        for e in wasm.errors[:6]:
            say("  " + e)
    if args.only in (None, "naive"):
        naive = measure_naive_hcl2(args.directory)
        result["naive_hcl2"] = naive._asdict()
        say(
            f"naive hcl2.loads (python-hcl2, 1 process): {naive.seconds:.2f} s "
            f"({naive.bytes / 1024 / naive.seconds:.0f} KB/s); {len(naive.errors)} errors"
        )
        for e in naive.errors[:5]:
            say("  " + e)
    if naive and wasm:
        result["naive_over_wasm_parse"] = naive.seconds / wasm.parse_s
        say(f"naive hcl2 / hcl2json parse loop = {naive.seconds / wasm.parse_s:.1f}x")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
