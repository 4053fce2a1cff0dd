"""Child processes that never outlive the run: the torch-ddp workers (impls/parallel/process_group.py), the
processes of users' backends (compare/isolated/) and of students' files (compare/teach/check/), all started here.

`start(argv)` runs this file as a script, a supervisor between the caller and the command, which
- is a child subreaper (PR_SET_CHILD_SUBREAPER): whatever the command starts stays below it, a double fork and
  `setsid` included, so every descendant is found in /proc and killed when the command ends or is stopped (a
  process group is not enough: `setsid` leaves it);
- dies with the caller (PR_SET_PDEATHSIG: SIGTERM, on which it kills its tree) and has the command die with it
  (SIGKILL), even when the caller is killed by SIGKILL and runs no atexit;
- forks and execs the command with its limits set in the forked child: CPU seconds counted by the kernel
  (RLIMIT_CPU: a busy machine does not make code slower in CPU time), address space, the size of any file it
  writes, no core files. The supervisor is a fresh, single-threaded interpreter: the caller, which may run JAX's
  or torch's threads, never forks itself (a preexec function or os.fork would make it do so);
- writes on a pipe of its own the command's pid, then how it ended and the CPU time it used.

The two prctl calls and /proc are Linux's: elsewhere only the limits and the command's own end are guaranteed.
Standard library only, imported lazily where it can be: the supervisor starts in milliseconds.
"""
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
LINUX = sys.platform.startswith("linux")
STOP_GRACE = 10.0  # seconds a supervisor asked to stop may take before it is killed itself (one SIGSTOPped)
_libc = []


def _prctl(option, value):
    if not LINUX:
        return
    import ctypes
    if not _libc:  # loaded once, in the supervisor before it forks: the forked child only calls it
        _libc.append(ctypes.CDLL(None, use_errno=True))
    if _libc[0].prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}, {value}) failed")


def _die_with_parent(sig, parent):
    """Get `sig` when the parent ends (strictly: the thread that forked this process), and end now if it has
    already ended before the call."""
    _prctl(PR_SET_PDEATHSIG, int(sig))
    if os.getppid() != parent:
        os._exit(1)


def _limit(cpu=None, cpu_most=None, memory=None, file_size=None):
    """This process's limits, which its children inherit: CPU seconds (SIGXCPU at `cpu`; the process may raise
    that to `cpu_most`, and SIGKILL comes a second after), bytes of address space, bytes any file it writes
    may reach; no core files."""
    import resource
    if cpu:
        resource.setrlimit(resource.RLIMIT_CPU, (int(cpu), int(max(cpu, cpu_most or 0)) + 1))
    if memory:
        resource.setrlimit(resource.RLIMIT_AS, (int(memory), int(memory)))
    if file_size:
        resource.setrlimit(resource.RLIMIT_FSIZE, (int(file_size), int(file_size)))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def descendants(pid):
    """Every live process below `pid`, found through each process's parent in /proc."""
    parents = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    stat = f.read()
                parents[int(entry)] = int(stat[stat.rindex(b")") + 2:].split()[1])  # the name may hold ") "
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = [], {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier}
        found += sorted(frontier)
    return found


