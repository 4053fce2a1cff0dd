"""`check` on what students hand in: the course's week-3 notebook as downloaded (three course versions, the
untouched templates), its helper modules, notebook variables, prints; and `grade` inside a notebook."""
import itertools
import json
import re
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from compare.cli import main
from compare.teach.check import check_file, grade
from compare.teach.check.course import FOLDER as COURSE
from compare.teach.check.notebook import python_source, read

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "tests" / "notebooks"
STUDENTS = ROOT / "tests" / "students"
VERSIONS = {"W3_v5.ipynb": "v5/v6 (compute_cost(A2, Y, parameters))",
            "W3_v6c_colab.ipynb": "v5/v6 (compute_cost(A2, Y, parameters))",
            "W3A1_2021.ipynb": "2021+ (compute_cost(A2, Y))"}


@pytest.mark.parametrize("name", VERSIONS)
def test_the_course_notebook_passes_in_each_version_with_its_magics_shell_lines_and_test_calls(name, capsys):
    notebook = nbformat.read(str(NOTEBOOKS / name), as_version=4)
    sources = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    assert "%matplotlib inline" in sources and "from testCases_v2 import *" in sources  # as the course has them
    assert any(o.get("output_type") == "error" for c in notebook.cells for o in c.get("outputs", []))
    assert main(["check", str(NOTEBOOKS / name)]) == 0
    out = capsys.readouterr().out
    assert f"Course version: {VERSIONS[name]}" in out
    assert "Points: 16 of 16" in out and len(re.findall(r"^  [FB]\d .* ok", out, re.M)) == 10
    assert len(re.findall(r"^  \w+ +ok$", out, re.M)) == 6  # layer_sizes ... predict


def test_a_colab_notebook_notes_the_lines_that_cannot_run_here():
    result = check_file(NOTEBOOKS / "W3_v6c_colab.ipynb")
    assert result.ok
    assert any("from google.colab import drive" in n and "No module named 'google'" in n for n in result.notes)


@pytest.mark.parametrize("old, new, first, words", [
    ("    Z1 = np.dot(W1, X) + b1", "    Z1 = np.dot(W1, X)", "F1", "b1 is missing"),
    ("    dZ1 = np.multiply(np.dot(W2.T, dZ2), 1 - np.power(A1, 2))",
     "    dZ1 = np.multiply(np.dot(W2.T, dZ2), 1 - np.power(cache['Z1'], 2))", "B4", "Z1 where A1 belongs"),
    ("    cost = - np.sum(logprobs) / m", "    cost = np.sum(logprobs) / m", "compute_cost", "the sign is wrong"),
    ("    n_h = 4", "    n_h = 5", "layer_sizes", "n_h = 4"),
    ("    W1 = W1 - learning_rate * dW1", "    W1 = W1 + learning_rate * dW1", "update_parameters",
     "W1 = W1 - learning_rate * dW1"),
])
@pytest.mark.parametrize("version", ["W3_v5.ipynb", "W3A1_2021.ipynb"])
def test_a_planted_mistake_in_the_notebook_is_named(tmp_path, version, old, new, first, words):
    notebook = nbformat.read(str(NOTEBOOKS / version), as_version=4)
    cells = [c for c in notebook.cells if c.cell_type == "code" and old in c.source]
    assert len(cells) == 1
    cells[0].source = cells[0].source.replace(old, new)
    nbformat.write(notebook, str(tmp_path / version))
    result = check_file(tmp_path / version)
    assert result.first == first, (result.wrong, result.functions)
    assert words in (result.problem + result.hint if result.wrong else result.functions[first])


