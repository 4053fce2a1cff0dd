"""Process control for code the project did not write: a child that dies with its parent, limits measured in
CPU time and address space, and a supervisor that finds and kills every descendant, however it detached.

The grader starts `python -I -S processes.py ... -- COMMAND`: this supervisor makes itself a child subreaper
(PR_SET_CHILD_SUBREAPER), so that a grandchild whose parent exits (a double fork, `setsid`) is re-parented
to it rather than to init, and dies with its grader (PR_SET_PDEATHSIG). It runs COMMAND with the limits,
waits for it, kills whatever it left behind, and prints one line: how COMMAND ended and the CPU time it
used (`stopped=SIGTERM cpu=0.12 signal=9`, or `exit=0`). SIGTERM, SIGINT or SIGHUP (or its grader's death) make it kill the whole tree at once. The two
prctl calls and /proc are Linux's: elsewhere only the limits and the command's own end are guaranteed.

Standard library only: it runs as a script, and the grader imports its parent-side half.
"""
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
SUPERVISED = sys.platform.startswith("linux")


def _prctl(option, value):
    if not SUPERVISED:
        return  # no prctl: the tree is still killed where /proc lists it
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


def die_with_parent(sig=signal.SIGKILL):
    """This process gets `sig` when the thread that started it ends (Linux: PR_SET_PDEATHSIG)."""
    _prctl(PR_SET_PDEATHSIG, int(sig))


def become_subreaper():
    """Orphaned descendants of this process are re-parented to it, not to init (Linux 3.4+)."""
    _prctl(PR_SET_CHILD_SUBREAPER, 1)


def limit_resources(cpu=None, memory=None, output=None, cpu_most=None):
    """Limits for this process and what it starts: CPU seconds (SIGXCPU at `cpu`; the process may raise that
    to `cpu_most`, and SIGKILL comes a second after it), bytes of address space, bytes any file it writes may
    reach; no core files."""
    import resource
    if cpu:
        resource.setrlimit(resource.RLIMIT_CPU, (int(cpu), int(max(cpu, cpu_most or 0)) + 1))
    if memory:
        resource.setrlimit(resource.RLIMIT_AS, (int(memory), int(memory)))
    if output:
        resource.setrlimit(resource.RLIMIT_FSIZE, (int(output), int(output)))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def descendants(pid):
    """Every process below `pid`, found through each process's parent in /proc."""
    parents = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    stat = f.read()
                parents[int(entry)] = int(stat[stat.rindex(b")") + 2:].split()[1])  # the name may hold ") "
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = [], [pid]
    while frontier:
        kids = [p for p, parent in parents.items() if parent in frontier]
        found += kids
        frontier = kids
    return found


