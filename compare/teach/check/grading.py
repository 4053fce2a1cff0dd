"""The ten equations graded one by one from what the student's forward_propagation and backward_propagation
returned (or held when they raised), against values computed here, in the grader's process. An equation is
ok only when a value it produced was compared and matched; each is graded on the student's own input to it,
so that one mistake is blamed once."""
import os
import re

import numpy as np

from compare.cli import one_line
from compare.codec import Opaque, Returned, decode
from compare.equations import BACKWARD as BACKWARD_EQS, EQUATIONS as TABLE, FORWARD as FORWARD_EQS, PRODUCED_BY
from compare.numerics import rel_error
from compare.tolerances import CHECK_RTOL
from impls.backends.numpy import sigmoid

from .mistakes import (EXITS, LINES, MISTAKES, PROJECT_IMPORT, Finding, describe_shape, describe_values,
                       exception_hint, replaced_text, shape_guide)
from .problems import course_grads

EQUATIONS = {e.id: e.text("tanh") for e in TABLE}  # the hidden layer of the course's week 3 is tanh
FORWARD = {e.yields: e.id for e in FORWARD_EQS}     # Z1 -> F1, ...: the arrays in the order they are computed
BACKWARD = {e.yields: e.id for e in BACKWARD_EQS}   # dZ2 -> B1, ...
GRADS = ("dW2", "db2", "dW1", "db1")
CALLS = {"forward": "forward_propagation", "backward": "backward_propagation"}
SIGNATURES = {"forward_propagation": ("X", "parameters"), "backward_propagation": ("parameters", "cache", "X", "Y")}


# --- one array against its right value ---------------------------------------------------------------

def _array(value):
    """`value` as a float64 array, or None if it is not an array of real numbers (None, complex, objects)."""
    if value is None or isinstance(value, (Opaque, complex)):
        return None
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        return None
    return array.astype(np.float64) if array.dtype.kind in "biuf" else None


def _not_numbers(name, got):
    """What to say when `got` is not an array of real numbers."""
    if got is None:
        return Finding(f"{name} is None: the template's `None` is still there"
                       + (f"; compute {name} in its place" if name.isidentifier() else ""))
    if isinstance(got, Opaque) and got.kind == "tensor_grad":
        return Finding(f"{name} is a torch tensor that requires grad: call .detach().numpy() on it "
                       "(the course's functions return NumPy arrays)")
    if isinstance(got, Opaque):
        return Finding(f"{name} is a {got.type} that cannot be read as an array of numbers"
                       + (f" ({one_line(got.error)})" if got.error else ""))
    if isinstance(got, complex) or (isinstance(got, np.ndarray) and got.dtype.kind == "c"):
        return Finding(f"{name} is complex ({_complex(got)}): the course's values are real; a log or a square "
                       "root of a negative number, or a complex literal, made it so")
    return Finding(f"{name} is not an array of numbers (a {type(got).__name__})")


def _complex(value):
    z = complex(np.asarray(value).flat[np.argmax(np.abs(np.imag(value)))]) if np.size(value) else 0j
    return f"{z.real:.4g}{z.imag:+.4g}j"


def _check(name, got, want, sizes, grade=None):
    """None if `got` is `want` to rounding, else a Finding: what is wrong with it. A NaN, an infinity or a
    complex number is never right; what was compared is recorded in `grade`."""
    arr = _array(got)
    if arr is None:
        return _not_numbers(name, got)
    if arr.shape != want.shape:
        return Finding(describe_shape(name, arr.shape, want.shape, sizes[2])
                       or f"{name} has shape {arr.shape}, expected {want.shape}")
    if not np.all(np.isfinite(arr)):
        return Finding(f"{name} contains NaN or infinite values")
    error = rel_error(arr, want)
    if grade is not None:
        grade.compared(error)
    if not error <= CHECK_RTOL:
        return describe_values(name, arr, want, sizes)
    return None


def _matches(got, want):
    arr = _array(got)
    return arr is not None and arr.shape == want.shape and bool(np.all(np.isfinite(arr))) and \
        rel_error(arr, want) <= CHECK_RTOL


def _usable(got, shape):
    """The student's array, if it can feed the next equation (the right shape, finite), else None."""
    arr = _array(got)
    return arr if arr is not None and arr.shape == shape and np.all(np.isfinite(arr)) else None


