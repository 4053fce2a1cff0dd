"""The command line as a user runs it: output, exit codes, one clear line for every mistake."""
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

import impls
from compare.cli import main
from conftest import run_compare as run, run_process


@pytest.mark.slow
def test_train_prints_the_course_output(backend_name):
    out = run("train", "--backend", backend_name, "--iterations", "2500", "--print-every", "500")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [l.split(":")[0] for l in lines if l.startswith("Cost after")] == [
        f"Cost after iteration {i}" for i in range(0, 2500, 500)]
    assert lines[-2].startswith("Training accuracy: ") and lines[-2].endswith("%")
    assert lines[-1].startswith("Wall time: ")
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("args, message", [
    (["train", "--backend", "tensorflow"], "argument --backend: invalid choice: 'tensorflow'"),
    (["train", "--hidden", "0"], "argument --hidden: '0': each hidden layer's size must be a whole number >= 1"),
    (["train", "--lr", "-1"], "argument --lr: '-1' must be > 0"),
    (["train", "--lr", "nan"], "argument --lr: 'nan' must be > 0"),
    (["train", "--iterations", "ten"], "argument --iterations: 'ten' is not a whole number"),
    (["train", "--activation", "swish"], "argument --activation: invalid choice: 'swish'"),
    (["train", "--dtype", "float16"], "argument --dtype: invalid choice: 'float16'"),
    (["train", "--dataset", "iris"], "unknown dataset 'iris'"),
    (["train", "--dataset", "no/such/file.csv"], "no/such/file.csv: no such file"),
    (["train", "--device", "cuda"], "runs on the CPU only"),
    (["train", "--bogus"], "unrecognized arguments: --bogus"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
@pytest.mark.slow
def test_usage_errors_exit_2_with_one_line(args, message):
    out = run(*args)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and message in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.slow
def test_bad_csv_names_line_and_column(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a,b,y\n1,2,0\n3,x,1\n")
    out = run("train", "--dataset", str(path))
    assert out.returncode == 2 and "line 3, column 2 ('b'): 'x' is not a finite number" in out.stderr


@pytest.mark.slow
def test_csv_dataset_trains(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a,b,y\n" + "".join(f"{i % 7},{i % 3},{i % 2}\n" for i in range(40)))
    out = run("train", "--dataset", str(path), "--iterations", "100", "--hidden", "2")
    assert out.returncode == 0 and "X (2, 40)" in out.stdout


def test_divergence_exits_1_with_the_advice(capsys):
    code = main(["train", "--activation", "leaky_relu", "--lr", "10", "--iterations", "2000"])
    assert code == 1
    assert "try a smaller learning rate" in capsys.readouterr().err


def test_missing_framework_is_a_usage_error_naming_the_extra(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.delitem(sys.modules, "impls.backends.torch", raising=False)
    assert main(["train", "--backend", "torch", "--iterations", "1"]) == 2
    assert 'pip install -c constraints.txt -e ".[torch]"' in capsys.readouterr().err


@pytest.mark.slow
def test_console_script_is_installed():
    script = shutil.which("backprop-compare")
    if script is None:
        pytest.skip("package not installed (pip install -e .)")
    out = run_process([script, "train", "--iterations", "10"], capture_output=True, text=True)
    assert out.returncode == 0 and "Training accuracy" in out.stdout


@pytest.mark.slow
def test_run_is_the_default_command_and_writes_json_and_plots(tmp_path):
    out = run("--iterations", "300", "--json", tmp_path / "r.json", "--plots", tmp_path / "plots", cwd=tmp_path,
              env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    assert out.returncode == 0, out.stdout + out.stderr
    several = len(impls.available_backends()) > 1
    assert ("checks pass: the backends compute the same map" in out.stdout) == several
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["ok"] is True and report["settings"]["backends"] == impls.available_backends()
    for name in ("decision_boundaries.png", "cost_curves.png") + ("trajectory_distance.png",) * several:
        assert (tmp_path / "plots" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert name in out.stdout


def test_run_exits_1_when_a_check_fails(monkeypatch, capsys, tmp_path):
    from test_compare import SignError
    real = impls.get_backend
    monkeypatch.setattr(impls, "get_backend", lambda name, **kw: SignError(**kw) if name == "torch"
                        else real(name, **kw))
    code = main(["--backends", "numpy,torch", "--iterations", "200", "--no-plots"])
    assert code == 1 and "FAILED" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize("args, message", [
    (["--backends", "numpy,tensorflow"], "unknown backend 'tensorflow'; choose from numpy, torch, jax, tape"),
    (["--backends", "numpy,numpy"], "a backend is named twice"),
    (["--json", "no/such/dir/r.json", "--iterations", "1"], "folder no/such/dir does not exist"),
    (["--steps", "0"], "argument --steps: '0' must be >= 1"),
])
def test_run_usage_errors_exit_2_with_one_line(args, message):
    out = run(*args)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and message in out.stderr, out.stderr


def test_run_names_the_extra_for_a_named_missing_backend_and_skips_unnamed_ones(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "jax", None)
    monkeypatch.delitem(sys.modules, "impls.backends.jax", raising=False)
    assert main(["--backends", "numpy,jax", "--iterations", "1", "--no-plots"]) == 2
    assert 'pip install -c constraints.txt -e ".[jax]"' in capsys.readouterr().err
    assert main(["--iterations", "50", "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert 'skipped jax: not installed (pip install -c constraints.txt -e ".[jax]" in the clone)' in out


@pytest.mark.slow
def test_run_checks_where_it_will_write_before_the_run(tmp_path):
    existing_file = tmp_path / "taken"
    existing_file.write_text("")
    for args, message in ((["--plots", str(existing_file)], "is a file, not a folder"),
                          (["--json", str(tmp_path)], "is a folder")):
        out = run(*args, "--iterations", "1")
        assert out.returncode == 2 and message in out.stderr and "Comparing" not in out.stdout, out.stderr


@pytest.mark.slow
def test_every_command_says_error_in_one_form():
    """Issue 15 item 14: one prefix, whatever the command."""
    for args in (["run", "--steps", "0"], ["train", "--hidden", "0"], ["--bogus"], ["check"],
                 ["bench", "--workers", "0"], ["explain", "--hidden", "x"], ["demo", "zero-init", "--bogus"],
                 ["train", "--dataset", "iris"]):
        out = run(*args)
        assert out.returncode == 2 and out.stderr.startswith("python -m compare: error: "), (args, out.stderr)


@pytest.mark.slow
def test_a_whole_number_may_be_written_with_an_exponent(capsys):
    assert main(["train", "--iterations", "2e2", "--print-every", "1e2"]) == 0
    assert "Cost after iteration 100" in capsys.readouterr().out
    out = run("train", "--iterations", "1.5e0")
    assert out.returncode == 2 and "'1.5e0' is not a whole number" in out.stderr


@pytest.mark.slow
def test_a_file_without_a_class_lists_the_classes_it_defines():
    mine = Path(__file__).parent / "user_backends" / "mine.py"
    out = run("--backends", f"numpy,{mine}")
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert f"name the class as {mine}:CLASS; {mine} defines Mine, Summed, SigmoidHidden, Accumulates, DbNoMean" \
        in out.stderr


@pytest.mark.slow
def test_top_level_help_shows_the_default_commands_flags():
    out = run("--help")
    assert out.returncode == 0 and "Without a command, `run` runs" in out.stdout
    assert "--backends A,B,..." in out.stdout and "--timeout S" in out.stdout and "--steps K" in out.stdout
