"""`check` on week 4: the course's W4A1 notebook (2021 and v4a) and W4A2's models graded function by function at
L = 1 … 4; each named mistake in a planted file; both gradient-key conventions; a class of weeks 3 and 4."""
import csv
import functools
import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from compare.cli import main
from compare.codec import decode
from compare.teach.check import check_file
from compare.teach.check import week4, week4_mistakes
from compare.teach.check.notebook import read
from impls.backends import numpy_deep

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "tests" / "notebooks"
STUDENTS = ROOT / "tests" / "students"


@functools.lru_cache(maxsize=None)
def graded(path):
    return check_file(path)


def verdicts(result):
    return {n: v for n, v in result.functions.items() if not v.startswith("not graded")}


@pytest.mark.parametrize("path, version, convention", [
    (NOTEBOOKS / "week4" / "W4A1_2021.ipynb", "2021+ (it imports public_tests)", "dA{l}"),
    (NOTEBOOKS / "week4" / "W4A1_v4a.ipynb", "v4a or older", "dA{l+1}"),
    (STUDENTS / "week4_right.py", "2021+ (it imports public_tests)", "dA{l}"),
    (STUDENTS / "week4_v5_keys.py", "2021+ (it imports public_tests)", "dA{l+1}"),
])
def test_a_correct_week4_file_gets_full_marks_at_every_depth(path, version, convention, capsys):
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "week-4 functions" in out and "L = 1, 2, 3, 4" in out
    assert len(re.findall(r"^  \w+ +ok$", out, re.M)) == 10 and "Points: 10 of 10" in out
    assert f"Course version: {version}" in out
    assert f"L_model_backward stores ∂J/∂A_l under {convention}" in out and "both are accepted" in out
    result = graded(path)
    assert result.ok and result.assignment == "week 4" and result.largest_error < 1e-12
    assert len(result.errors) > 100  # every array of every function at four depths was compared


def test_the_notebooks_magics_helper_imports_saved_errors_and_test_calls_do_not_stop_the_grading():
    notebook = nbformat.read(str(NOTEBOOKS / "week4" / "W4A1_2021.ipynb"), as_version=4)
    sources = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    assert "%matplotlib inline" in sources and "from dnn_utils import" in sources
    assert "L_model_backward_test(L_model_backward)" in sources
    assert any(o.get("output_type") == "error" for c in notebook.cells for o in c.get("outputs", []))
    assert graded(NOTEBOOKS / "week4" / "W4A1_2021.ipynb").ok


def test_the_older_course_updates_in_place_and_that_is_a_note():
    result = graded(NOTEBOOKS / "week4" / "W4A1_v4a.ipynb")
    assert result.functions["update_parameters"] == "ok"
    assert any("update_parameters changes the caller's parameters in place" in n for n in result.notes)


def test_the_application_notebooks_models_are_graded_on_the_courses_helpers():
    result = graded(NOTEBOOKS / "week4" / "W4A2_2021.ipynb")
    assert verdicts(result) == {"two_layer_model": "ok", "L_layer_model": "ok"} and result.points == 2


def test_a_wrong_model_fails(tmp_path):
    notebook = nbformat.read(str(NOTEBOOKS / "week4" / "W4A2_2021.ipynb"), as_version=4)
    cell = next(c for c in notebook.cells if "def L_layer_model" in c.source)
    cell.source = cell.source.replace("update_parameters(parameters, grads, learning_rate)",
                                      "update_parameters(parameters, grads, 0.0075)")
    nbformat.write(notebook, str(tmp_path / "W4A2.ipynb"))
    result = check_file(tmp_path / "W4A2.ipynb")
    assert result.functions["two_layer_model"] == "ok"
    assert result.functions["L_layer_model"].startswith("WRONG: at L = 3") and "differs" in \
        result.functions["L_layer_model"]