def kind_of(value):
    """What a value is, in words: "None", "a tuple"."""
    return "None" if value is None else f"a {value.type if isinstance(value, Opaque) else type(value).__name__}"


def _known(eq, key, got, ref, X, Y):
    """(problem, hint) of the known mistake of equation `eq` that gives `got` for `key`, or None."""
    for mistake_eq, formula, why, hint, changes in MISTAKES:
        if mistake_eq == eq:
            changed = changes(ref, X, Y)
            if key in changed and _matches(got, changed[key]):
                return f"{key} is {formula.split('= ')[-1]}: {why}", hint
    return None


# --- grading what came back ----------------------------------------------------------------------------

def grade_records(records, arrays, refs, result, program=None):
    """Grade forward and backward per problem; stop at the first problem that shows a mistake. `program`, the
    student's notebook.Program, names their lines and the names their file lacks."""
    for i, (X, Y, params, ref) in enumerate(refs):
        sizes = (X.shape[0], params["W1"].shape[0], X.shape[1])
        result.problems.append(sizes)
        result.where = f"problem {i + 1} of {len(refs)}: n_x={sizes[0]}, n_h={sizes[1]}, m={sizes[2]}"
        for stage in ("forward", "backward", "backward_own"):  # a call that replaced NumPy's functions: its own fault
            if records[f"p{i}.{stage}"].get("replaced"):
                function = f"{stage.split('_')[0]}_propagation"
                result.fail(function, f"{function} {replaced_text(records[f'p{i}.{stage}'])}")
        _grade_forward(records[f"p{i}.forward"], arrays, ref, X, sizes, result, program)
        _grade_backward(records[f"p{i}.backward"], records[f"p{i}.backward_own"], arrays, ref, X, Y, sizes, result,
                        program)
        if result.wrong:
            return result
    result.where = ""
    return result


def _grade_forward(record, arrays, ref, X, sizes, result, program=None):
    if record["status"] != "ok":
        return _diagnose_exception(record, arrays, result, "forward", ref, X, None, sizes, program)
    out = decode(record["value"], arrays)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        return result.fail("F1", f"forward_propagation returned {kind_of(out)}, not a pair (A2, cache)",
                           "end it with: return A2, cache")
    A2, cache = out
    if isinstance(cache, (tuple, list)) and len(cache) == 4:
        result.fail("cache", f"forward_propagation's cache is a {type(cache).__name__}; backward_propagation "
                    "reads it by name, as cache[\"A1\"], so the course's cache is a dict with keys Z1, A1, Z2, A2",
                    'cache = {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}')
        cache = Returned(zip(FORWARD, cache))  # still grade the equations, in the course's order
    if not isinstance(cache, dict) or any(k not in cache for k in FORWARD):
        first = next(k for k in FORWARD if not isinstance(cache, dict) or k not in cache)
        got = sorted(cache) if isinstance(cache, dict) else kind_of(cache)
        return result.fail(FORWARD[first], f"the cache must be a dict with keys Z1, A1, Z2, A2; got {got}",
                           'cache = {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}')
    values = dict(cache)
    if ("Z1", "A1") in getattr(cache, "aliases", ()) and not _matches(cache["Z1"], ref["Z1"]):
        result.fail("F2", "A1 is not tanh(Z1), and the cache's Z1 is the same array as A1: the activation "
                    "changed Z1 in place (x[x <= 0] = 0 writes into the array it is given), so Z1 is lost",
                    "A1 = np.tanh(Z1) makes a new array; an activation of your own must not change its "
                    "argument (work on x = x.copy())")
        del values["Z1"]  # not graded: F1's value is lost, F2 is blamed above
        values["A1*"] = values.pop("A1")
    found = _forward_chain(values, ref, X, sizes, result)
    for eq, (problem, hint) in found.items():
        result.fail(eq, problem, hint)
    if _usable(cache["A2"], ref["A2"].shape) is not None:
        returned = _check("the A2 it returns", A2, _array(cache["A2"]), sizes)
        if returned:
            result.fail("F4", f"forward_propagation returns an A2 other than cache[\"A2\"]: {returned}",
                        "return A2, cache")


