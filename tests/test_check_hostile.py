"""`check` never gives false credit, and one file cannot fool or break a class: non-finite and complex answers,
None values, composite failures blamed on their cause, the project's own code, classmates, forged lines and
answers, odd paths, and the teacher's gradebook."""
import csv
import json
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest

from compare.cli import main
from compare.teach.check import check_file, grade
from compare.teach.check.grading import EQUATIONS

ROOT = Path(__file__).resolve().parents[1]
STUDENTS = ROOT / "tests" / "students"
HOSTILE = STUDENTS / "hostile"
CHECK = ROOT / "compare" / "teach" / "check"


def course(**changes):
    """The course's functions (right_course.py) in a namespace, some replaced: a notebook's globals()."""
    namespace = {}
    exec(compile((STUDENTS / "right_course.py").read_text(), str(STUDENTS / "right_course.py"), "exec"), namespace)
    namespace.update(changes)
    return namespace


@pytest.fixture
def own_temp(tmp_path, monkeypatch):
    """check's temporary folders go here, to be counted."""
    folder = tmp_path / "temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


# --- 6: NaN, infinities and complex numbers are never right -------------------------------------------

@pytest.mark.parametrize("bad", [float("nan"), float("inf"), np.complex128(0.6931 + 1000j), np.array([[0.6931]])])
def test_a_cost_that_is_not_a_finite_real_number_is_wrong(bad):
    result = grade(course(compute_cost=lambda A2, Y, parameters=None: bad))
    assert result.functions["compute_cost"].startswith("WRONG"), result.functions
    assert not result.ok


@pytest.mark.parametrize("factor", [np.nan, np.inf])
def test_updated_weights_that_are_not_finite_are_wrong_and_so_is_nn_model(factor):
    ns = course()
    right = ns["update_parameters"]
    ns["update_parameters"] = lambda p, g, learning_rate=1.2: {k: v * factor
                                                               for k, v in right(p, g, learning_rate).items()}
    result = grade(ns)
    assert "contains NaN or infinite values" in result.functions["update_parameters"]
    assert "contains NaN or infinite values" in result.functions["nn_model"]
    assert "update_parameters is wrong above: fix that first" in result.functions["nn_model"]


@pytest.mark.parametrize("where", ["Z1", "dW1"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, 1j])
def test_a_non_finite_or_complex_array_fails_its_equation(where, bad):
    ns = course()
    forward, backward = ns["forward_propagation"], ns["backward_propagation"]

    def spoiled_forward(X, parameters):
        A2, cache = forward(X, parameters)
        return A2, {**cache, "Z1": cache["Z1"] + bad} if where == "Z1" else cache

    def spoiled_backward(parameters, cache, X, Y):
        grads = backward(parameters, cache, X, Y)
        return {**grads, "dW1": grads["dW1"] + bad} if where == "dW1" else grads
    result = grade(spoiled_forward, spoiled_backward)
    eq = "F1" if where == "Z1" else "B5"
    assert result.status[eq] == "WRONG" and not result.ok
    problem = next(w["problem"] for w in result.wrong if w["name"] == eq)
    assert ("complex" if bad == 1j else "NaN or infinite") in problem


def test_no_comparison_in_the_grader_can_pass_a_nan():
    """NaN > tol is False: an error must be checked with `not error <= tol` or after a finiteness test."""
    for path in CHECK.glob("*.py"):
        text = path.read_text()
        assert not re.search(r"rel_error\([^()]*(\([^()]*\))*[^()]*\)\s*>", text), path.name
        assert not re.search(r"\)\s*>\s*CHECK_RTOL", text), path.name


def test_complex_cost_file_fails_in_its_child_process():
    result = check_file(STUDENTS / "complex_cost.py")
    assert result.functions["compute_cost"] == "WRONG: the cost is complex (0.9751+1000j): the course's values are " \
                                              "real; a log or a square root of a negative number, or a complex " \
                                              "literal, made it so"


# --- 7, 8, 9: an equation is ok only when its value matched; blame the cause --------------------------