def _kill(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def cpu_seconds(pid):
    """User + system CPU seconds the process has used, all its threads together; None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError, TypeError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: fields 14 and 15


def exit_reason(status):
    """How a process ended, from a Popen-style status: 'exited with status 3', 'was killed by SIGSEGV'."""
    if status is None:
        return "is still running"
    if status >= 0:
        return f"exited with status {status}"
    try:
        name = signal.Signals(-status).name
    except ValueError:
        name = f"signal {-status}"
    return f"was killed by {name}"


# --- the supervisor: this file run as a script ---------------------------------------------------------------

def _supervise(report, parent, command, limits, passed=()):
    """Run `command` under `limits`, kill everything it leaves, and write how it ended to `report`. `passed`:
    the descriptors the command inherits, closed here once it has them (a pipe's end held here would hide
    the command's end from the caller)."""
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    _die_with_parent(signal.SIGTERM, parent)
    os.set_inheritable(report, False)  # the command cannot write a report of its own
    me, stopped = os.getpid(), []

    def stop(signum, frame):
        stopped.append(signal.Signals(signum).name)
        _kill(descendants(me))
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, stop)
    child = os.fork()
    if child == 0:
        try:
            _die_with_parent(signal.SIGKILL, me)
            _limit(**limits)
            os.execvp(command[0], command)
        finally:
            os._exit(127)
    for fd in passed:
        os.close(fd)
    if stopped:  # a signal came before the fork: the handler found nothing to kill then
        _kill([child])
    os.write(report, f"pid={child}\n".encode())
    status = usage = None
    while status is None:
        try:
            pid, status_, usage_ = os.wait4(-1, 0)  # also reaps the orphans re-parented here
        except ChildProcessError:
            break
        if pid == child:
            status, usage = status_, usage_
    for _ in range(1000):  # a process that forks while it is being killed is found on the next round
        left = descendants(me)
        if not left:
            break
        _kill(left)
        while _reaped():
            pass
        time.sleep(0.005)
    end = {"stopped": stopped[0] if stopped else None, "cpu": usage.ru_utime + usage.ru_stime if usage else None}
    if status is not None:
        end["status"] = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    os.write(report, (" ".join(f"{k}={v}" for k, v in end.items() if v is not None) + "\n").encode())


def _reaped():
    try:
        return os.waitpid(-1, os.WNOHANG)[0] != 0
    except ChildProcessError:
        return False


def _main(argv):
    split = argv.index("--")
    options = dict(a.split("=", 1) for a in argv[:split])
    limits = {k: float(options[k]) for k in ("cpu", "cpu_most", "memory", "file_size") if options.get(k)}
    passed = [int(fd) for fd in options.get("fds", "").split(",") if fd]
    _supervise(int(options["report"]), int(options["parent"]), argv[split + 1:], limits, passed)


# --- the caller's side ---------------------------------------------------------------------------------------

_live, _lock, _stopping = set(), threading.Lock(), threading.Event()
_spawner, _spawner_lock = [], threading.Lock()


class Child:
    """A command that start() started. `pid` is the command's; `poll()` and `wait()` give its exit status as
    Popen does (negative: the signal that killed it) once it and everything it started are gone; `cpu` is then
    the CPU seconds it used and `stopped` the signal that stopped it (stop()), if one did."""

    def __init__(self, supervisor, report):
        self.supervisor, self.stdin, self._report, self._said = supervisor, supervisor.stdin, report, b""
        self.returncode = self.cpu = self.stopped = None

    @property
    def pid(self):
        """The command's pid, None if it never started: the supervisor says it as soon as it has forked."""
        while b"\n" not in self._said and self._report is not None:
            chunk = os.read(self._report, 4096)
            if not chunk:
                break
            self._said += chunk
        first = self._said.partition(b"\n")[0]
        return int(first[4:]) if first.startswith(b"pid=") else None

    def poll(self):
        """The command's exit status, or None while it (or anything it started) runs."""
        if self.returncode is None and self._ended():
            self._finish()
        return self.returncode

    def wait(self, timeout=None):
        """Wait for the end (subprocess.TimeoutExpired after `timeout` seconds); the exit status."""
        self.supervisor.wait(timeout)
        return self.poll()

    def communicate(self, input=None, timeout=None):
        """Popen.communicate on the pipes start() was given: (output, error) once the command has ended."""
        out, err = self.supervisor.communicate(input, timeout)
        self.poll()
        return out, err

    def stop(self):
        """Ask the supervisor to kill the command's tree now; returns at once (wait() for the end)."""
        if self.returncode is None:
            try:
                self.supervisor.send_signal(signal.SIGTERM)
            except OSError:
                pass

    def kill(self):
        """Kill the command and everything it started; its exit status. Safe to call twice."""
        import subprocess
        self.stop()
        try:
            return self.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:  # a supervisor that cannot answer (stopped): its group goes with it
            self.supervisor.kill()
            return self.wait()

    def cpu_seconds(self):
        """CPU seconds the command has used so far, all its threads together; None once it is gone."""
        return cpu_seconds(self.pid)

    def _ended(self):
        """Whether the supervisor has ended, without reaping it: its pid stays the id of its process group."""
        if self.supervisor.returncode is not None:
            return True
        try:
            return os.waitid(os.P_PID, self.supervisor.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return True

    def _finish(self):
        import select
        while self._report is not None and select.select([self._report], [], [], 1.0)[0]:
            chunk = os.read(self._report, 4096)  # the rest of the report, to EOF
            if not chunk:
                break
            self._said += chunk
        if self.supervisor.returncode is None:
            try:  # whatever stayed in the supervisor's session, had it been killed before killing its tree
                os.killpg(self.supervisor.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        supervisor = self.supervisor.wait()
        lines = self._said.decode(errors="replace").splitlines()
        end = dict(item.split("=", 1) for item in lines[-1].split() if "=" in item) if len(lines) > 1 else {}
        self.cpu = float(end["cpu"]) if "cpu" in end else None
        self.stopped = end.get("stopped")
        self.returncode = int(end["status"]) if "status" in end else supervisor
        if self._report is not None:
            os.close(self._report)
            self._report = None
        if self.supervisor.stdin is not None:
            self.supervisor.stdin.close()
        with _lock:
            _live.discard(self)


def start(argv, *, cpu=None, cpu_most=None, memory=None, file_size=None, **popen):
    """Start `argv` under a supervisor (see the module's docstring), with the limits given, in a session of its
    own: a Ctrl-C at the terminal reaches the caller only, which then stops it. `popen`: subprocess.Popen's
    cwd, env, stdin, stdout, stderr, pass_fds; the command inherits them.

    Returns:
        Child. Raises KeyboardInterrupt after stop_all() (until allow()): a run being stopped starts nothing.
    """
    import subprocess
    read, write = os.pipe()
    passed = tuple(popen.pop("pass_fds", ()))
    options = [f"report={write}", f"parent={os.getpid()}", f"fds={','.join(map(str, passed))}"] + [
        f"{k}={v}" for k, v in (("cpu", cpu), ("cpu_most", cpu_most), ("memory", memory), ("file_size", file_size))
        if v]
    supervisor = [sys.executable, "-I", "-S", os.path.abspath(__file__), *options, "--", *argv]
    pass_fds = (*passed, write)
    try:
        with _lock:
            if _stopping.is_set():
                raise KeyboardInterrupt
            child = Child(_in_spawner(lambda: subprocess.Popen(supervisor, pass_fds=pass_fds, start_new_session=True,
                                                               **popen)), read)
            _live.add(child)
    except BaseException:
        os.close(read)
        raise
    finally:
        os.close(write)
    return child


def _in_spawner(make):
    """Run `make` in the one thread that starts every supervisor. The parent-death signal fires when the
    *thread* that forked a child ends, not the process: a supervisor started from a helper thread (a thread
    pool's) would end with it. The spawner lives as long as the process."""
    import queue
    with _spawner_lock:
        if not _spawner:
            jobs = queue.SimpleQueue()
            threading.Thread(target=_spawn_loop, args=(jobs,), name="backprop-compare spawner", daemon=True).start()
            _spawner.append(jobs)
    done, result = threading.Event(), []
    _spawner[0].put((make, done, result))
    done.wait()
    if isinstance(result[0], BaseException):
        raise result[0]
    return result[0]


def _spawn_loop(jobs):
    while True:
        make, done, result = jobs.get()
        try:
            result.append(make())
        except BaseException as e:  # noqa: BLE001 - given back to the caller's thread to raise
            result.append(e)
        done.set()


def stop_all():
    """Ctrl-C or SIGTERM: every command started here is killed now, and none starts until allow()."""
    _stopping.set()
    with _lock:
        children = list(_live)
    for child in children:
        child.stop()


def stopping():
    """Whether stop_all() was called since the last allow(): a child that ended then was stopped, not done."""
    return _stopping.is_set()


def allow():
    """A new run may start commands again."""
    _stopping.clear()


def kill_all():
    """Kill every command started here that is still there, with all it started; at exit, and at the end of
    each command of the command line."""
    with _lock:
        children = list(_live)
    for child in children:
        child.stop()  # all asked at once: each takes a moment to kill its tree
    for child in children:
        child.kill()


if __name__ == "__main__":
    _main(sys.argv[1:])
else:
    import atexit
    atexit.register(kill_all)