def test_the_mistakes_notebook_names_each_mistake_and_what_broke_nn_model(capsys):
    assert main(["check", str(NOTEBOOKS / "W3A1_2021_mistakes.ipynb")]) == 1
    out = capsys.readouterr().out
    assert re.search(r"^F3 is wrong \(problem 1 of 3.*\): Z2 = W2 A1 \+ b2$", out, re.M)
    assert "Also wrong: B6" in out and "lost keepdims" in out
    assert re.search(r"^  compute_cost +WRONG: .*the sign is wrong", out, re.M)
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  nn_model"))
    wrapped = list(itertools.takewhile(lambda line: line.startswith(" " * 26), lines[start + 1:]))  # long ones wrap
    nn_model = " ".join(line.strip() for line in lines[start:start + 1 + len(wrapped)])
    assert all(len(line) <= 120 for line in lines[start:start + 1 + len(wrapped)])
    assert "b1 had become (4, 4), not (4, 1), because db1 has shape (4,)" in nn_model and "(see B6)" in nn_model
    assert "on nn_model's problem: n_x=" in nn_model and "at line 23 of code cell 11" in nn_model


def test_the_untouched_v5_template_grades_each_none_and_names_the_assert():
    result = check_file(NOTEBOOKS / "W3_v5_template.ipynb")
    assert [result.status[eq] for eq in result.status] == ["WRONG"] * 10
    assert result.problem.startswith("Z1 is None: the template's `None` is still there")
    assert "at line 29 of code cell 10: assert(A2.shape == (1, X.shape[1]))" in result.problem
    assert "that line is an assert" in result.problem and "never reached" not in str(result)
    assert {w["name"] for w in result.wrong} == set(result.status)  # A1, Z2, A2, dZ2 ... each said to be None
    assert result.points == 0


def test_the_untouched_2021_template_says_which_arrays_are_never_assigned():
    result = check_file(NOTEBOOKS / "W3A1_2021_template.ipynb")
    assert set(result.status.values()) == {"WRONG"} and result.points == 0
    assert result.problem.startswith("Z1 is never assigned in forward_propagation: its line is missing, or still a "
                                     "comment")
    assert "NameError: name 'A2' is not defined" in result.problem


def test_notebook_cells_are_read_in_order_later_definitions_replacing_earlier(tmp_path):
    notebook = nbformat.read(str(NOTEBOOKS / "W3A1_2021.ipynb"), as_version=4)
    forward = next(c for c in notebook.cells if c.cell_type == "code" and "def forward_propagation" in c.source)
    wrong = nbformat.v4.new_code_cell(forward.source.replace("A1 = np.tanh(Z1)", "A1 = Z1"))
    notebook.cells.insert(notebook.cells.index(forward), wrong)  # an old wrong copy, above the cell that fixed it
    nbformat.write(notebook, str(tmp_path / "fixed.ipynb"))
    assert check_file(tmp_path / "fixed.ipynb").ok
    notebook.cells.remove(wrong)
    notebook.cells.append(wrong)  # the wrong copy last: it is what the notebook defines when run top to bottom
    nbformat.write(notebook, str(tmp_path / "broken.ipynb"))
    assert check_file(tmp_path / "broken.ipynb").equation == "F2"


def test_a_cell_that_is_not_python_is_noted_and_the_rest_graded(tmp_path):
    notebook = nbformat.read(str(NOTEBOOKS / "W3A1_2021.ipynb"), as_version=4)
    notebook.cells += [nbformat.v4.new_code_cell("%%bash\nls -l"), nbformat.v4.new_code_cell("def broken(:\n    pass")]
    nbformat.write(notebook, str(tmp_path / "extra.ipynb"))
    result = check_file(tmp_path / "extra.ipynb")
    assert result.ok
    assert any("is not Python (a %%bash cell)" in n for n in result.notes)
    assert any("is not Python (SyntaxError: " in n for n in result.notes)


@pytest.mark.parametrize("text, python", [
    ("%matplotlib inline\nx = 1", "pass\nx = 1"),
    ("!pip install h5py\n  !ls", "pass\n  pass"),
    ("files = !ls\nnp.dot?\n?np.sum", "pass\npass\npass"),
    ("print('a'\n      % (1,))", "print('a'\n      % (1,))"),              # a % inside brackets is Python
    ('s = """\n%not a magic\n!nor this\n"""', 's = """\n%not a magic\n!nor this\n"""'),  # nor inside a string
    ("x = 5 % 3\ny = x != 2", "x = 5 % 3\ny = x != 2"),
    ("%%time\nz = 1", "\nz = 1"),
])
def test_ipython_syntax_is_set_aside_line_for_line(text, python):
    assert python_source(text)[0] == python + "\n"


