"""What the command line writes, tried as a hostile user would (issue 9, items 1-6, 19, 20).

Special files and links as destinations, an output that is an input, an unwritable folder, a closed
pipe, a full disk, a terminal that is not UTF-8, Ctrl-C: nothing lost, no traceback, no hang.
"""
import argparse
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

import impls
from compare.cli import build_parser, main
from compare.terminal import SPELLINGS, ascii_spelling
from conftest import run_compare, run_process, started

ROOT = Path(__file__).parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
CONFIG = {"backend": "numpy", "activation": "tanh", "dtype": "float64", "dataset": "planar"}


def cli(*args, cwd=None, timeout=300, **env):
    return run_compare(*args, cwd=cwd, timeout=timeout, env={**ENV, **env})


def refused(out, message):
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stderr.count("\n") == 1 and message in out.stderr, out.stderr


def leftovers(folder):
    return [name for name in os.listdir(folder) if name.endswith(".tmp")]


def a_device(path):
    """A character device node like /dev/null (major 1, minor 3), made where the test may lose it."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (PermissionError, AttributeError, OSError) as e:
        pytest.skip(f"cannot make a device node here ({e}); needs root")
    return path


# --- 1. never replace what is not a regular file ------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("flag", ["--save", "--json", "--plots"])
def test_a_fifo_destination_is_refused_without_blocking(tmp_path, flag):
    fifo = tmp_path / "cost_curves.png" if flag == "--plots" else tmp_path / "out"
    os.mkfifo(fifo)
    args = {"--save": ["train", "--save", str(fifo)], "--json": ["run", "--json", str(fifo), "--no-plots"],
            "--plots": ["run", "--plots", str(tmp_path)]}[flag]
    out = cli(*args, "--iterations", "5", timeout=120)  # opening a FIFO to write would block: the timeout fails it
    refused(out, "is a named pipe (FIFO), not a regular file; refused")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and leftovers(tmp_path) == []


def test_a_device_is_never_replaced(tmp_path, capsys):
    device = a_device(tmp_path / "null")
    impls.save_model(tmp_path / "m.npz", impls.init_params(2, 4), CONFIG)
    for args in (["train", "--iterations", "5", "--save", str(device)],
                 ["predict", "--model", str(tmp_path / "m.npz"), "--out", str(device)]):
        assert main(args) == 2
        assert "is a device, not a regular file; refused" in capsys.readouterr().err
    with pytest.raises(ValueError, match="is a device"):
        impls.save_model(device, impls.init_params(2, 4), CONFIG)
    assert stat.S_ISCHR(os.stat(device).st_mode)


def test_save_model_refuses_a_fifo(tmp_path):
    os.mkfifo(tmp_path / "m.npz")
    with pytest.raises(ValueError, match="named pipe"):
        impls.save_model(tmp_path / "m.npz", impls.init_params(2, 4), CONFIG)
    assert stat.S_ISFIFO(os.stat(tmp_path / "m.npz").st_mode)


def test_a_symlink_is_written_through_and_a_dangling_one_refused(tmp_path, capsys):
    real, link = tmp_path / "models" / "real.npz", tmp_path / "link.npz"
    real.parent.mkdir()
    real.write_bytes(b"the old model")
    link.symlink_to(real)
    assert main(["train", "--iterations", "5", "--save", str(link)]) == 0
    assert link.is_symlink() and impls.load_model(real)[1]["iterations"] == 5  # the file it names, replaced
    assert leftovers(tmp_path) == [] and leftovers(real.parent) == []
    dangling = tmp_path / "dangling.npz"
    dangling.symlink_to(tmp_path / "nowhere.npz")
    assert main(["train", "--iterations", "5", "--save", str(dangling)]) == 2
    assert "which does not exist; refused" in capsys.readouterr().err
    assert dangling.is_symlink() and not (tmp_path / "nowhere.npz").exists()


# --- 2. an output that is an input --------------------------------------------------------------------

def test_an_output_that_is_an_input_is_refused_before_the_work(tmp_path, capsys):
    data = tmp_path / "d.csv"
    data.write_text("a,b,y\n" + "".join(f"{i % 7},{i % 3},{i % 2}\n" for i in range(40)))
    os.link(data, tmp_path / "hard.csv")
    (tmp_path / "soft.csv").symlink_to(data)
    model = tmp_path / "m.npz"
    impls.save_model(model, impls.init_params(2, 4), {**CONFIG, "dataset": str(data)})
    before = data.read_bytes(), model.read_bytes()
    for args, input_flag in (
            (["train", "--dataset", str(data), "--save", str(data)], "--dataset"),
            (["train", "--dataset", str(data), "--save", str(tmp_path / "hard.csv")], "--dataset"),
            (["train", "--dataset", str(data), "--save", str(tmp_path / "soft.csv")], "--dataset"),
            (["run", "--dataset", str(data), "--json", str(data), "--no-plots"], "--dataset"),
            (["predict", "--model", str(model), "--out", str(model)], "--model"),
            (["predict", "--model", str(model), "--dataset", str(data), "--out", str(tmp_path / "hard.csv")],
             "--dataset")):
        assert main([*args, *(["--iterations", "50"] if args[0] != "predict" else [])]) == 2, args
        out, err = capsys.readouterr()
        assert f"is the input {input_flag}" in err and "destroy the input" in err, err
        assert not re.search("Training|Comparing|Predicting", out), out
    assert (data.read_bytes(), model.read_bytes()) == before


# --- 3. writability found out before the work ---------------------------------------------------------

def _unwritable_folder(tmp_path):
    if os.geteuid() != 0:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    # root writes through any permission bits: a folder of a read-only pseudo file system instead
    try:
        fd, name = tempfile.mkstemp(dir="/sys")
    except OSError:
        return Path("/sys")
    os.close(fd)
    os.unlink(name)
    pytest.skip("running as root, and /sys is writable here: no folder to test against")


def test_an_unwritable_folder_is_found_before_the_work(tmp_path, capsys):
    folder = _unwritable_folder(tmp_path)
    for args, name in ((["train", "--save", str(folder / "m.npz")], f"--save {folder / 'm.npz'}"),
                       (["run", "--json", str(folder / "r.json"), "--no-plots"], f"--json {folder / 'r.json'}"),
                       (["run", "--plots", str(folder / "plots")], f"--plots {folder / 'plots'}"),
                       (["demo", "zero-init", "--plots", str(folder / "plots")], f"--plots {folder / 'plots'}")):
        assert main([*args, "--iterations", "100000"]) == 2  # found at once, or this test takes minutes
        out, err = capsys.readouterr()
        assert err.startswith(f"python -m compare: error: {name}: cannot write in folder {folder}")
        assert err.count("\n") == 1
        assert out == ""


def test_a_file_where_a_folder_is_expected(tmp_path, capsys):
    (tmp_path / "afile").write_text("")
    assert main(["train", "--iterations", "100000", "--save", str(tmp_path / "afile" / "m.npz")]) == 2
    assert f"{tmp_path / 'afile'} is not a folder" in capsys.readouterr().err
    assert main(["run", "--iterations", "100000", "--plots", str(tmp_path / "afile" / "plots")]) == 2
    assert f"{tmp_path / 'afile'} is not a folder" in capsys.readouterr().err


# --- 4. output trouble after the work does not lose it ------------------------------------------------

@pytest.mark.slow
def test_a_closed_pipe_loses_nothing_and_says_nothing(tmp_path):
    # 3000 cost lines overflow the pipe, so the command writes into it after the reader has gone
    with started([sys.executable, "-m", "compare", "train", "--iterations", "3000", "--print-every", "1",
                  "--save", "m.npz"], cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                 text=True) as proc:
        lines = [proc.stdout.readline(), proc.stdout.readline()]  # as `| head -2`
        proc.stdout.close()
        err = proc.stderr.read()
        assert proc.wait(timeout=300) == 0, err
    assert lines[1].startswith("Cost after iteration 0")
    assert err == "", err  # no "Broken pipe", no "Exception ignored", no traceback
    assert impls.load_model(tmp_path / "m.npz")[1]["iterations"] == 3000


@pytest.mark.slow
def test_a_full_disk_on_stdout_keeps_the_model_and_says_so_in_one_line(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    with open("/dev/full", "w") as full:
        out = run_process([sys.executable, "-m", "compare", "train", "--iterations", "20", "--save", "m.npz"],
                          cwd=tmp_path, env=ENV, stdout=full, stderr=subprocess.PIPE, text=True, timeout=300)
    assert out.returncode == 1
    assert out.stderr == "python -m compare: error: cannot write to standard output (No space left on device)\n"
    assert impls.load_model(tmp_path / "m.npz")[1]["iterations"] == 20


# --- 5. a terminal that is not UTF-8 ------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
@pytest.mark.parametrize("command", ["run", "explain", "demo", "train --help"])
def test_a_terminal_that_is_not_utf8_gets_plain_spellings(tmp_path, encoding, command):
    args = {"run": ["run", "--iterations", "30", "--json", "r.json", "--plots", "p"], "explain": ["explain"],
            "demo": ["demo", "zero-init", "--iterations", "30", "--plots", "p"],
            "train --help": ["train", "--help"]}[command]
    out = run_process([sys.executable, "-m", "compare", *args], capture_output=True, cwd=tmp_path,
                      env={**ENV, "PYTHONIOENCODING": encoding}, timeout=300)
    text = out.stdout.decode(encoding)
    assert out.returncode == 0 and b"Traceback" not in out.stderr, out.stderr.decode(encoding, "replace")
    expected = {"run": "||D||", "explain": "max|D|", "demo": "dZ2 A1^T = 0", "train --help": "alpha"}[command]
    assert expected in text, text
    if command == "run":
        assert (tmp_path / "r.json").stat().st_size > 0 and len(os.listdir(tmp_path / "p")) == 3
    if command == "demo":
        assert (tmp_path / "p" / "demo-zero-init.png").exists()


def test_every_character_the_project_prints_has_an_ascii_spelling():
    sources = [p for folder in ("compare", "impls") for p in (ROOT / folder).rglob("*.py")]
    chars = {c for p in sources for c in p.read_text(encoding="utf-8") if ord(c) > 127}
    assert chars and all(ascii_spelling(c) != "?" and ascii_spelling(c).isascii() for c in chars), \
        sorted(c for c in chars if ascii_spelling(c) == "?")
    assert all(v.isascii() for v in SPELLINGS.values())


# --- 6. Ctrl-C ----------------------------------------------------------------------------------------

@pytest.mark.slow
def test_ctrl_c_is_one_line_exit_130_and_no_file(tmp_path):
    # Ctrl-C's handler set explicitly: a shell's background job would inherit SIGINT ignored
    start = ("import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
             "runpy.run_module('compare', run_name='__main__', alter_sys=True)")
    with started([sys.executable, "-c", start, "train", "--iterations", "100000000", "--print-every", "100000",
                  "--save", "m.npz"], cwd=tmp_path, env={**ENV, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE,
                 stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stdout.readline().startswith("Training")
        assert proc.stdout.readline().startswith("Cost after iteration 0")  # it is training now
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and err == "interrupted\n", err
    assert os.listdir(tmp_path) == []


def test_ctrl_c_while_saving_leaves_the_old_file_and_no_temporary_one(tmp_path, monkeypatch, capsys):
    path = tmp_path / "m.npz"
    impls.save_model(path, impls.init_params(2, 4), CONFIG)
    before = path.read_bytes()

    def interrupted(f, **arrays):
        f.write(b"PK half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupted)
    assert main(["train", "--iterations", "5", "--save", str(path)]) == 130
    assert capsys.readouterr().err == "interrupted\n"
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.npz"]


# --- 19, 20. the install hint, the help -------------------------------------------------------------

def test_no_install_hint_pulls_an_unpinned_torch(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.delitem(sys.modules, "impls.backends.torch", raising=False)
    with pytest.raises(impls.BackendNotInstalled) as e:
        impls.get_backend("torch")
    assert 'pip install -c constraints.txt -e ".[torch]"' in str(e.value)
    texts = [p.read_text(encoding="utf-8") for folder in ("compare", "impls", "docs")
             for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".md")]
    texts.append((ROOT / "README.md").read_text(encoding="utf-8"))
    assert not any("install 'backprop-compare[" in t or "install backprop-compare[" in t for t in texts)


@pytest.mark.slow
def test_help_names_the_command_as_typed_and_shows_the_defaults():
    out = cli("train", "--help")
    assert out.returncode == 0 and out.stdout.startswith("usage: python -m compare train "), out.stdout
    for default in ("(default: tanh)", "(default: float64)", "(default: numpy)"):
        assert default in " ".join(out.stdout.split()), out.stdout
    script = shutil.which("backprop-compare")
    if script is not None:
        out = run_process([script, "--help"], capture_output=True, text=True, timeout=300)
        assert out.returncode == 0 and out.stdout.startswith("usage: backprop-compare "), out.stdout


def test_every_flag_with_a_default_says_it_in_its_help():
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    missing = [f"{name} {action.option_strings[0]}" for name, parser in commands.items()
               for action in parser._actions
               if action.option_strings and action.default not in (None, False, argparse.SUPPRESS)
               and "default" not in (action.help or "")]
    assert missing == []
