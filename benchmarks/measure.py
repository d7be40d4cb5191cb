"""What the benchmarks share: a measured step run in a child process, its memory sampled from outside.

The sampler runs in the parent, so no thread of it competes for the measured process's GIL (an in-process
sampler cost the ingest benchmark about 0.1 of its ratio); on a machine whose cores the measured processes
keep busy it still takes some CPU (at 100 samples a second, 4-5% of the article ingest's throughput), so it
samples every SAMPLE_SECONDS. It follows the child's descendants too (ingest helpers, text workers), summing
their RSS (from /proc/<pid>/statm; shared library pages count once per process, so the sum is an upper
bound) and, every fifth sample, their PSS (from /proc/<pid>/smaps_rollup; shared pages are split between
the processes: the physical memory they take).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

SAMPLE_SECONDS = 0.05


def peak_rss_mb() -> int:
    """This process's own peak RSS in MB (10^6 bytes, as everywhere here), for a child to report: VmHWM, the
    high-water mark of its own address space. Not getrusage's ru_maxrss: Linux carries that over exec from the
    process that spawned this one, so a child's figure would be at least its parent's peak."""
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) * 1024 // 1_000_000


class TreeMemory:
    """Peaks of the summed RSS and PSS of a process and its descendants, from outside it (see above)."""

    def __init__(self, pid: int):
        import psutil

        self.root = psutil.Process(pid)
        self.pids = [pid]
        self.peak_rss = self.peak_pss = 0
        self.samples = 0

    def sample(self) -> None:
        import psutil

        if self.samples % 10 == 0:
            try:
                self.pids = [self.root.pid, *(child.pid for child in self.root.children(recursive=True))]
            except psutil.NoSuchProcess:
                return
        rss = pss = 0
        for pid in self.pids:
            try:
                with open(f"/proc/{pid}/statm") as statm:
                    rss += int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
                if self.samples % 5 == 0:
                    with open(f"/proc/{pid}/smaps_rollup") as rollup:
                        pss += next(int(line.split()[1]) * 1024 for line in rollup if line.startswith("Pss:"))
            except (OSError, StopIteration):
                continue  # a helper that just exited
        self.peak_rss = max(self.peak_rss, rss)
        if self.samples % 5 == 0:
            self.peak_pss = max(self.peak_pss, pss)
        self.samples += 1

    @property
    def peak_rss_mb(self) -> int:
        return self.peak_rss // 1_000_000

    @property
    def peak_pss_mb(self) -> int:
        return self.peak_pss // 1_000_000


def run_child(script: str, *args: str) -> tuple[dict, TreeMemory]:
    """Run `python script *args` and sample its memory until it ends; (the JSON it printed last, the
    memory)."""
    process = subprocess.Popen(
        [sys.executable, script, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    memory = TreeMemory(process.pid)
    while process.poll() is None:
        memory.sample()
        time.sleep(SAMPLE_SECONDS)
    out, err = process.communicate()
    if process.returncode:
        raise SystemExit(f"child {args[0]} failed:\n{err}")
    return json.loads(out.strip().splitlines()[-1]), memory