def test_what_runs_of_a_notebook_is_its_definitions_not_its_experiments(tmp_path):
    program = read(NOTEBOOKS / "W3A1_2021.ipynb")
    ran = {name for unit in program.units for s in unit.statements for name in s.names}
    assert {"np", "copy", "plt", "sklearn", "sigmoid", "load_planar_dataset", "forward_propagation", "nn_model",
            "predict"} <= ran
    assert {"parameters", "clf", "grads", "cache", "t_X"} <= set(program.variables)  # set by cells that do not run
    assert not {"parameters", "clf", "grads", "cache"} & ran


# --- the course's helper modules ------------------------------------------------------------------------

def _course_module(name):
    import importlib
    sys.path.insert(0, str(COURSE))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(COURSE))


def test_planar_utils_gives_the_courses_flower_and_seeds_the_global_generator():
    from impls.io.datasets import planar
    planar_utils = _course_module("planar_utils")
    X, Y = planar_utils.load_planar_dataset()
    after = np.random.rand()
    ref_X, ref_Y = planar()
    assert np.array_equal(X, ref_X) and np.array_equal(Y, ref_Y) and Y.dtype == np.uint8
    rng = np.random.RandomState(1)
    rng.randn(800)  # the course's load draws 800 normals from the seed-1 stream, then leaves it there
    assert after == rng.rand()
    assert planar_utils.sigmoid(0.0) == 0.5 and np.allclose(planar_utils.sigmoid(np.array([-1.0, 2.0])),
                                                              1 / (1 + np.exp(-np.array([-1.0, 2.0]))))


def test_the_week4_activation_helpers_behave_as_the_courses():
    dnn_utils = _course_module("dnn_utils")
    Z, dA = np.array([[-1.0, 0.0, 2.0]]), np.array([[3.0, 4.0, 5.0]])
    A, cache = dnn_utils.sigmoid(Z)
    assert cache is Z and np.allclose(A, 1 / (1 + np.exp(-Z)))
    A, cache = dnn_utils.relu(Z)
    assert cache is Z and np.array_equal(A, [[0.0, 0.0, 2.0]])
    dZ = dnn_utils.relu_backward(dA, Z)
    assert np.array_equal(dZ, [[0.0, 0.0, 5.0]]) and np.array_equal(dA, [[3.0, 4.0, 5.0]])  # Z <= 0 -> 0; dA kept
    s = 1 / (1 + np.exp(-Z))
    assert np.allclose(dnn_utils.sigmoid_backward(dA, Z), dA * s * (1 - s))
    for name in ("dnn_utils_v2", "dnn_app_utils_v3"):
        module = _course_module(name)
        assert module.relu is dnn_utils.relu and module.sigmoid_backward is dnn_utils.sigmoid_backward


def test_the_cat_loaders_say_the_courses_data_files_are_needed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for module, loader in (("lr_utils", "load_dataset"), ("dnn_app_utils_v3", "load_data")):
        with pytest.raises(FileNotFoundError, match="datasets/train_catvnoncat.h5: the course's cat pictures are "
                                                    "not part of backprop-compare"):
            getattr(_course_module(module), loader)()