def test_an_equation_is_never_ok_through_a_value_that_is_none(tmp_path, capsys):
    path = tmp_path / "student.py"
    path.write_text((STUDENTS / "right_course.py").read_text()
                    .replace("    dZ1 = np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))", "    dZ1 = None")
                    .replace("    dW1 = (1 / m) * np.dot(dZ1, X.T)", "    dW1 = None")
                    .replace("    db1 = (1 / m) * np.sum(dZ1, axis=1, keepdims=True)", "    db1 = None"))
    result = check_file(path)
    assert [result.status[eq] for eq in ("B1", "B2", "B3", "B4", "B5", "B6")] == ["ok"] * 3 + ["WRONG"] * 3
    assert "B4" not in result.seen
    assert main(["check", str(path), "--json", str(tmp_path / "g.json")]) == 1
    row = json.loads((tmp_path / "g.json").read_text())["files"][0]
    assert row["equations"]["B4"] == "WRONG"
    assert main(["check", str(path)]) == 1
    assert re.search(r"^  B4 .* WRONG$", capsys.readouterr().out, re.M)


def test_b1_and_b4_are_seen_through_the_gradients_only_when_those_match():
    def backward(parameters, cache, X, Y):  # no dZ2 or dZ1 by those names: B1, B4 are judged by the gradients
        m = X.shape[1]
        d2 = cache["A2"] - Y
        return {"dW2": d2 @ cache["A1"].T / m, "db2": d2.sum(axis=1, keepdims=True) / m,
                "dW1": None, "db1": None}
    result = grade(course()["forward_propagation"], backward)
    assert result.status["B1"] == "ok" and result.seen["B1"] == "dW2, db2"
    assert result.status["B4"] == "not checked" and "B4" not in result.seen
    assert "seen through dW1" not in str(result)


def test_only_dz1_left_none_is_blamed_on_b4_not_on_b5():
    result = check_file(STUDENTS / "none_dz1.py")
    assert result.equation == "B4" and result.problem.startswith("dZ1 is None: the template's `None` is still there")
    assert "(that line computes dW1: B5" in result.problem
    assert "dZ1 is (4, 13)" not in result.problem + result.hint


def test_nn_model_failing_after_a_lost_keepdims_names_b6_and_the_shape_it_caused():
    result = check_file(STUDENTS / "lost_keepdims_db1.py")
    assert result.equation == "B6"
    verdict = result.functions["nn_model"]
    assert "operands could not be broadcast" in verdict and "on nn_model's problem: n_x=" in verdict
    assert "b1 had become (4, 4), not (4, 1), because db1 has shape (4,) instead of (4, 1)" in verdict
    assert verdict.endswith("nn_model calls your other functions, and B6 is wrong above: fix that first")


# --- 10: the project's own implementation ----------------------------------------------------------------

def test_a_forward_that_replaces_numpy_dot_is_named_for_it_and_backward_is_not_blamed(tmp_path):
    text = (STUDENTS / "right_course.py").read_text()
    path = tmp_path / "patches_inside.py"
    patch = "    import numpy; numpy.dot = lambda a, b: a @ b + 1\n"
    path.write_text(text.replace("    cache = {", patch + "    cache = {", 1))
    result = check_file(path)
    assert [w["name"] for w in result.wrong] == ["forward_propagation"], result.wrong
    assert "forward_propagation replaces numpy.dot while it runs" in result.wrong[0]["problem"]
    assert all(v == "ok" for v in result.status.values()), result.status  # backward ran with NumPy's own dot


def test_a_file_that_imports_the_projects_implementation_gets_no_credit():
    result = check_file(STUDENTS / "uses_impls.py")
    assert not result.ok
    assert "this project's own implementation" in result.problem and "impls" in result.hint
    assert all(result.status[eq] != "ok" for eq in ("B1", "B2", "B3", "B4", "B5", "B6"))


# --- 11: one file cannot break another's grade or the run ---------------------------------------------

