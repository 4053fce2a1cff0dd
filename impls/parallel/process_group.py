"""N worker processes on this machine in one torch.distributed process group, driven from this process.

Starting N processes that import torch costs seconds, so a group is kept per (workers, device type) and
reused by every call; it is stopped at exit, and at once when a worker fails or the caller is interrupted:
no worker outlives the process that started it.
"""
import atexit
import ctypes
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import subprocess
import sys
import threading
from datetime import timedelta

_GROUPS = {}
_LOCK = threading.Lock()
STARTUP_TIMEOUT = timedelta(seconds=120)  # spawning N interpreters that import torch, on a loaded machine


class WorkerFailed(RuntimeError):
    """A worker raised or died; the message names its rank."""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent(parent):
    # Linux: SIGKILL this worker when the process that started it dies, even by SIGKILL (atexit never runs then).
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # it died before the line above
        os._exit(1)


def serve(fd, parent, rank, world, port, backend):
    """A worker: join the group, then run each task sent until told to stop or the parent goes away."""
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the workers
    conn = multiprocessing.connection.Connection(fd)
    import torch
    import torch.distributed as dist
    torch.set_num_threads(1)  # N workers share the cores; intra-op threads would oversubscribe them
    try:
        dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world,
                                timeout=STARTUP_TIMEOUT)
        conn.send(("ok", None))
        while True:
            task = conn.recv()
            if task is None:
                break
            fn, args = task
            conn.send(("ok", fn(*args)))
    except EOFError:  # the parent closed its end: nothing left to do
        pass
    except BaseException as e:  # noqa: BLE001 - any failure goes back to the parent, which names this rank
        conn.send(("error", f"{type(e).__name__}: {e}"))
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


class LocalGroup:
    """`world` spawned workers; `run` sends each its own task and returns their results in rank order."""

    def __init__(self, world, device_type="cpu"):
        # Fresh interpreters (not multiprocessing's spawn, which re-runs the caller's script without a
        # __main__ guard), in a session of their own: a Ctrl-C at the terminal reaches this process only,
        # which then stops them. They find the modules this process does, tests' planted bugs included.
        port, backend = free_port(), "nccl" if device_type == "cuda" else "gloo"
        self.world, self.procs, self.conns = world, [], []
        self.lock = threading.Lock()
        self.data_key = None  # which data the workers hold (see TorchDDPBackend)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        for rank in range(world):
            parent, child = multiprocessing.Pipe()
            code = (f"from impls.process_group import serve; "
                    f"serve({child.fileno()}, {os.getpid()}, {rank}, {world}, {port}, {backend!r})")
            try:
                self.procs.append(subprocess.Popen([sys.executable, "-c", code], pass_fds=[child.fileno()],
                                                   stdin=subprocess.DEVNULL, env=env, start_new_session=True))
            except BaseException:
                self.close()
                raise
            finally:
                child.close()
            self.conns.append(parent)
        self._collect()

    def run(self, tasks):
        """tasks: one (function, args) per rank, run at once; returns the results, or raises WorkerFailed."""
        try:
            for conn, task in zip(self.conns, tasks):
                conn.send(task)
        except BaseException:
            self.close()
            raise
        return self._collect()

    def _collect(self):
        results, pending = [None] * self.world, set(range(self.world))
        try:
            while pending:
                multiprocessing.connection.wait([self.conns[r] for r in pending])
                for rank in sorted(pending):
                    if not self.conns[rank].poll():
                        continue
                    try:
                        status, value = self.conns[rank].recv()
                    except EOFError:  # its end closed: the worker is gone
                        raise WorkerFailed(f"torch-ddp worker rank {rank} died (exit code "
                                           f"{self.procs[rank].poll()})") from None
                    if status == "error":
                        raise WorkerFailed(f"torch-ddp worker rank {rank} failed: {value}")
                    results[rank] = value
                    pending.discard(rank)
        except BaseException:  # a failure, or Ctrl-C: the others may wait forever in a collective
            self.close()
            raise
        return results

    @property
    def alive(self):
        return all(p.poll() is None for p in self.procs)

    def close(self):
        """Stop every worker: ask, then terminate, then kill; waits until each has exited."""
        with _LOCK:
            for key, group in list(_GROUPS.items()):
                if group is self:
                    del _GROUPS[key]
        for conn in self.conns:
            try:
                conn.send(None)
            except (OSError, ValueError):
                pass
        for stop in (None, "terminate", "kill"):
            for proc in self.procs:
                if proc.poll() is None and stop:
                    getattr(proc, stop)()
            for proc in self.procs:
                try:
                    proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    pass
        for conn in self.conns:
            conn.close()


def local_group(world, device_type):
    """The running group of `world` workers on `device_type`, started if there is none (or it failed)."""
    with _LOCK:
        group = _GROUPS.get((world, device_type))
        if group is not None and group.alive:
            return group
    group = LocalGroup(world, device_type)
    with _LOCK:
        _GROUPS[(world, device_type)] = group
    return group


@atexit.register
def close_all():
    """Stop every group this process started."""
    for group in list(_GROUPS.values()):
        group.close()

