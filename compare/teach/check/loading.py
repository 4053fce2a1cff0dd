"""How the grading child loads a student's code (sandbox.py runs it; only the standard library is used): the
defining statements of each unit in order, a failing one noted and the rest run; `import X` of a module not
loaded yet bound lazily; this project's packages refused; a classmate's module never found; the course's
helpers before the student's folder, and its test modules, when nowhere else, empty."""
import ast
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import inspect
import linecache
import sys
import traceback
import types


def last_line(error):
    try:
        return traceback.format_exception_only(type(error), error)[-1].strip()
    except BaseException:  # noqa: BLE001 - a student's exception whose str() raises
        return type(error).__name__


class Blocked(importlib.abc.MetaPathFinder):
    """This project's own packages: a graded file that imported them would be graded on the project's code."""

    def __init__(self, names):
        self.names = frozenset(names)

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {name!r} here: check does not let the code it grades import "
                                      f"this project's own implementation ({', '.join(sorted(self.names))})",
                                      name=name)
        return None


class Folder(importlib.abc.MetaPathFinder):
    """Top-level modules from one folder, except `hidden` ones: a classmate's file is never importable."""

    def __init__(self, folder, hidden=()):
        loaders = [(importlib.machinery.ExtensionFileLoader, importlib.machinery.EXTENSION_SUFFIXES),
                   (importlib.machinery.SourceFileLoader, importlib.machinery.SOURCE_SUFFIXES)]
        self.finder = importlib.machinery.FileFinder(folder, *loaders)
        self.hidden = frozenset(hidden)

    def find_spec(self, name, path=None, target=None):
        if path is None and name not in self.hidden:
            return self.finder.find_spec(name, target)
        return None


class CourseTests(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """The course's test-case modules, when no folder has them: empty modules. Only the notebook's top-level
    test calls use them, and check does not run those."""

    def __init__(self, names):
        self.names = frozenset(names)

    def find_spec(self, name, path=None, target=None):
        if path is None and name in self.names:
            return importlib.machinery.ModuleSpec(name, self)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__all__ = []
        module.__doc__ = "The course's tests: check grades the functions itself and does not run them."


class LazyModule(types.ModuleType):
    """A module a graded file imports with `import X` (or `import X.Y as Z`), imported when first used: sklearn
    or matplotlib take a second of CPU time to import, and graded functions seldom use them. Its first use
    binds the real module in the file's namespace."""

    def __init__(self, name, modules, namespace, key):
        super().__init__(name)
        self.__dict__["_lazy"] = (modules, namespace, key)

    def __getattr__(self, attr):
        modules, namespace, key = self.__dict__["_lazy"]
        for name in modules:
            module = importlib.import_module(name)
        real = sys.modules[self.__name__] if self.__name__ in sys.modules else module
        if namespace.get(key) is self:
            namespace[key] = real
        return getattr(real, attr)


def _import_lazily(node, namespace):
    """Bind the names of an `import` statement to LazyModules, if none of its modules is loaded yet; False
    when it should run as it is. A module that does not exist fails here, as the statement would."""
    if not isinstance(node, ast.Import) or any(a.name.partition(".")[0] in sys.modules for a in node.names):
        return False
    for alias in node.names:
        if importlib.util.find_spec(alias.name.partition(".")[0]) is None:
            raise ModuleNotFoundError(f"No module named {alias.name.partition('.')[0]!r}")
    for alias in node.names:
        key = alias.asname or alias.name.partition(".")[0]
        bound = alias.name if alias.asname else alias.name.partition(".")[0]
        previous = namespace.get(key)
        earlier = previous.__dict__["_lazy"][0] if isinstance(previous, LazyModule) and previous.__name__ == bound \
            else []
        namespace[key] = LazyModule(bound, earlier + [alias.name], namespace, key)
    return True


def load(units, name="student"):
    """(namespace, record): run each unit's defining statements in order; a statement that fails (an import
    of a module that is not installed, a name from a notebook cell) is noted, and the others still run."""
    module = types.ModuleType(name)
    sys.modules[name] = module  # as an import would: dataclasses look the module up there
    namespace, failed = vars(module), []
    for number, unit in enumerate(units):
        source = unit["source"]
        linecache.cache[unit["filename"]] = (len(source), None, source.splitlines(True), unit["filename"])
        body = ast.parse(source, unit["filename"]).body
        for index in unit["keep"]:
            try:
                if not _import_lazily(body[index], namespace):
                    exec(compile(ast.Module([body[index]], []), unit["filename"], "exec"), namespace)
            except BaseException as e:  # noqa: BLE001 - even exit(): this statement is noted, the rest goes on
                failed.append({"unit": number, "index": index, "error": last_line(e), "type": type(e).__name__})
    functions = {n: str(_signature(f)) for n, f in namespace.items()
                 if inspect.isfunction(f) and f.__module__ == name}
    return namespace, {"status": "ok", "functions": functions, "failed": failed}


def _signature(f):
    try:
        return inspect.signature(f)
    except (TypeError, ValueError):
        return "(...)"