def test_a_class_with_hostile_files_grades_each_and_leaves_nothing_behind(tmp_path, own_temp, capsys):
    names = ["sklearn.py", "uses_sklearn.py", "background_writer.py", "forged_answer.py", "right_course.py"]
    folder = tmp_path / "class"
    folder.mkdir()
    for name in names:
        source = (HOSTILE / name) if (HOSTILE / name).exists() else (STUDENTS / name)
        (folder / name).write_text(source.read_text())
    gradebook = tmp_path / "grades.json"
    assert main(["check", str(folder), "--json", str(gradebook)]) == 1
    rows = {Path(r["file"]).name: r for r in json.loads(gradebook.read_text())["files"]}
    assert rows["uses_sklearn.py"]["verdict"] == "pass"  # its import sklearn.preprocessing is scikit-learn's
    assert rows["background_writer.py"]["verdict"] == "pass" and rows["right_course.py"]["verdict"] == "pass"
    forged = rows["forged_answer.py"]
    assert forged["verdict"] == "fail" and "Wrote an answer file of its own" in forged["wrong"][0]["problem"]
    assert rows["sklearn.py"]["verdict"] == "fail"
    assert list(own_temp.iterdir()) == []  # every check-* folder removed, the background writer's files with it
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)  # nothing written beside the students' files


# --- 13: no forged verdict lines ------------------------------------------------------------------------

def test_text_a_student_controls_is_escaped_and_never_starts_a_line(tmp_path, capsys):
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "alice.py").write_text((HOSTILE / "alice.py").read_text())
    forged_name = "x.py\nPASS   dave.py"
    (folder / forged_name).write_text((STUDENTS / "none_left.py").read_text())
    (folder / "bob.py").write_text((STUDENTS / "right_course.py").read_text())
    assert main(["check", str(folder), "--csv", str(tmp_path / "g.csv")]) == 1
    out = capsys.readouterr().out
    for line in out.splitlines():
        verdict = r"(PASS|FAIL|ERROR) +\d+/\d+  " + re.escape(str(folder)) + "/"
        assert re.match(verdict + r"|\d+ files: |CSV gradebook", line), repr(line)
    assert "\r" not in out and "\x1b" not in out
    assert "oops\\nPASS   16/16  alice.py\\r\\x1b[1A\\x1b[2KPASS" in out
    assert "x.py\\nPASS   dave.py" in out
    rows = list(csv.reader((tmp_path / "g.csv").read_text().splitlines()))
    assert len(rows) == 4 and all("\n" not in cell and "\r" not in cell for row in rows for cell in row)


def test_a_file_name_a_spreadsheet_would_run_is_quoted_in_the_csv(tmp_path, capsys):
    path = tmp_path / "=cmd.py"
    path.write_text((STUDENTS / "right_course.py").read_text())
    assert main(["check", str(path), "--csv", str(tmp_path / "g.csv")]) == 0
    rows = list(csv.reader((tmp_path / "g.csv").read_text().splitlines()))
    assert rows[1][0].startswith("'") or not rows[1][0].startswith("=")


# --- 15: each file once, and what was passed over is said -----------------------------------------------

