"""Child processes of a benchmark run: start them, wait for them, always stop them.

Every server runs in its own OS process. :class:`Processes` owns them: leaving its
``with`` block (normally, by an exception or by Ctrl-C) terminates each child by
its pid, then kills any that linger. On Linux children also get ``SIGTERM`` if the
benchmark process itself dies without cleaning up.
"""

from __future__ import annotations

import ctypes
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

HOST = "127.0.0.1"
PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """An unused TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def die_with_parent() -> None:
    """In the child, before exec: ask Linux to send SIGTERM when the parent dies."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    """A started child process and where its output goes."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    started_at: float

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.process.pid

    def tail(self, lines: int = 20) -> str:
        """The last lines the child wrote, for error messages."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def check_alive(self) -> None:
        """Raise if the child has exited."""
        if self.process.poll() is not None:
            raise RuntimeError(
                f"{self.name} exited with status {self.process.returncode}:\n{self.tail()}"
            )


class Processes:
    """``with Processes(logs) as procs:`` starts children that are stopped on exit."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.children: list[Child] = []

    def start(self, name: str, argv: Sequence[str], env: dict[str, str] | None = None) -> Child:
        """Start ``argv`` in its own session, its output in ``<log_dir>/<name>.log``."""
        log = self.log_dir / f"{name}.log"
        with log.open("wb") as out:
            started_at = time.perf_counter()
            process = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        child = Child(name, process, log, started_at)
        self.children.append(child)
        return child

    def stop_all(self, grace: float = 5.0) -> None:
        """SIGTERM every child still running, then SIGKILL those that do not exit."""
        for child in self.children:
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for child in self.children:
            try:
                child.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()

    def __enter__(self) -> Processes:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_all()


def wait_for_port(child: Child, port: int, timeout: float = 30.0) -> float:
    """Wait until ``port`` accepts connections; the seconds since the child started."""
    deadline = time.monotonic() + timeout
    while True:
        child.check_alive()
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return time.perf_counter() - child.started_at
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{child.name} did not listen on port {port}:\n{child.tail()}")
        time.sleep(0.005)


def wait_for_http(child: Child, port: int, path: str, timeout: float = 30.0) -> float:
    """Wait until ``GET path`` answers 200; the seconds since the child started."""
    deadline = time.monotonic() + timeout
    while True:
        child.check_alive()
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=1.0)
            try:
                connection.request("GET", path)
                if connection.getresponse().status == 200:
                    return time.perf_counter() - child.started_at
            finally:
                connection.close()
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{child.name} did not answer GET {path}:\n{child.tail()}")
        time.sleep(0.005)


def rss_kib(pid: int) -> dict[str, int]:
    """The resident set size now (``VmRSS``) and at its peak (``VmHWM``), in KiB."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def _parent_of(stat: str) -> int:
    """The parent pid in a ``/proc/<pid>/stat`` line (after the command in parentheses)."""
    return int(stat.rpartition(")")[2].split()[1])


def children(pid: int) -> list[int]:
    """The pids of ``pid``'s child processes: from ``/proc/<pid>/task/*/children`` where
    the kernel has it, else by scanning every ``/proc/<n>/stat`` for its parent."""
    listed = list(Path(f"/proc/{pid}/task").glob("*/children"))
    if listed:
        return sorted({int(n) for path in listed for n in path.read_text().split()})
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if _parent_of((entry / "stat").read_text()) == pid:
                found.append(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue  # the process exited while the table was read
    return sorted(found)


def worker_pids(pid: int) -> list[int]:
    """The worker processes of a server with several workers: the children that
    multiprocessing spawned (uvicorn's workers), not its resource tracker."""
    workers: list[int] = []
    for child in children(pid):
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                workers.append(child)
        except OSError:
            continue
    return workers


def wait_for_workers(child: Child, count: int, timeout: float = 30.0) -> None:
    """Wait until ``child`` has ``count`` worker processes (see :func:`worker_pids`)."""
    deadline = time.monotonic() + timeout
    while len(worker_pids(child.pid)) < count:
        child.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"{child.name} did not start {count} workers:\n{child.tail()}")
        time.sleep(0.05)


def workers_rss_kib(pid: int, workers: int) -> list[dict[str, int]]:
    """:func:`rss_kib` of each worker: the process itself with one worker (uvicorn runs
    in it then), else each of its worker processes."""
    if workers <= 1:
        return [{"pid": pid, **rss_kib(pid)}]
    found: list[dict[str, int]] = []
    for worker in worker_pids(pid):
        try:
            found.append({"pid": worker, **rss_kib(worker)})
        except OSError:
            continue  # the worker exited
    return found


def python() -> str:
    """The interpreter running the benchmark; children use the same one."""
    return sys.executable


def child_env() -> dict[str, str]:
    """The environment for children: this one, with the repository on ``PYTHONPATH``."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