def kill_tree(pid=None):
    """SIGKILL every descendant of `pid` (default: this process) and reap those that are this process's own,
    until none is left: a process that forks while it is being killed is found on the next round."""
    pid = os.getpid() if pid is None else pid
    for _ in range(1000):
        found = descendants(pid)
        if not found:
            return
        for p in found:
            try:
                os.kill(p, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        _reap()
        time.sleep(0.005)


def _reap():
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return


# --- the supervisor (this file run as a script) -------------------------------------------------------

def supervise(command, *, parent, cpu=None, cpu_most=None, memory=None, output=None, stdout=None, stderr=None):
    """Run `command` under the limits, kill everything it leaves, and return how it ended."""
    become_subreaper()
    die_with_parent(signal.SIGTERM)
    if os.getppid() != parent:  # the grader died before the line above: nothing to supervise
        return {"stopped": "parent"}
    stopped = []

    def stop(signum, frame):
        stopped.append(signal.Signals(signum).name)
        for p in descendants(os.getpid()):
            try:
                os.kill(p, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, stop)
    child = os.fork()
    if child == 0:
        try:
            die_with_parent(signal.SIGKILL)
            limit_resources(cpu, memory, output, cpu_most)
            for fd, path in ((1, stdout), (2, stderr)):
                if path:
                    os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
            os.execv(command[0], command)
        finally:
            os._exit(127)
    if stopped:  # a signal came before the fork: the handler found nothing to kill then
        os.kill(child, signal.SIGKILL)
    status = usage = None
    while status is None:
        try:
            pid, status_, usage_ = os.wait4(-1, 0)  # also reaps the orphans re-parented here
        except ChildProcessError:
            break
        if pid == child:
            status, usage = status_, usage_
    kill_tree()
    report = {"stopped": stopped[0] if stopped else None,
              "cpu": usage.ru_utime + usage.ru_stime if usage else None}
    if status is not None and os.WIFSIGNALED(status):
        report["signal"] = os.WTERMSIG(status)
    elif status is not None:
        report["exit"] = os.WEXITSTATUS(status)
    return report


def _main(argv):
    split = argv.index("--")
    options = dict(a.split("=", 1) for a in argv[:split])
    numbers = {k: float(options[k]) if options.get(k) else None for k in ("cpu", "cpu_most", "memory", "output")}
    report = supervise(argv[split + 1:], parent=int(options["parent"]), stdout=options.get("stdout"),
                       stderr=options.get("stderr"), **numbers)
    sys.stdout.write(" ".join(f"{k}={v}" for k, v in report.items() if v is not None) + "\n")  # no json: fast
    sys.stdout.flush()


# --- the grader's side ----------------------------------------------------------------------------------

_live, _lock, _stopping = set(), threading.Lock(), threading.Event()


def start(command, *, cwd, env, cpu=None, cpu_most=None, memory=None, output=None, stdout=None, stderr=None):
    """Start `command` under a supervisor (Linux) that holds it to the limits and kills its whole tree when
    it ends, when `stop` or `stop_all` is called, or when this process dies. Its standard input is a pipe.

    Returns:
        The supervisor's Popen; `wait(process)` waits for it and returns its report.
    """
    import subprocess  # here: the supervisor, this file run as a script, starts faster without it
    if _stopping.is_set():
        raise KeyboardInterrupt
    options = [f"parent={os.getpid()}", f"cpu={cpu or ''}", f"cpu_most={cpu_most or ''}", f"memory={memory or ''}",
               f"output={output or ''}", f"stdout={stdout or ''}", f"stderr={stderr or ''}"]
    with _lock:
        process = subprocess.Popen([sys.executable, "-I", "-S", os.path.abspath(__file__), *options, "--", *command],
                                   cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, start_new_session=True)  # Ctrl-C is the grader's
        _live.add(process)
    return process


def stop(process):
    """Ask a supervisor to kill its tree now (it reports, then exits)."""
    try:
        process.send_signal(signal.SIGTERM)
    except (ProcessLookupError, OSError):
        pass


def allow():
    """A new run may start children again (after a stop_all of an earlier one in this process)."""
    _stopping.clear()


def stop_all():
    """Ctrl-C or SIGTERM: every supervised tree is killed now, and none starts after."""
    _stopping.set()
    with _lock:
        for process in list(_live):
            stop(process)


def wait(process, data=b"", poll=None, step=0.02):
    """Send `data` (a few bytes: the pipe takes them at once) to a supervisor's standard input, wait for it and
    return its report (how the command ended, its CPU time; {} if it gave none). `poll()` is called every
    `step` seconds while it runs; when it returns True the tree is killed (a wall-clock limit)."""
    import subprocess
    out = b""
    try:
        if process.stdin is not None:  # written here, whole: communicate() given input and a timeout may
            try:                        # time out before writing it and never write it on a retry
                process.stdin.write(data)
                process.stdin.close()
            except OSError:  # the command ended already: its report says how
                pass
            process.stdin = None
        while True:  # not communicate(timeout=...): under load it can time out before reading, round after round
            try:
                process.wait(timeout=step)
                break
            except subprocess.TimeoutExpired:
                if poll is not None and poll():
                    stop(process)
        out = process.stdout.read()  # one short line, written as it ends: it fits in the pipe
    finally:
        if process.poll() is None:
            stop(process)
            process.wait()
        with _lock:
            _live.discard(process)
        process.stdout.close()
    try:
        fields = dict(item.split("=", 1) for item in out.decode().split())
    except ValueError:
        return {}
    return {k: v if k == "stopped" else float(v) if k == "cpu" else int(v) for k, v in fields.items()}


if __name__ == "__main__":
    _main(sys.argv[1:])