def test_a_fifo_named_as_a_file_says_what_it_is(tmp_path, capsys):
    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)
    assert main(["check", str(fifo)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pipe.py: is a FIFO, not a file" in err


def test_a_folder_says_what_it_skipped_and_grades_a_file_named_thrice_once(tmp_path, capsys):
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "alice.py").write_text((STUDENTS / "right_course.py").read_text())
    (folder / "planar_utils.py").write_text("import numpy as np\n")
    os.mkfifo(folder / "fifo.py")
    (folder / "gone.ipynb").symlink_to(folder / "nowhere.ipynb")
    assert main(["check", str(folder), str(folder / "alice.py"), str(folder / "alice.py")]) == 0
    out = capsys.readouterr().out
    assert f"Note: skipped {folder / 'fifo.py'}: it is a FIFO, not a file" in out
    assert f"Note: skipped {folder / 'gone.ipynb'}: it is a link to nothing, not a file" in out
    assert f"Note: skipped {folder / 'planar_utils.py'}: the course's planar_utils.py, which the others may " \
           "import" in out
    assert f"Note: {folder / 'alice.py'} is named 3 times: graded once" in out
    assert out.splitlines()[-1].startswith("1 file: 1 pass, 0 fail, 0 cannot be graded; 16 of 16 points")


@pytest.mark.parametrize("flags, message", [
    (["--json", "grades.py"], "--json grades.py: a .py name would be graded as a submission next time"),
    (["--csv", "grades.ipynb"], "--csv grades.ipynb: a .ipynb name would be graded as a submission next time"),
    (["--json", "g.txt", "--csv", "g.txt"], "--json and --csv name the same file"),
])
def test_gradebook_destinations_that_would_cause_trouble_are_refused(tmp_path, monkeypatch, capsys, flags, message):
    monkeypatch.chdir(tmp_path)
    assert main(["check", str(STUDENTS / "right_course.py"), *flags]) == 2
    err = capsys.readouterr()
    assert err.out == "" and err.err.count("\n") == 1 and message in err.err
    assert list(tmp_path.iterdir()) == []


# --- 16: the teacher's gradebook --------------------------------------------------------------------------

def test_the_gradebook_has_a_row_per_file_points_and_the_same_keys_for_every_file(tmp_path, capsys):
    files = [STUDENTS / n for n in ("right_course.py", "lost_keepdims_db1.py", "syntax_error.py", "complex_cost.py")]
    gradebook, table = tmp_path / "g.json", tmp_path / "g.csv"
    assert main(["check", *map(str, files), "--json", str(gradebook), "--csv", str(table)]) == 2
    out = capsys.readouterr().out
    data = json.loads(gradebook.read_text())
    rows = data["files"]
    assert len({tuple(sorted(r)) for r in rows}) == 1  # the same keys, the ERROR row's too
    by_name = {Path(r["file"]).name: r for r in rows}
    assert [by_name[f.name]["verdict"] for f in files] == ["pass", "fail", "error", "fail"]
    assert by_name["right_course.py"]["points"] == by_name["right_course.py"]["max_points"] == 16
    assert by_name["lost_keepdims_db1.py"]["points"] == 14 and by_name["lost_keepdims_db1.py"]["first"] == "B6"
    assert by_name["syntax_error.py"]["points"] == 0 and "SyntaxError" in by_name["syntax_error.py"]["error"]
    right = by_name["right_course.py"]["largest_error"]
    assert 0 < right < 1e-13 and by_name["lost_keepdims_db1.py"]["largest_error"] > 0
    assert by_name["syntax_error.py"]["largest_error"] is None
    assert data["summary"] == {"pass": 1, "fail": 2, "error": 1, "points": sum(r["points"] for r in rows),
                               "max_points": sum(r["max_points"] for r in rows)}
    assert f"{data['summary']['points']} of {data['summary']['max_points']} points" in out.splitlines()[-3]
    table_rows = list(csv.DictReader(table.read_text().splitlines()))
    assert [r["file"] for r in table_rows] == [str(f) for f in files]
    keepdims = table_rows[1]
    assert (keepdims["verdict"], keepdims["points"], keepdims["max_points"], keepdims["first_wrong"]) == \
        ("fail", "14", "16", "B6")
    assert "lost keepdims" in keepdims["problem"] and keepdims["hint"] == "np.sum(dZ1, axis=1, keepdims=True) / m is " \
                                                                         "(4, 1), b1's shape"
    assert table_rows[3]["first_wrong"] == "compute_cost" and "complex" in table_rows[3]["problem"]
    assert table_rows[2]["verdict"] == "error" and table_rows[2]["points"] == "0"


def test_points_are_one_per_equation_and_one_per_function_that_passes():
    result = check_file(STUDENTS / "lost_keepdims_db1.py")
    assert result.points == 9 + 5 and result.max_points == 10 + 6
    assert result.points == sum(v == "ok" for v in result.status.values()) + \
        sum(v == "ok" for v in result.functions.values())
    assert set(EQUATIONS) == set(result.status)
