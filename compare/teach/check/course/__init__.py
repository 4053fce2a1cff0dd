"""Stand-ins for the helper modules the Deep Learning Specialization (course 1) ships beside its notebooks.

A student's notebook starts with `from planar_utils import sigmoid, load_planar_dataset`, `from dnn_utils
import relu_backward`, `from testCases_v2 import *`, `from public_tests import *`. The grading child puts
this folder on its import path, after the student's own folder (where the course's real files, if the
student kept them, come first), so that such a file loads and its functions call helpers that behave as
the course's do. Each module here says which published file it follows.

The test-case modules (TEST_MODULES) only feed the notebook's top-level test calls, which `check` does
not run: the child answers an import of one of them with an empty module (see sandbox.CourseTests).
"""
from pathlib import Path

FOLDER = Path(__file__).resolve().parent
# the helper modules written here, importable by a graded file under the course's names
HELPERS = ("planar_utils", "dnn_utils", "dnn_utils_v2", "dnn_app_utils_v3", "lr_utils")
# the course's test modules: weeks 2, 3 and 4, every version
TEST_MODULES = ("testCases", "testCases_v2", "testCases_v3", "testCases_v4", "testCases_v4a", "public_tests",
                "test_utils")
# the course's files that sit beside a notebook: in a class folder they are not submissions
COURSE_FILES = frozenset(HELPERS + TEST_MODULES)