def _forward_chain(values, ref, X, sizes, result):
    """{eq: (problem, hint)} for F1 … F4 from the arrays in `values`, each on the student's own input to it;
    the right ones are marked ok in `result`. "A1*" is an A1 that feeds F3 but is not graded itself."""
    local, blocked = dict(ref), False
    if _usable(values.get("A1*"), ref["A1"].shape) is not None:
        local["A1"] = _usable(values["A1*"], ref["A1"].shape)
    found = {}
    for key, eq in FORWARD.items():
        if key not in values:
            continue
        if blocked:  # its input is the student's, and not an array it can take: graded only if never right
            if _array(values[key]) is None:
                found[eq] = (_not_numbers(key, values[key]), LINES[eq])
            continue
        want = {"Z1": ref["W1"] @ X + ref["b1"], "A1": np.tanh(local["Z1"]),
                "Z2": ref["W2"] @ local["A1"] + ref["b2"], "A2": sigmoid(local["Z2"])}[key]
        finding = _check(key, values[key], want, sizes, result)
        usable = _usable(values[key], want.shape)
        if usable is not None:
            local[key] = usable  # the next equation is graded on it, right or wrong
        blocked = usable is None
        if finding is None:
            result.status[eq] = "ok"
        else:
            found[eq] = _known(eq, key, values[key], local, X, None) or (finding, _hint(eq, values[key], sizes))
    return found


def _hint(eq, value, sizes):
    """How the shapes of the equation fit; or, where there is no array at all, the course's line."""
    return LINES[eq] if _array(value) is None else shape_guide(eq, *sizes)


def _own(variables, name):
    """The student's variable called `name` in any case (dz1, dZ1), if they have one; else a marker."""
    for k, v in variables.items():
        if k.lower() == name.lower():
            return v
    return _ABSENT


_ABSENT = object()


def _grade_backward(record, own, arrays, ref, X, Y, sizes, result, program=None):
    for rec in (record, own):
        if rec["status"] == "ok" and rec["changed"]:
            keys = ", ".join(f'parameters["{one_line(k)}"]' for k in rec["changed"])
            result.fail("parameters", f"backward_propagation changes {keys} in place: the caller's weights "
                        "are no longer the ones the gradients belong to",
                        "backward_propagation only computes gradients; the weights change in update_parameters")
            break
    if record["status"] != "ok":
        return _diagnose_exception(record, arrays, result, "backward", ref, X, Y, sizes, program)
    grads = decode(record["value"], arrays)
    if not isinstance(grads, dict) or any(k not in grads for k in GRADS):
        first = next(k for k in GRADS if not isinstance(grads, dict) or k not in grads)
        got = sorted(one_line(k) for k in grads) if isinstance(grads, dict) else kind_of(grads)
        return result.fail(BACKWARD[first], f"backward_propagation must return a dict with keys dW1, db1, dW2, "
                           f"db2; got {got}", 'grads = {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}')
    variables = {k: decode(v, arrays) for k, v in record.get("locals", {}).items()}
    values = {k: grads[k] for k in GRADS}
    for name in ("dZ2", "dZ1"):
        if (v := _own(variables, name)) is not _ABSENT:
            values[name] = v
    wrong = [k for k in GRADS if not _matches(grads[k], ref[k])]
    mistake = None
    if wrong:
        for eq, formula, why, hint, changes in MISTAKES:  # one known mistake explaining all four gradients
            if eq.startswith("B") and all(_matches(grads[k], v)
                                          for k, v in course_grads(ref, X, **changes(ref, X, Y)).items()):
                mistake = (eq, (f"your gradients are exactly what {formula} gives: {why}", hint))
                values = {**{k: v for k, v in changes(ref, X, Y).items() if k not in GRADS}, **values}
                break
    found = _backward_chain(values, ref, X, Y, sizes, result)
    if mistake and mistake[0] in found:
        found[mistake[0]] = mistake[1]
    _blame(result, found, wrong)


