"""`check`'s child processes: none outlives its grade or its grader, however it detached, whatever signal stops
the grader; limits in CPU time, so that a busy machine never turns a right answer into an error; options that
would break a run are refused in one line."""
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from compare.cli import main
from compare.teach.check import check_file, runner
from conftest import alive, started
from impls.processes import descendants

ROOT = Path(__file__).resolve().parents[1]
STUDENTS = ROOT / "tests" / "students"
HOSTILE = STUDENTS / "hostile"


def wait_for(predicate, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def pids(path):
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def test_a_double_forked_grandchild_in_a_session_of_its_own_dies_with_the_grade(tmp_path, monkeypatch):
    monkeypatch.setenv("CHECK_TEST_PID_FILE", str(tmp_path / "pids"))
    result = check_file(HOSTILE / "double_fork.py")
    assert result.ok
    grandchildren = pids(tmp_path / "pids")
    assert len(grandchildren) == 1
    assert not alive(grandchildren[0])


def command(*args, env=None):
    """`compare check ARGS` started, for a with-block: it and all it started are killed when the block ends."""
    return started([sys.executable, "-m", "compare", "check", *map(str, args)], cwd=ROOT, env=env,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def spinning(tmp_path, copies=1):
    """A class of files that spin in backward_propagation, each leaving a spinning grandchild."""
    folder = tmp_path / "class"
    folder.mkdir()
    for i in range(copies):
        shutil.copy(HOSTILE / "spin.py", folder / f"spin{i}.py")
    env = {**os.environ, "CHECK_TEST_PID_FILE": str(tmp_path / "pids"), "TMPDIR": str(tmp_path / "temp")}
    (tmp_path / "temp").mkdir()
    return folder, env


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_a_class_run_at_once_and_every_process_with_it(tmp_path, sig):
    folder, env = spinning(tmp_path, copies=2)
    with command(folder, "--timeout", "100", "--jobs", "2", env=env) as process:
        assert wait_for(lambda: len(pids(tmp_path / "pids")) == 2, 60), process.communicate(timeout=5)
        tree = descendants(process.pid)
        start = time.monotonic()
        process.send_signal(sig)
        out, err = process.communicate(timeout=30)
    assert time.monotonic() - start < 5  # not the 100 s of --timeout
    assert process.returncode == 130 and err.strip().splitlines()[-1] == "interrupted" and "Traceback" not in err
    assert wait_for(lambda: not any(alive(p) for p in tree + pids(tmp_path / "pids")), 5)
    assert list((tmp_path / "temp").iterdir()) == []


@pytest.mark.slow
def test_a_grader_killed_outright_takes_its_students_processes_with_it(tmp_path):
    folder, env = spinning(tmp_path)
    with command(folder / "spin0.py", "--timeout", "100", env=env) as process:
        assert wait_for(lambda: len(pids(tmp_path / "pids")) == 1, 60), process.communicate(timeout=5)
        tree = descendants(process.pid)
        process.kill()  # SIGKILL: no handler runs in check; its supervisors get SIGTERM from the kernel
        process.communicate(timeout=10)
    assert wait_for(lambda: not any(alive(p) for p in tree + pids(tmp_path / "pids")), 10)


def test_a_larger_jobs_is_capped_at_the_cores_and_says_so(capsys):
    assert main(["check", str(STUDENTS / "right_course.py"), str(STUDENTS / "right_matmul.py"), "--jobs", "48"]) == 0
    cores = len(os.sched_getaffinity(0))
    out = capsys.readouterr().out
    if cores < 48:
        assert f"Note: --jobs 48: this machine has {cores} cores; grading {cores} files at a time" in out.splitlines()


@pytest.mark.slow
def test_a_busy_machine_does_not_turn_right_answers_into_errors(tmp_path, capsys):
    folder = tmp_path / "class"
    folder.mkdir()
    for i in range(4):  # torch takes seconds to import when the machine is busy; busy.py burns 1.5 s of CPU
        shutil.copy(HOSTILE / "torch_user.py", folder / f"torch{i}.py")
        shutil.copy(HOSTILE / "busy.py", folder / f"busy{i}.py")
    pytest.importorskip("torch")
    hog = [sys.executable, "-c", "while True: pass"]
    with started(hog), started(hog):  # two cores' worth of load, ended with the block
        status = main(["check", str(folder), "--jobs", "48", "--timeout", "5"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert out.splitlines()[-1].startswith("8 files: 8 pass, 0 fail, 0 cannot be graded")


def test_limits_are_cpu_time_and_waiting_is_given_a_generous_wall_clock(tmp_path, monkeypatch):
    source = (STUDENTS / "right_course.py").read_text()
    sleeper = tmp_path / "sleeper.py"  # sleeps 1.5 s: no CPU time, and well within 5 times --timeout 1
    sleeper.write_text(source.replace("def forward_propagation(X, parameters):\n",
                                      "def forward_propagation(X, parameters):\n    __import__('time').sleep(0.1)\n"))
    assert check_file(sleeper, timeout=1).ok
    waiter = tmp_path / "waiter.py"
    waiter.write_text(source.replace("def forward_propagation(X, parameters):\n",
                                     "def forward_propagation(X, parameters):\n    __import__('time').sleep(100)\n"))
    result = check_file(waiter, timeout=0.5)
    assert result.equation == "process" and re.match(r"Did not finish within 2.5 s in forward_propagation, using "
                                                     r"0\.\d s of CPU time \(waiting for something", result.problem)
    monkeypatch.setattr(runner, "WALL_FACTOR", 1000)  # however busy the machine, the CPU limit comes first
    spinner = check_file(STUDENTS / "while_true.py", timeout=1)
    assert spinner.problem.startswith("Used its 1 s of CPU time in backward_propagation without finishing")


def test_loading_a_file_has_a_cpu_limit_of_its_own(tmp_path):
    path = tmp_path / "slow_load.py"  # a class body runs when the file loads
    path.write_text("class Spin:\n    while True:\n        pass\n")
    with pytest.raises(ValueError, match="cannot be loaded: used its 1 s of CPU time while loading the file"):
        check_file(path, load_timeout=1)


@pytest.mark.parametrize("flags, message", [
    (["--memory", "1e12"], "argument --memory: '1e12' must be from 0.5"),
    (["--memory", "1e-10"], "argument --memory: '1e-10' must be from 0.5"),
    (["--problems", "100000000"], "argument --problems: '100000000' must be <= 100"),
    (["--seed", "4294967296"], "argument --seed: '4294967296' must be <= 4294967295"),
])
def test_options_that_would_break_the_run_are_refused_in_one_line(flags, message, capsys):
    with pytest.raises(SystemExit) as exit:
        main(["check", str(STUDENTS / "right_course.py"), *flags])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_the_largest_seed_is_a_correct_run(capsys):
    assert main(["check", str(STUDENTS / "right_course.py"), "--seed", "4294967295"]) == 0
    assert "All ten equations are right" in capsys.readouterr().out


def test_the_token_reaches_the_child_however_soon_the_first_wait_times_out(tmp_path):
    """communicate(input, timeout) may time out before writing its input, and a retry never writes it."""
    from impls import processes
    out = tmp_path / "out"
    with open(out, "wb") as f:
        child = processes.start([sys.executable, "-c", "import sys; print(sys.stdin.readline().strip())"],
                                cwd=tmp_path, env=dict(os.environ), stdin=subprocess.PIPE, stdout=f)
    deadline = time.monotonic() + 20
    status = runner._wait(child, b"the token\n", overdue=lambda: time.monotonic() > deadline, step=1e-6)
    assert status == 0 and out.read_text() == "the token\n"