MISTAKES = {  # file: (the function, words of its verdict)
    "week4_hardcoded_w3.py": ("L_model_forward", "hard-coded as parameters['W3'] (and b3): right at L = 3 only"),
    "week4_top_da.py": ("L_model_backward", "feeds the top layer's dA to every hidden layer"),
    "week4_caches_negative.py": ("L_model_backward", "reads the caches as caches[-l]"),
    "week4_sigmoid_for_relu.py": ("linear_activation_backward", "uses the sigmoid's derivative (sigmoid_backward)"),
    "week4_db_float.py": ("linear_backward", "db is a number, not an array of shape (1, 1)"),
    "week4_output_linear.py": ("L_model_backward", "through linear_backward without its activation"),
    "week4_dal_over_m.py": ("L_model_backward", "divides dAL by m, and linear_backward divides by m again"),
    "week4_notebook_global.py": ("L_model_backward", "reads the notebook variable `parameters`, which is not an "
                                                     "argument"),
    "week4_dw_wrong_layer.py": ("L_model_backward", "layer 1's dW is stored under 'dW0', the wrong layer"),
    "week4_non_finite.py": ("compute_cost", "the cost is complex"),
}


@pytest.mark.parametrize("name", MISTAKES)
def test_each_named_mistake_is_found_and_named_and_the_other_functions_pass(name):
    function, words = MISTAKES[name]
    result = graded(STUDENTS / name)
    assert not result.ok and result.first == function
    assert words in result.functions[function], result.functions[function]
    blamed = {n for n, v in verdicts(result).items() if v != "ok"}
    calls = {"linear_backward": {"linear_activation_backward", "L_model_backward"},
             "linear_activation_backward": {"L_model_backward"}, "compute_cost": {"update_parameters"}}
    assert blamed <= {function} | calls.get(function, set()), blamed
    for other in blamed - {function}:  # a caller is told to fix what it calls first, or has its own mistake
        assert "fix that first" in result.functions[other] or "fix those first" in result.functions[other] or \
            function == "compute_cost"


def test_the_top_layers_da_passes_at_two_layers_and_fails_at_three():
    result = graded(STUDENTS / "week4_top_da.py")
    assert result.functions["L_model_backward"].startswith("WRONG: at L = 3")


def test_nan_weights_and_a_complex_cost_never_pass():
    result = graded(STUDENTS / "week4_non_finite.py")
    assert "contains NaN or infinite values" in result.functions["update_parameters"]
    assert result.functions["compute_cost"].startswith("WRONG")


