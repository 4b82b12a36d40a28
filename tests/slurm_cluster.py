"""A real single-node Slurm cluster in a temporary folder, for the tests that submit the
workflow through Snakemake's Slurm executor plugin.

``SlurmCluster(folder).start()`` writes a ``slurm.conf`` bound to loopback, with the node's
CPUs and memory taken from this machine, and starts munged, slurmctld and slurmd on it
(each with its pid, log and state files in ``folder``; free ports; no accounting database:
``MinJobAge`` keeps finished jobs visible to ``squeue``). ``env()`` is the environment a
client needs (``SLURM_CONF``). ``stop()`` kills every daemon it started, by process id.
Needs root (slurmd launches jobs as their user) and Debian's ``slurm-wlm`` and ``munge``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "scontrol", "sinfo", "srun")
#: where Slurm's clients look for the config when SLURM_CONF is unset and /etc/slurm has none
RUN_CONF = Path("/run/slurm/conf/slurm.conf")


def missing_pieces() -> list[str]:
    """Why a cluster cannot start here ([] when it can): missing programs, or not root."""
    sbin = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    problems = [f"'{name}' not installed (apt-get install -y slurm-wlm munge)"
                for name in (*DAEMONS, *CLIENTS) if shutil.which(name, path=sbin) is None]
    if os.geteuid() != 0:
        problems.append("not root: slurmd must run as root to launch jobs")
    return problems


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _memory_mb() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20


class SlurmCluster:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.pids: dict[str, int] = {}
        self.host = socket.gethostname().split(".")[0]
        self.conf = self.folder / "slurm.conf"
        self.munge_socket = self.folder / "munge" / "munge.socket"
        self.ctld_port = _free_port()
        self.linked = False
        self.made_dirs: list[Path] = []  # folders of RUN_CONF this cluster created (removed by stop)

    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.conf),
                "PATH": os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])}

    def _write_config(self) -> None:
        for sub in ("state", "spool", "munge"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        f = self.folder
        self.conf.write_text("\n".join([
            "ClusterName=hessian",
            f"SlurmctldHost={self.host}(127.0.0.1)",
            "SlurmUser=root",
            "SlurmdUser=root",
            f"SlurmctldPort={self.ctld_port}",
            f"SlurmdPort={_free_port()}",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={self.munge_socket}",
            f"StateSaveLocation={f / 'state'}",
            f"SlurmdSpoolDir={f / 'spool'}",
            f"SlurmctldPidFile={f / 'slurmctld.pid'}",
            f"SlurmdPidFile={f / 'slurmd.pid'}",
            f"SlurmctldLogFile={f / 'slurmctld.log'}",
            f"SlurmdLogFile={f / 'slurmd.log'}",
            "SlurmctldDebug=info",
            "SlurmdDebug=info",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none",
            "SchedulerType=sched/backfill",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core_Memory",
            "MpiDefault=none",
            "ReturnToService=2",
            "MinJobAge=86400",  # finished jobs stay in squeue: the executor's status command reads them there
            "InactiveLimit=0",
            "KillWait=5",
            f"NodeName={self.host} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} RealMemory={_memory_mb() - 1024} "
            "State=UNKNOWN",
            f"PartitionName=debug Nodes={self.host} Default=YES MaxTime=INFINITE State=UP",
            "",
        ]))

    def _spawn(self, name: str, command: list[str], pid_file: Path) -> None:
        subprocess.run(command, check=True, env=self.env(), capture_output=True, text=True, timeout=60)
        for _ in range(100):
            if pid_file.exists() and pid_file.read_text().strip():
                self.pids[name] = int(pid_file.read_text().split()[0])
                return
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not write its pid file {pid_file}; see its log in {self.folder}")

    def start(self) -> "SlurmCluster":
        """Start the three daemons and wait until the node takes jobs; on any failure stop
        what started and raise with the logs' tails."""
        self._write_config()
        f = self.folder
        try:
            self._link_for_job_steps()
            self._spawn("munged", ["munged", "--force", f"--socket={self.munge_socket}",
                                   f"--pid-file={f / 'munged.pid'}", f"--log-file={f / 'munged.log'}",
                                   f"--seed-file={f / 'munge' / 'munge.seed'}", "--key-file=/etc/munge/munge.key"],
                        f / "munged.pid")
            self._spawn("slurmctld", ["slurmctld", "-f", str(self.conf)], f / "slurmctld.pid")
            self._spawn("slurmd", ["slurmd", "-f", str(self.conf)], f / "slurmd.pid")
            self._wait_for_idle_node()
        except Exception as error:
            self.stop()
            raise RuntimeError(f"{error}\n{self.logs()}") from error
        return self

    def _link_for_job_steps(self) -> None:
        """Snakemake's job step (``srun`` inside each job) runs with every SLURM_* variable
        removed, SLURM_CONF too; Slurm's clients then look in /run/slurm/conf/slurm.conf
        (where a configless slurmd keeps its copy), so the config is linked there for the
        cluster's lifetime. Refuses when that path exists already (a real Slurm node)."""
        if RUN_CONF.exists() or RUN_CONF.is_symlink():
            raise RuntimeError(f"{RUN_CONF} exists: this machine runs Slurm already; not touching it")
        self.made_dirs = [d for d in (RUN_CONF.parent.parent, RUN_CONF.parent) if not d.exists()]
        RUN_CONF.parent.mkdir(parents=True, exist_ok=True)
        RUN_CONF.symlink_to(self.conf)
        self.linked = True

    def _wait_for_idle_node(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        state = ""
        while time.monotonic() < deadline:
            result = subprocess.run(["sinfo", "--noheader", "--format=%T"], env=self.env(), capture_output=True,
                                    text=True, timeout=30)
            state = result.stdout.strip()
            if state in ("idle", "mixed", "allocated"):
                return
            time.sleep(0.5)
        raise RuntimeError(f"the node never became idle (sinfo says {state!r})")

    def logs(self, lines: int = 20) -> str:
        tails = []
        for name in ("munged", "slurmctld", "slurmd"):
            path = self.folder / f"{name}.log"
            if path.exists():
                tails.append(f"--- {path} ---\n" + "\n".join(path.read_text().splitlines()[-lines:]))
        return "\n".join(tails)

    def stop(self) -> None:
        """SIGTERM every daemon this object started (slurmd first), then SIGKILL stragglers."""
        for name in reversed(list(self.pids)):
            try:
                os.kill(self.pids[name], signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        for name, pid in list(self.pids.items()):
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
            else:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            del self.pids[name]
        if self.linked:
            RUN_CONF.unlink(missing_ok=True)
            for folder in reversed(self.made_dirs):
                folder.rmdir()
            self.linked = False
