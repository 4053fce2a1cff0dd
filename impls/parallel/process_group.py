"""N worker processes on this machine in one torch.distributed process group, driven from this process.

Starting N processes that import torch costs seconds, so a group is kept per (workers, device type) and
reused by every call; it is stopped at exit, and at once when a worker fails or the caller is interrupted:
no worker outlives the process that started it.
"""
import atexit
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta

from impls import processes

_GROUPS = {}
_LOCK = threading.Lock()
STARTUP_TIMEOUT = timedelta(seconds=120)  # spawning N interpreters that import torch, on a loaded machine


class WorkerFailed(RuntimeError):
    """A worker raised or died; the message names its rank."""


def serve(fd, rank, world, store, backend):
    """A worker: join the group, then run each task sent until told to stop or the parent goes away (its
    supervisor kills it then, even when the parent was killed by SIGKILL: see impls/processes.py)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the workers
    conn = multiprocessing.connection.Connection(fd)
    import torch
    import torch.distributed as dist
    torch.set_num_threads(1)  # N workers share the cores; intra-op threads would oversubscribe them
    try:
        # the rendezvous in a file of this group's own: no port to pick, none another process can take first
        dist.init_process_group(backend, init_method=f"file://{store}", rank=rank, world_size=world,
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
        # __main__ guard), each under a supervisor in a session of its own (processes.start): a Ctrl-C at the
        # terminal reaches this process only, which then stops them. They find the modules this process does,
        # planted bugs included.
        backend = "nccl" if device_type == "cuda" else "gloo"
        self.folder = tempfile.mkdtemp(prefix="backprop-compare-group-")
        store = os.path.join(self.folder, "store")
        self.world, self.procs, self.conns = world, [], []
        self.lock = threading.Lock()
        self.data_key = None  # which data the workers hold (see TorchDDPBackend)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        for rank in range(world):
            parent, child = multiprocessing.Pipe()
            code = (f"from impls.parallel.process_group import serve; "
                    f"serve({child.fileno()}, {rank}, {world}, {store!r}, {backend!r})")
            try:
                self.procs.append(processes.start([sys.executable, "-c", code], pass_fds=[child.fileno()],
                                                  stdin=subprocess.DEVNULL, env=env))
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
        except OSError:  # a worker that died between two calls: its pipe is closed
            dead = self._dead(wait=2)
            self.close()
            if dead is None:
                raise
            raise WorkerFailed(dead) from None
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
                    except (EOFError, OSError):  # its end closed or reset (a socket pair): the worker is gone
                        raise WorkerFailed(f"torch-ddp worker rank {rank} {self._ending(rank)}") from None
                    if status == "error":
                        raise WorkerFailed(self._dead() or f"torch-ddp worker rank {rank} failed: {value}")
                    results[rank] = value
                    pending.discard(rank)
        except BaseException:  # a failure, or Ctrl-C: the others may wait forever in a collective
            self.close()
            raise
        return results

    def _dead(self, wait=0.5):
        """How the first worker that died (killed, or exited with a status other than 0) ended, or None: when one
        dies, the others' collectives fail with a broken connection, and it is the death that names the cause.
        A worker that reported its own error exits with 0: its error is the cause."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            dead = next((r for r, p in enumerate(self.procs) if p.poll() not in (None, 0)), None)
            if dead is not None:
                return f"torch-ddp worker rank {dead} {self._ending(dead)}"
            time.sleep(0.01)
        return None

    def _ending(self, rank):
        """How a worker whose pipe closed ended: its end closes a moment before the kernel reports its exit."""
        deadline = time.monotonic() + 2
        while self.procs[rank].poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        if self.procs[rank].poll() is None:
            return "closed its pipe"
        status = self.procs[rank].kill()
        if status < 0:
            return processes.exit_reason(status)
        return f"ended ({processes.exit_reason(status)})"

    @property
    def alive(self):
        return all(p.poll() is None for p in self.procs)

    def close(self):
        """Stop every worker at once, with whatever it started: each supervisor is told to kill its tree, all
        before waiting for any. A worker holds nothing that needs an orderly goodbye (the kernel closes its
        sockets), and one busy in a collective would not hear it: asking first cost seconds per worker."""
        with _LOCK:
            for key, group in list(_GROUPS.items()):
                if group is self:
                    del _GROUPS[key]
        for proc in self.procs:
            proc.stop()
        for proc in self.procs:
            proc.kill()
        for conn in self.conns:
            conn.close()
        shutil.rmtree(self.folder, ignore_errors=True)


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

