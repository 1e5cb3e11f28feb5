"""A throw-away single-node SLURM cluster on 127.0.0.1, for the SLURM tests and for trying profiles.

Uses Debian's packages (munge, slurmctld, slurmd, slurm-client) and needs root. It writes a
slurm.conf under a folder of its own, links it at /etc/slurm/slurm.conf (the executor plugin
clears SLURM_CONF inside jobs, so only the default path works; an existing file there is moved
aside and put back on stop), starts munged (unless a working one is already running), slurmctld
and ``slurmd -N localhost``, and waits until the node is idle. ``stop`` cancels the jobs left on
it and ends exactly the daemons it started, by process id. No traffic leaves 127.0.0.1: the
controller and node listen on free local ports picked at start.

    python tests/slurm_cluster.py start /tmp/slurm   # daemons keep running; state in /tmp/slurm
    python tests/slurm_cluster.py stop /tmp/slurm
    python tests/slurm_cluster.py check              # what is missing, if anything

Jobs' completion records (JobState=COMPLETED/FAILED per job id) go to ``jobcomp.txt`` in the
folder, and finished jobs stay visible to squeue/scontrol for MinJobAge (10 minutes).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "sinfo", "scontrol", "scancel", "srun")
SYSTEM_CONF = Path("/etc/slurm/slurm.conf")
BACKUP_CONF = Path("/etc/slurm/slurm.conf.feature-collisions-backup")
MUNGE_RUN = Path("/run/munge")
MUNGE_KEY = Path("/etc/munge/munge.key")
LOCK_PATH = Path("/tmp/feature-collisions-slurm.lock")
PARTITION = "debug"
NODE = "localhost"
# Seconds finished jobs stay listed (squeue -t all): longer than the three concurrent runs of
# tests/test_slurm.py take on a loaded 2-core machine (the failing run ends first and is
# checked last; at 600 s its record had aged out once, after 35 min of CI), and >= 3x the
# plugin's first-check delay.
MIN_JOB_AGE = 7200
DEBIAN_PACKAGES = "munge slurmctld slurmd slurm-client"


def _which(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin:/usr/bin:/bin")


def missing_requirements() -> list[str]:
    """What stops a local cluster from starting here, one phrase each (empty: nothing)."""
    missing = []
    if not sys.platform.startswith("linux"):
        missing.append(f"Linux (this is {sys.platform})")
    absent = [name for name in (*DAEMONS, *CLIENTS) if _which(name) is None]
    if absent:
        missing.append(
            f"the binaries {', '.join(absent)} (Debian: apt-get install {DEBIAN_PACKAGES})"
        )
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        missing.append("root (the daemons and /etc/slurm/slurm.conf need it)")
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        missing.append(
            "the Python package snakemake-executor-plugin-slurm (pip install '.[slurm]')"
        )
    return missing


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise RuntimeError("no MemTotal in /proc/meminfo")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours still "exists": reap it if it is one.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return Path(f"/proc/{pid}").exists() and "Z" not in _proc_state(pid)


def _proc_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def _terminate(pid: int, name: str, timeout: float = 20.0) -> None:
    """SIGTERM ``pid``, then SIGKILL after ``timeout`` seconds; only that one process."""
    if not _alive(pid):
        return
    try:
        command = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        command = name
    if command != name:
        return  # the id was reused by another program: not ours to stop
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.2)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return


def slurm_conf(folder: Path, ctld_port: int, slurmd_port: int) -> str:
    cpus = os.cpu_count() or 1
    # Leave headroom below the physical memory (a node whose RealMemory exceeds it drains).
    real_memory = max(1024, int(_memory_mb() * 0.8))
    lines = {
        "ClusterName": "featurecollisions",
        "SlurmctldHost": NODE,
        "SlurmctldPort": ctld_port,
        "SlurmdPort": slurmd_port,
        "SlurmUser": "root",
        "SlurmdUser": "root",
        "AuthType": "auth/munge",
        "StateSaveLocation": folder / "ctld-state",
        "SlurmdSpoolDir": folder / "slurmd-spool",
        "SlurmctldPidFile": folder / "slurmctld.pid",
        "SlurmdPidFile": folder / "slurmd.pid",
        "SlurmctldLogFile": folder / "slurmctld.log",
        "SlurmdLogFile": folder / "slurmd.log",
        "SlurmctldDebug": "info",
        "SlurmdDebug": "info",
        # No cgroups needed: plain process tracking, no task binding.
        "ProctrackType": "proctrack/linuxproc",
        "TaskPlugin": "task/none",
        "SelectType": "select/cons_tres",
        "SelectTypeParameters": "CR_Core_Memory",
        "SchedulerType": "sched/backfill",
        "MpiDefault": "none",
        "SwitchType": "switch/none",
        "ReturnToService": 2,
        "SlurmdParameters": "config_overrides",
        # Finished jobs stay listed by squeue/scontrol this long (no slurmdbd, no sacct).
        "MinJobAge": MIN_JOB_AGE,
        # Without it a job that asks no --mem takes the whole node.
        "DefMemPerCPU": max(256, real_memory // cpus // 4),
        "AccountingStorageType": "accounting_storage/none",
        "JobAcctGatherType": "jobacct_gather/none",
        # One line per finished job (JobId=... JobState=COMPLETED ...): a record that outlives
        # MinJobAge, read by the tests.
        "JobCompType": "jobcomp/filetxt",
        "JobCompLoc": folder / "jobcomp.txt",
        "InactiveLimit": 0,
        "KillWait": 5,
        "Waittime": 0,
    }
    text = "".join(f"{key}={value}\n" for key, value in lines.items())
    text += (
        f"NodeName={NODE} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={real_memory} State=UNKNOWN\n"
        f"PartitionName={PARTITION} Nodes={NODE} Default=YES MaxTime=INFINITE State=UP\n"
    )
    return text


class LocalSlurm:
    """Start/stop the single-node cluster; state (pids, backup) is kept in ``folder/state.json``."""

    def __init__(self, folder: str | os.PathLike[str]):
        self.folder = Path(folder).resolve()
        self.conf = self.folder / "slurm.conf"
        self.state_path = self.folder / "state.json"
        self.state: dict = {"pids": {}, "backup": False, "linked": False}
        self._lock = None

    # -- helpers ---------------------------------------------------------------------------
    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def command(self, *arguments: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(
            list(arguments), capture_output=True, text=True, env=self.env, timeout=timeout
        )

    def _save(self) -> None:
        self.state_path.write_text(json.dumps(self.state, indent=1))

    def _spawn(self, name: str, arguments: list[str], **options) -> None:
        log = open(self.folder / f"{name}.out", "ab")
        process = subprocess.Popen(
            arguments,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
            start_new_session=True,
            **options,
        )
        log.close()
        self.state["pids"][name] = process.pid
        self._save()

    def _wait(self, what: str, ready, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            for name, pid in self.state["pids"].items():
                if not _alive(pid):
                    raise RuntimeError(
                        f"{name} exited while waiting for {what}: {self._tail(name)}"
                    )
            time.sleep(0.5)
        raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")

    def _tail(self, name: str) -> str:
        for path in (self.folder / f"{name}.log", self.folder / f"{name}.out"):
            if path.is_file() and path.stat().st_size:
                return " | ".join(path.read_text(errors="replace").splitlines()[-5:])
        return "(no log)"

    def _munge_works(self) -> bool:
        if _which("munge") is None or _which("unmunge") is None:
            return False
        try:
            encoded = subprocess.run(
                [_which("munge"), "-n"], capture_output=True, timeout=10, check=True
            ).stdout
            subprocess.run(
                [_which("unmunge")], input=encoded, capture_output=True, timeout=10, check=True
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            return False
        return True

    # -- start / stop ----------------------------------------------------------------------
    def start(self, lock_timeout: float = 900) -> LocalSlurm:
        missing = missing_requirements()
        if missing:
            raise RuntimeError("cannot start a local SLURM cluster; missing: " + "; ".join(missing))
        self.folder.mkdir(parents=True, exist_ok=True)
        self._acquire_lock(lock_timeout)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _acquire_lock(self, timeout: float) -> None:
        # One local cluster per machine: /etc/slurm/slurm.conf is a single path.
        self._lock = open(LOCK_PATH, "w")  # held until stop
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"another local SLURM cluster holds {LOCK_PATH} for over {timeout:.0f} s"
                    ) from None
                time.sleep(1)
        self._lock.write(f"{os.getpid()} {self.folder}\n")
        self._lock.flush()

    def _start(self) -> None:
        for sub in ("ctld-state", "slurmd-spool"):
            (self.folder / sub).mkdir(exist_ok=True)
        self.conf.write_text(slurm_conf(self.folder, _free_port(), _free_port()))
        self._link_conf()
        self._start_munge()
        self._spawn("slurmctld", [_which("slurmctld"), "-D", "-i", "-f", str(self.conf)])
        self._wait("slurmctld", lambda: self.command("scontrol", "ping").returncode == 0, 60)
        self._spawn("slurmd", [_which("slurmd"), "-D", "-N", NODE, "-f", str(self.conf)])
        self._wait(f"node {NODE} idle", self._node_idle, 90)

    def _link_conf(self) -> None:
        SYSTEM_CONF.parent.mkdir(parents=True, exist_ok=True)
        if SYSTEM_CONF.is_symlink() and not SYSTEM_CONF.exists():
            SYSTEM_CONF.unlink()  # a dangling link left by a killed run of this helper
        elif SYSTEM_CONF.is_symlink():
            previous = Path(os.readlink(SYSTEM_CONF)).parent
            if (previous / "state.json").is_file() and previous != self.folder:
                # A cluster of this helper that was never stopped (its run was killed).
                LocalSlurm.attach(previous).stop()
        if SYSTEM_CONF.exists() or SYSTEM_CONF.is_symlink():
            if BACKUP_CONF.exists() or BACKUP_CONF.is_symlink():
                raise RuntimeError(
                    f"{SYSTEM_CONF} exists and so does {BACKUP_CONF}: restore one by hand"
                )
            os.replace(SYSTEM_CONF, BACKUP_CONF)
            self.state["backup"] = True
        SYSTEM_CONF.symlink_to(self.conf)
        self.state["linked"] = True
        self._save()

    def _start_munge(self) -> None:
        if self._munge_works():
            return  # a munged is already serving the default socket: use it, never stop it
        try:
            munge_user = pwd.getpwnam("munge")
        except KeyError:
            munge_user = None
        if not MUNGE_KEY.exists():
            MUNGE_KEY.parent.mkdir(parents=True, exist_ok=True)
            MUNGE_KEY.write_bytes(os.urandom(1024))
            MUNGE_KEY.chmod(0o400)
            if munge_user:
                os.chown(MUNGE_KEY, munge_user.pw_uid, munge_user.pw_gid)
        # The socket's folder must be world-executable, or clients cannot reach it.
        MUNGE_RUN.mkdir(parents=True, exist_ok=True)
        MUNGE_RUN.chmod(0o755)
        arguments = [_which("munged"), "--foreground"]
        options = {}
        if munge_user:
            for path in (MUNGE_RUN, Path("/var/lib/munge"), Path("/var/log/munge")):
                path.mkdir(parents=True, exist_ok=True)
                os.chown(path, munge_user.pw_uid, munge_user.pw_gid)
            options = {"user": munge_user.pw_uid, "group": munge_user.pw_gid}
        else:
            arguments.append("--force")
        self._spawn("munged", arguments, **options)
        self._wait("munged", self._munge_works, 30)

    def _node_idle(self) -> bool:
        result = self.command("sinfo", "-h", "-N", "-n", NODE, "-o", "%T")
        state = result.stdout.strip().lower()
        if state.startswith(("drain", "down")):
            self.command("scontrol", "update", f"nodename={NODE}", "state=resume")
        return result.returncode == 0 and state.startswith("idle")

    def stop(self) -> None:
        """Cancel jobs on the cluster, end the daemons this object started, restore the conf."""
        pids = self.state.get("pids", {})
        if pids.get("slurmctld") and _alive(pids["slurmctld"]):
            jobs = self.command("squeue", "-h", "-o", "%i", timeout=15).stdout.split()
            if jobs:
                self.command("scancel", *jobs, timeout=15)
                deadline = time.monotonic() + 20
                while (
                    time.monotonic() < deadline
                    and self.command(
                        "squeue", "-h", "-t", "RUNNING,COMPLETING", "-o", "%i", timeout=15
                    ).stdout.split()
                ):
                    time.sleep(0.5)
        for name in ("slurmd", "slurmctld", "munged"):
            if name in pids:
                _terminate(pids[name], name)
        if self.state.get("linked") and SYSTEM_CONF.is_symlink():
            if os.readlink(SYSTEM_CONF) == str(self.conf):
                SYSTEM_CONF.unlink()
        if self.state.get("backup") and BACKUP_CONF.exists() and not SYSTEM_CONF.exists():
            os.replace(BACKUP_CONF, SYSTEM_CONF)
        self.state = {"pids": {}, "backup": False, "linked": False}
        if self.folder.is_dir():
            self._save()
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    @classmethod
    def attach(cls, folder: str | os.PathLike[str]) -> LocalSlurm:
        """The cluster a previous ``start`` left running in ``folder`` (for ``stop``)."""
        cluster = cls(folder)
        if cluster.state_path.is_file():
            cluster.state = json.loads(cluster.state_path.read_text())
        return cluster

    def __enter__(self) -> LocalSlurm:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- what the tests read ---------------------------------------------------------------
    def completion_records(self) -> dict[str, str]:
        """Job id -> final JobState, from the jobcomp file."""
        records = {}
        path = self.folder / "jobcomp.txt"
        if path.is_file():
            for line in path.read_text().splitlines():
                fields = dict(item.split("=", 1) for item in line.split() if "=" in item)
                if "JobId" in fields:
                    records[fields["JobId"]] = fields.get("JobState", "")
        return records

    def job_states(self, job_ids) -> dict[str, str]:
        """Job id -> state as squeue lists it (finished jobs included, within MinJobAge)."""
        if not job_ids:
            return {}
        result = self.command(
            "squeue", "-h", "-t", "all", "-j", ",".join(sorted(job_ids)), "-o", "%i %T"
        )
        return dict(line.split(None, 1) for line in result.stdout.splitlines() if line.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("start", "stop", "check"))
    parser.add_argument("folder", nargs="?", default="/tmp/feature-collisions-slurm")
    arguments = parser.parse_args(argv)
    if arguments.action == "check":
        missing = missing_requirements()
        print("ready" if not missing else "missing: " + "; ".join(missing))
        return 1 if missing else 0
    if arguments.action == "start":
        cluster = LocalSlurm(arguments.folder).start()
        cluster._lock = None  # the daemons outlive this process; `stop` ends them
        print(f"SLURM up: partition {PARTITION}, node {NODE}, state in {cluster.folder}")
        return 0
    LocalSlurm.attach(arguments.folder).stop()
    print(f"SLURM stopped ({arguments.folder})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