def _backward_chain(values, ref, X, Y, sizes, result):
    """{eq: (problem, hint)} for B1 … B6 from the arrays in `values`, each gradient on the student's own dZ2
    and dZ1 where they are there; the right ones are marked ok in `result` (B1 and B4 "seen through" the
    gradients they feed when the student's dZ2 or dZ1 is not there to compare)."""
    m, found = X.shape[1], {}
    local = {**ref}

    def grade(key, want, upstream=None):
        if upstream in values and _usable(values[upstream], ref[upstream].shape) is None:
            if _array(values[key]) is not None:
                return False  # built on the student's own upstream, which it cannot take: not graded on it
            found[BACKWARD[key]] = (_not_numbers(key, values[key]), LINES[BACKWARD[key]])
            return found[BACKWARD[key]][0]
        finding = _check(key, values[key], want, sizes, result)
        if _usable(values[key], want.shape) is not None:
            local[key] = _usable(values[key], want.shape)
        eq = BACKWARD[key]
        if finding is None:
            result.status[eq] = "ok"
        else:
            found[eq] = _known(eq, key, values[key], local, X, Y) or (finding, _hint(eq, values[key], sizes))
        return finding
    if "dZ2" in values:
        grade("dZ2", ref["dZ2"])
    dZ2 = local["dZ2"]
    each = {k: grade(k, w, "dZ2") for k, w in (("dW2", dZ2 @ ref["A1"].T / m),
                                               ("db2", np.sum(dZ2, axis=1, keepdims=True) / m)) if k in values}
    local["dA1"] = ref["W2"].T @ dZ2
    if "dZ1" in values and grade("dZ1", local["dA1"] * (1 - ref["A1"] ** 2), "dZ2") is False:
        each["dZ1"] = False
    dZ1 = local["dZ1"] if "dZ1" in values and _usable(values["dZ1"], ref["dZ1"].shape) is not None \
        else local["dA1"] * (1 - ref["A1"] ** 2)
    each.update({k: grade(k, w, "dZ1") for k, w in (("dW1", dZ1 @ X.T / m),
                                                    ("db1", np.sum(dZ1, axis=1, keepdims=True) / m)) if k in values})
    each = {k: f for k, f in each.items() if f is not False}
    _seen_through(values, each, found, result)
    return dict(sorted(found.items()))


def _seen_through(values, each, found, result):
    """B1 and B4 when the student's dZ2 or dZ1 is not there: right if a gradient built on it is right; blamed
    when both gradients built on it are wrong with no cause of their own (then not the gradients)."""
    for up, eq, pair in (("dZ2", "B1", ("dW2", "db2")), ("dZ1", "B4", ("dW1", "db1"))):
        if up in values or (eq == "B4" and "B1" in found):
            continue
        right = [k for k in pair if k in each and each[k] is None]
        if right:
            result.status[eq], result.seen[eq] = "ok", ", ".join(right)
        elif all(each.get(k) is not None for k in pair) and not each[pair[0]].specific:
            if eq == "B1" and all(each.get(k) is not None for k in GRADS):
                why = f"dW2, db2, dW1 and db1 are all wrong, and all four start from dZ2 ({each['dW2']})"
            elif eq == "B1":
                why = each["dW2"]
            else:
                why = f"dW1 and db1 are both wrong while dW2 and db2 are right: they share dZ1 ({each['dW1']})"
            found[eq] = (why, "dZ2 = A2 - Y" if eq == "B1" else "dZ1 = np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))")
            for k in GRADS if eq == "B1" else pair:
                found.pop(BACKWARD[k], None)


def _blame(result, found, wrong):
    """Record the wrong equations in `found` ({eq: (problem, hint)}) and the gradients they do not explain."""
    for eq, (problem, hint) in found.items():
        result.fail(eq, problem, hint)
    feeds = {"B1": GRADS, "B2": ("dW2",), "B3": ("db2",), "B4": ("dW1", "db1"), "B5": ("dW1",), "B6": ("db1",)}
    explained = {k for eq in found for k in feeds[eq]}
    result.also += [k for k in wrong if k not in explained and k not in result.also]


# --- when the student's code raised --------------------------------------------------------------------

VARIABLE_HINT = "a graded function gets what it needs through its arguments: the notebook's other variables " \
                "do not exist when it is called elsewhere"


