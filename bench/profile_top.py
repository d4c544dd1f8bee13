"""Top entries of a py-spy `--format raw` profile (collapsed stacks): self and inclusive share.

Run: .venv/bin/python bench/profile_top.py PROFILE.txt [--top 25] [--match orchestrator]"""

from __future__ import annotations

import argparse
import re
from collections import Counter

_LINE = re.compile(r" \((?P<file>[^)]*?):\d+\)$")


def frame_name(frame: str) -> str:
    """`func (path/to/file.py:123)` → `func (file.py)`: lines of one function summed."""
    match = _LINE.search(frame)
    if match is None:
        return frame
    short = "/".join(match["file"].split("/")[-2:])
    return f"{frame[: match.start()]} ({short})"


IDLE = ("Condition.wait (", "EpollSelector.select (", "Event.wait (", "_poll (")


def read(path: str, idle: bool = False) -> tuple[Counter[str], Counter[str], int]:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    with open(path) as handle:
        for line in handle:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            frames = [frame_name(f) for f in stack.split(";") if not f.startswith("process ")]
            frames = [f for f in frames if not f.startswith("thread ")]
            if not frames or (not idle and frames[-1].startswith(IDLE)):
                continue
            total += n
            own[frames[-1]] += n
            for frame in set(frames):
                inclusive[frame] += n
    return own, inclusive, total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("profile")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--match", default="", help="inclusive list: only frames containing this")
    parser.add_argument("--idle", action="store_true", help="keep idle samples (select, wait)")
    args = parser.parse_args()
    own, inclusive, total = read(args.profile, args.idle)
    print(f"{total} samples")
    print("self:")
    for frame, n in own.most_common(args.top):
        print(f"  {100 * n / total:5.1f}%  {frame}")
    print("inclusive:")
    picked = [(f, n) for f, n in inclusive.most_common() if args.match in f][: args.top]
    for frame, n in picked:
        print(f"  {100 * n / total:5.1f}%  {frame}")


if __name__ == "__main__":
    main()
