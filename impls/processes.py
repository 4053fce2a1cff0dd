"""Child processes that never outlive this one: start one in a session of its own that dies with this
process, measure the CPU time it has used, say how it ended, and kill it with everything it started.

The torch-ddp workers (impls/process_group.py) and the processes of users' backends
(compare/isolated/) are started here; `check`'s sandbox does the same things and is to move onto it.
"""
import atexit
import ctypes
import os
import queue
import signal
import subprocess
import threading

PR_SET_PDEATHSIG = 1
_LIVE = set()           # every child start() made that kill_tree() has not reaped yet
_LIVE_LOCK = threading.Lock()
_SPAWNER = None         # the thread that forks every child (see start)
_SPAWNER_LOCK = threading.Lock()
try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up now: a child between fork and exec must not dlopen
except (OSError, AttributeError):
    _prctl = None


def die_with_parent(parent_pid=None):
    """In a child: be killed (SIGKILL) when the process that started it dies, even by SIGKILL; exit at once if
    it has already died. Linux only; elsewhere nothing."""
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if parent_pid is not None and os.getppid() != parent_pid:  # it died before the line above
        os._exit(1)


def limit_self(*, memory=None, file_size=None):
    """In a child, first thing: no core dumps, and its address space and the size of any file it writes capped
    where given. Set by the child itself: a preexec function would make subprocess fork this whole process
    (JAX warns that its threads may then deadlock) where it can otherwise spawn the child directly."""
    import resource
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if memory:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    if file_size:
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))


def _spawn_loop(jobs):
    while True:
        make, done = jobs.get()
        try:
            done.append(("ok", make()))
        except BaseException as e:  # noqa: BLE001 - given back to the caller's thread to raise
            done.append(("error", e))
        done.event.set()


class _Result(list):
    def __init__(self):
        super().__init__()
        self.event = threading.Event()


def _in_spawner(make):
    """Run `make` in the one thread that forks children. The parent-death signal fires when the *thread* that
    forked a child exits, not the process: a child forked by a helper thread would die with that thread. The
    spawner lives as long as the process."""
    global _SPAWNER
    with _SPAWNER_LOCK:
        if _SPAWNER is None:
            jobs = queue.SimpleQueue()
            thread = threading.Thread(target=_spawn_loop, args=(jobs,), name="backprop-compare spawner", daemon=True)
            thread.start()
            _SPAWNER = jobs
    done = _Result()
    _SPAWNER.put((make, done))
    done.event.wait()
    status, value = done[0]
    if status == "error":
        raise value
    return value


def start(argv, **popen):
    """subprocess.Popen(argv, **popen) in a new session (its own process group, out of reach of the terminal's
    Ctrl-C, which this process handles), and killed with its group at exit. The child must call
    die_with_parent(os.getppid() as passed to it) first thing, to die even when this process is killed."""
    proc = _in_spawner(lambda: subprocess.Popen(argv, start_new_session=True, **popen))
    with _LIVE_LOCK:
        _LIVE.add(proc)
    return proc


def peek_status(proc):
    """The child's exit status as Popen's returncode gives it (negative: the signal that killed it), or None
    while it runs; without reaping it: its pid, and so its group's id, stay its own until kill_tree()."""
    if proc.returncode is not None:
        return proc.returncode
    try:
        info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return proc.wait()
    if info is None:
        return None
    return info.si_status if info.si_code == os.CLD_EXITED else -info.si_status


def has_exited(proc):
    """Whether the child has ended, without reaping it (see peek_status)."""
    return peek_status(proc) is not None


def kill_tree(proc):
    """SIGKILL the child's whole process group (whatever it started that stayed in its session too), then reap
    it; returns its exit status. Safe to call twice."""
    if proc.returncode is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the pid is not reaped yet, so the group is still its own
        except (ProcessLookupError, PermissionError):
            pass
    status = proc.wait()
    with _LIVE_LOCK:
        _LIVE.discard(proc)
    return status


def kill_all():
    """Kill every child start() made that is still there, with its group: at exit and on SIGTERM."""
    with _LIVE_LOCK:
        procs = list(_LIVE)
    for proc in procs:
        kill_tree(proc)


atexit.register(kill_all)


def cpu_seconds(pid):
    """User + system CPU seconds the process has used, all its threads together; None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: fields 14 and 15


def exit_reason(status):
    """How a process ended, from Popen's returncode: 'exited with status 3', 'was killed by SIGSEGV'."""
    if status is None:
        return "is still running"
    if status >= 0:
        return f"exited with status {status}"
    try:
        name = signal.Signals(-status).name
    except ValueError:
        name = f"signal {-status}"
    return f"was killed by {name}"