def raised_text(record, program=None):
    """(text, at): '<function> raised <its last line>', or what the file says of a name it lacks, and
    '\n  at line N of <file>: <line>'; escaped, for a student controls all of it."""
    function, message = one_line(record.get("function", "")), one_line(record["message"])
    at = ""
    if record.get("line_number"):
        filename = record.get("filename") or ""
        place = program.where(filename, record["line_number"]) if program else f"line {record['line_number']}" + \
            (f" of {os.path.basename(filename)}" if filename and not filename.startswith("<") else "")
        at = f"\n  at {place}: {one_line(record.get('line', ''))}"
    explained = program.explain(record["name"]) if program and record.get("name") else None
    if explained:
        return f"{function} {one_line(explained)}\n  ({message}){at}", at
    return f"{function} raised {message}{at}", at


def _name_hint(record, program):
    """The hint for a name the function lacks because of the file around it, or None."""
    explained = program.explain(record["name"]) if program and record.get("name") else ""
    if explained.startswith("reads"):
        return VARIABLE_HINT
    if "this project's own implementation" in explained:
        return PROJECT_IMPORT
    return None


def _diagnose_exception(record, arrays, result, stage, ref, X, Y, sizes, program=None):
    """The wrong equations when the student's code raised: every value its locals held then, graded; else the
    equation its line computes; else the first one it never reached."""
    function = CALLS[stage]
    order = FORWARD if stage == "forward" else BACKWARD
    variables = {k: decode(v, arrays) for k, v in record.get("locals", {}).items()}
    line = record.get("line", "")
    text, at = raised_text({**record, "function": function}, program)
    kind = next((k for k in record.get("kinds", [record["type"]]) if k in EXITS), None)
    note = f"\n  ({EXITS[kind]})" if kind else ""
    if stage == "backward" and record["type"] in ("KeyError", "IndexError", "TypeError") and \
            re.search(r"\b(cache|parameters)\s*\[", line):
        which = "cache" if re.search(r"\bcache\s*\[", line) else "parameters"
        keys = "Z1, A1, Z2, A2" if which == "cache" else "W1, b1, W2, b2"
        for eq in order.values():
            result.status[eq] = "not reached"
        return result.fail(which, f"{text}\n  (that line reads {which}: the course's {which} is a dict with "
                           f"keys {keys}" + (f"; {one_line(record['key'])} is not one of them)" if "key" in record
                                             else ")"),
                           f'read it by the course\'s names, as {which}["{"A1" if which == "cache" else "W2"}"]',
                           reached=False)
    values = {k: variables[k] for k in order if k in variables}
    if stage == "backward":
        values.update({n: v for n in ("dZ2", "dZ1") if (v := _own(variables, n)) is not _ABSENT})
    missing = record.get("name") in order and record["type"] == "NameError"
    if missing:  # its own line is missing: not a notebook variable it means to read
        text, at = raised_text({**record, "function": function, "name": None}, program)
    found = (_forward_chain(values, ref, X, sizes, result) if stage == "forward"
             else _backward_chain(values, ref, X, Y, sizes, result))
    if missing:  # the template's lines are still comments: every array not assigned is an equation not written
        for key, eq in order.items():
            if key not in values and eq not in found and result.status[eq] != "ok":
                found[eq] = (f"{key} is never assigned in {function}: its line is missing, or still a comment",
                             LINES[eq])
    target = re.match(r"\s*(\w+)\s*=[^=]", line) if line else None
    line_eq = PRODUCED_BY.get(target.group(1)) if target else None
    line_eq = line_eq if line_eq in order.values() else None
    role = f"\n  (that line computes {target.group(1)}: {line_eq}  {EQUATIONS[line_eq]})" if line_eq else \
        "\n  (that line is an assert: it checks a value computed above)" if line.startswith("assert") else ""
    if found:
        first = min(found, key=list(order.values()).index)
        for eq, (problem, hint) in sorted(found.items(), key=lambda item: list(order.values()).index(item[0])):
            result.fail(eq, f"{problem}\n  and then {text}{role}{note}" if eq == first else problem, hint)
        return True
    hint = _name_hint(record, program) or exception_hint(record, line_eq, sizes) or ""
    if line_eq and result.status[line_eq] != "ok":
        return result.fail(line_eq, f"{text}{role}{note}", hint)
    eq = next((e for e in order.values() if result.status[e] != "ok"), None)
    if eq is None:  # every equation right, and the code raised after them
        return result.fail(function, f"{text}{role}{note}", hint)
    return result.fail(eq, f"{text}{role}{note}", hint, reached=False)