@pytest.mark.parametrize("name, function, words", [
    ("W4A1_2021_hardcoded_w3.ipynb", "L_model_forward", "KeyError: 'W3' at line 11 of code cell 11"),
    ("W4A1_2021_notebook_global.ipynb", "L_model_backward", "(the notebook sets it at line 1 of code cell 4, "
                                                            "which check does not run)"),
])
def test_a_planted_mistake_in_the_course_notebook_is_named(name, function, words, capsys):
    assert main(["check", str(NOTEBOOKS / "week4" / name)]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert f"{function} WRONG: at L = 1" in out and words in out
    assert "Points: 9 of 10" in out


def test_the_shortcut_dzl_equals_al_minus_y_passes_on_consistent_caches(tmp_path):
    text = (STUDENTS / "week4_right.py").read_text()
    old = '    dA_prev_temp, dW_temp, db_temp = linear_activation_backward(dAL, current_cache, "sigmoid")\n'
    assert old in text
    text = text.replace(old, '    dA_prev_temp, dW_temp, db_temp = linear_backward(AL - Y, current_cache[0])\n')
    (tmp_path / "shortcut.py").write_text(text)
    assert check_file(tmp_path / "shortcut.py").ok


def test_the_problems_have_widths_that_all_differ_o1_weights_nonzero_biases_and_consistent_caches():
    calls, inputs, problems = week4.build(0, set(week4.FUNCTIONS))
    for L in week4.DEPTHS:
        p = problems[f"L{L}"]
        assert p["L"] == L and len(set(p["dims"])) == L + 1 and p["dims"][-1] == 1
        assert all(np.all(p["params"][f"b{l}"] != 0) for l in range(1, L + 1))
        assert all(np.abs(p["params"][f"W{l}"]).max() > 0.3 for l in range(1, L + 1))
        (_, Z), = p["caches"][-1:]
        assert np.allclose(p["AL"], 1 / (1 + np.exp(-Z)))  # AL = σ(ZL): dZL = AL − Y is right
    assert {c["id"] for c in calls if c["function"] == "L_model_backward"} == {f"L_model_backward.{t}" for t in
                                                                              ("L1", "L2", "L3", "L4", "square")}


def test_the_mistakes_switched_off_are_the_reference():
    calls, inputs, problems = week4.build(1, set())
    for p in problems.values():
        mine = week4_mistakes.backward(p["AL"], p["Y"], p["caches"])
        want = numpy_deep.L_model_backward(p["AL"], p["Y"], p["caches"])
        assert all(np.allclose(mine[k], want[k], rtol=1e-12) for k in want if k[:2] in ("dW", "db"))


def test_which_assignment_a_file_is_comes_from_the_functions_it_defines():
    assert week4.is_week4(week4.defined_functions(read(NOTEBOOKS / "week4" / "W4A2_2021.ipynb")))
    assert week4.is_week4(week4.defined_functions(read(STUDENTS / "week4_right.py")))
    assert not week4.is_week4(week4.defined_functions(read(NOTEBOOKS / "W3A1_2021.ipynb")))
    assert not week4.is_week4(week4.defined_functions(read(STUDENTS / "right_course.py")))


def test_a_class_of_week3_and_week4_files_is_graded_each_by_its_own_assignment(tmp_path, capsys):
    folder = tmp_path / "class"
    folder.mkdir()
    for source in (STUDENTS / "right_course.py", STUDENTS / "week4_right.py", STUDENTS / "week4_top_da.py",
                   NOTEBOOKS / "week4" / "W4A1_2021_hardcoded_w3.ipynb"):
        (folder / source.name).write_bytes(source.read_bytes())
    code = main(["check", str(folder), "--csv", str(tmp_path / "g.csv"), "--json", str(tmp_path / "g.json")])
    out = capsys.readouterr().out
    assert code == 1 and "4 files: 2 pass, 2 fail, 0 cannot be graded; 44 of 46 points" in out
    rows = {Path(r["file"]).name: r for r in csv.DictReader((tmp_path / "g.csv").open())}
    assert (rows["right_course.py"]["points"], rows["right_course.py"]["max_points"]) == ("16", "16")
    assert (rows["week4_right.py"]["points"], rows["week4_right.py"]["max_points"]) == ("10", "10")
    assert rows["week4_top_da.py"]["first_wrong"] == "L_model_backward"
    assert rows["week4_top_da.py"]["hint"].startswith("linear_activation_backward(grads[\"dA\" + str(l + 1)]")
    files = {Path(f["file"]).name: f for f in json.loads((tmp_path / "g.json").read_text())["files"]}
    assert files["right_course.py"]["assignment"] == "week 3" and files["week4_right.py"]["assignment"] == "week 4"
    assert set(files["right_course.py"]) == set(files["week4_right.py"])


def test_grade_globals_in_a_week4_notebook_grades_its_functions_in_process(monkeypatch):
    from compare.teach.check import grade
    from compare.teach.check.course import FOLDER
    monkeypatch.syspath_prepend(str(FOLDER))  # dnn_utils, beside the notebook in the course
    namespace = {"__name__": "notebook"}
    source = (STUDENTS / "week4_top_da.py").read_text().replace("from public_tests import *", "")
    exec(compile(source, str(STUDENTS / "week4_top_da.py"), "exec"), namespace)
    result = grade(namespace)
    assert result.assignment == "week 4" and result.points == 9
    assert "feeds the top layer's dA to every hidden layer" in result.functions["L_model_backward"]
    assert "L_model_backward" in str(result) and "Points: 9 of 10" in str(result)


@pytest.mark.parametrize("name, words", [
    ("week4_hangs_in_forward.py", "of CPU time in L_model_forward without finishing"),  # or the wall clock, if busy
    ("week4_exits_in_forward.py", "Ended the grading process in L_model_forward with exit status 0"),
    ("week4_kills_its_parent.py", "stopped in L_model_forward: the process that supervises it was sent SIGTERM, "
                                  "not by check"),
])
def test_a_function_that_hangs_exits_or_kills_fails_alone_and_the_others_are_graded(name, words):
    result = check_file(STUDENTS / name, timeout=1)
    assert (result.points, result.max_points, result.first) == (9, 10, "L_model_forward")
    verdict = result.functions["L_model_forward"]
    assert verdict.startswith("WRONG: ") and (words in verdict or "did not finish within" in verdict.lower()), verdict
    assert "out of memory" not in verdict
    assert all(v == "ok" for n, v in verdicts(result).items() if n != "L_model_forward"), result.functions
    assert "Points: 9 of 10" in str(result)


def test_a_function_that_replaces_numpy_dot_while_it_runs_fails_alone_and_the_later_calls_are_not_blamed():
    result = graded(STUDENTS / "week4_patches_numpy_inside.py")
    assert (result.points, result.max_points, result.first) == (9, 10, "L_model_forward")
    verdict = result.functions["L_model_forward"]
    assert verdict.startswith("WRONG: at L = 1 (") and "replaces numpy.dot while it runs" in verdict, verdict
    assert all(v == "ok" for n, v in verdicts(result).items() if n != "L_model_forward"), result.functions


def test_each_call_that_replaces_numpy_names_is_recorded_and_the_originals_are_back_for_the_next_call():
    from compare.teach.check.sandbox import run_calls
    dot, seed = np.dot, np.random.seed

    def patches(x):
        np.dot, np.random.seed = (lambda a, b: a), print
        return np.dot(x, x)

    def multiplies(x):
        return np.dot(x, x)
    calls = [{"id": i, "function": f, "args": [[{"array": "x"}]]} for i, f in (("a", "patches"), ("b", "multiplies"))]
    try:
        records, arrays = run_calls({"patches": patches, "multiplies": multiplies}, calls, {"x": np.eye(2) * 3})
    finally:
        np.dot, np.random.seed = dot, seed
    assert records["a"]["replaced"] == ["numpy.dot", "numpy.random.seed"] and "replaced" not in records["b"]
    assert decode(records["b"]["value"], arrays).tolist() == [[9, 0], [0, 9]]


def test_a_child_that_ends_with_no_answer_after_its_last_call_names_no_function_and_grades_none(monkeypatch):
    from compare.teach.check import checking, runner
    monkeypatch.setattr(checking, "run_in_child", lambda *a, **k: runner.Outcome(failure=("garbled", "cut"),
                                                                                  running="done"))
    result = check_file(STUDENTS / "week4_right.py")
    assert (result.points, result.max_points, result.first) == (0, 10, "process")
    assert set(verdicts(result).values()) == {"no answer (below)"}  # never WRONG: none was graded
    assert "Your code did not answer:\n  The process's answer could not be read (cut)" in str(result)


def test_the_docs_quote_the_real_output_for_the_course_notebook(capsys):
    text = (ROOT / "docs" / "check-week4.md").read_text()
    block = text.split("$ python -m compare check tests/notebooks/week4/W4A1_2021.ipynb\n", 1)[1].split("```", 1)[0]
    main(["check", str(NOTEBOOKS / "week4" / "W4A1_2021.ipynb")])
    assert block.rstrip("\n") == capsys.readouterr().out.rstrip("\n")
