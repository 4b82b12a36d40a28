"""Where a build's wall time goes, read from Snakemake's own log of it.

``python benchmarks/reproducibility/build_profile.py [LOG or PROJECT folder]`` reads a Snakemake log
(``.snakemake/log/<date>.snakemake.log``; given a folder, the newest one in it) of a
build run without ``--quiet`` and prints:

* per rule: the number of jobs, their summed and mean wall seconds (from the log's
  start and ``Finished jobid`` stamps, 1 s resolution), the threads they held, and the
  share of all job seconds; sorted by summed seconds;
* the whole build: wall time from the first start to the last end, summed job seconds,
  core-seconds held (seconds x threads) against cores x wall, and so the idle share;
* the tail: how long the build ran with fewer jobs than cores (one long job at the end
  leaves the other core idle).

Jobs that start many small processes show as many short jobs whose mean is mostly the
process start and imports (e.g. 7 s for a data set that takes 0.1 s to make).
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
START = re.compile(r"^(?:local)?rule (\w+):$")
JOBID = re.compile(r"^\s+jobid: (\d+)$")
THREADS = re.compile(r"^\s+threads: (\d+)$")
FINISHED = re.compile(r"^Finished jobid: (\d+) \(Rule: (\w+)\)$")
CORES = re.compile(r"^Provided cores: (\d+)$")


@dataclass
class Job:
    rule: str
    start: datetime
    end: datetime | None = None
    threads: int = 1

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def parse(text: str) -> tuple[list[Job], int]:
    """The finished jobs of a Snakemake log and the cores it was given."""
    jobs: dict[int, Job] = {}
    stamp, pending, cores = None, None, 1
    for line in text.splitlines():
        if match := STAMP.match(line):
            stamp = datetime.strptime(" ".join(match.group(1).split()), "%a %b %d %H:%M:%S %Y")
        elif match := CORES.match(line):
            cores = int(match.group(1))
        elif (match := START.match(line)) and stamp is not None:
            pending = Job(match.group(1), stamp)
        elif (match := JOBID.match(line)) and pending is not None:
            jobs[int(match.group(1))] = pending
        elif (match := THREADS.match(line)) and pending is not None:
            pending.threads = int(match.group(1))
        elif match := FINISHED.match(line):
            job = jobs.get(int(match.group(1)))
            if job is not None:
                job.end = stamp
    return [job for job in jobs.values() if job.end is not None], cores


def report(jobs: list[Job], cores: int) -> str:
    if not jobs:
        return "no finished jobs in this log (was the build run with --quiet?)"
    by_rule: dict[str, list[Job]] = defaultdict(list)
    for job in jobs:
        by_rule[job.rule].append(job)
    total = sum(job.seconds for job in jobs)
    lines = [f"{'rule':32s} {'jobs':>5s} {'sum s':>8s} {'mean s':>7s} {'threads':>7s} {'share':>6s}"]
    for rule, group in sorted(by_rule.items(), key=lambda item: -sum(j.seconds for j in item[1])):
        summed = sum(j.seconds for j in group)
        lines.append(f"{rule:32s} {len(group):5d} {summed:8.0f} {summed / len(group):7.1f} "
                     f"{max(j.threads for j in group):7d} {summed / total:6.1%}")
    first, last = min(j.start for j in jobs), max(j.end for j in jobs)
    wall = (last - first).total_seconds()
    held = sum(j.seconds * min(j.threads, cores) for j in jobs)
    lines.append(f"jobs={len(jobs)} wall_s={wall:.0f} job_s={total:.0f} core_s_held={held:.0f} "
                 f"core_s_available={cores * wall:.0f} idle={1 - held / (cores * wall or 1):.1%}")
    # the time in which fewer cores were held than there are
    events = sorted([(j.start, min(j.threads, cores)) for j in jobs] + [(j.end, -min(j.threads, cores)) for j in jobs])
    busy, under, previous = 0, 0.0, first
    for when, change in events:
        if busy < cores:
            under += (when - previous).total_seconds()
        busy, previous = busy + change, when
    lines.append(f"under_used_s={under:.0f} (seconds in which jobs held fewer than {cores} cores)")
    return "\n".join(lines)


def newest_log(path: Path) -> Path:
    if path.is_file():
        return path
    logs = sorted((path / ".snakemake" / "log").glob("*.snakemake.log"))
    if not logs:
        sys.exit(f"no Snakemake log in {path / '.snakemake' / 'log'}")
    return logs[-1]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    log = newest_log(Path(args[0]) if args else Path("."))
    print(f"log: {log}")
    print(report(*parse(log.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