def test_a_file_with_every_course_import_loads(tmp_path):
    imports = ("from testCases_v2 import *\nfrom testCases import *\nfrom testCases_v3 import *\n"
               "from testCases_v4a import *\nfrom public_tests import *\nfrom test_utils import *\n"
               "from dnn_utils import relu, relu_backward\nfrom dnn_utils_v2 import sigmoid_backward\n"
               "from dnn_app_utils_v3 import *\nfrom lr_utils import load_dataset\nimport sklearn.linear_model\n"
               # last, as a week-3 file has it: dnn_utils' sigmoid returns (A, cache), planar_utils' returns A
               "from planar_utils import plot_decision_boundary, sigmoid, load_planar_dataset, load_extra_datasets\n")
    source = (STUDENTS / "right_course.py").read_text()
    source = source.replace("import numpy as np\n", "import numpy as np\n" + imports)
    path = tmp_path / "student.py"
    path.write_text(source.replace("def sigmoid(x):\n    return 1 / (1 + np.exp(-x))\n", ""))
    result = check_file(path)
    assert result.ok and not result.notes, result.notes


# --- notebook variables, prints, course versions --------------------------------------------------------

def test_a_function_reading_a_notebook_variable_is_told_so():
    result = check_file(STUDENTS / "notebook_global.py")
    verdict = result.functions["compute_cost"]
    assert verdict.startswith("WRONG: reads the notebook variable `parameters`, which is not an argument (the file "
                              "sets it at line 95, which check does not run)")
    assert result.functions["nn_model"].startswith("WRONG: compute_cost reads the notebook variable `parameters`")


def test_prints_inside_graded_functions_and_an_in_place_update_pass(capsys):
    result = check_file(STUDENTS / "in_place_update.py")
    assert result.ok and "dW1 =" in result.output and "updated, W1[0, 0] =" in result.output
    assert any("changes the caller's parameters in place" in n for n in result.notes)
    assert main(["check", str(STUDENTS / "in_place_update.py")]) == 0
    assert "dW1 = [[" not in capsys.readouterr().out


def test_an_update_in_place_returning_none_is_a_note_not_a_failure(tmp_path):
    source = (STUDENTS / "in_place_update.py").read_text()
    path = tmp_path / "none.py"
    returned = "    print(\"updated, W1[0, 0] =\", parameters[\"W1\"][0, 0])\n    return parameters"
    path.write_text(source.replace(returned, "    pass").replace(
        "        parameters = update_parameters(parameters, grads)", "        update_parameters(parameters, grads)"))
    result = check_file(path)
    assert result.ok, result.functions
    assert any("updates the parameters in place and returns None" in n for n in result.notes)


def test_initialize_parameters_is_graded_by_the_course_version_the_file_follows(tmp_path):
    assert check_file(NOTEBOOKS / "W3A1_2021.ipynb").functions["initialize_parameters"] == "ok"  # the caller seeds
    verdict = check_file(STUDENTS / "assignment_wrong.py").functions["initialize_parameters"]
    assert "follows the v5/v6 course (compute_cost(A2, Y, parameters))" in verdict and "np.random.seed(2)" in verdict


# --- grading from inside a notebook -------------------------------------------------------------------

def test_grade_inside_a_notebook_shows_the_report_and_grades_every_function():
    namespace = {}
    exec(compile((STUDENTS / "right_course.py").read_text(), "<notebook cell>", "exec"), namespace)
    result = grade(namespace["forward_propagation"], namespace["backward_propagation"])
    assert result.ok and "All ten equations are right" in str(result) and not result.functions
    result = grade(namespace)
    assert result.ok and result.functions["nn_model"] == "ok" and result.points == 16
    printed = []
    result._repr_pretty_(type("Printer", (), {"text": lambda self, t: printed.append(t)})(), False)
    assert printed == [str(result)]
    with pytest.raises(ValueError, match="grade needs backward_propagation"):
        grade(namespace["forward_propagation"])


def test_the_json_of_a_notebook_class_keeps_what_each_printed(tmp_path, capsys):
    out = tmp_path / "grades.json"
    assert main(["check", str(NOTEBOOKS / "W3A1_2021.ipynb"), str(STUDENTS / "in_place_update.py"),
                 "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["files"]
    assert [r["verdict"] for r in rows] == ["pass", "pass"] and "dW1 =" in rows[1]["output"]
