"""One backend as the comparison calls it: each call gets its own copy of every input, the inputs are checked
unchanged afterwards, and whatever the method does (raise, exit, return the wrong thing) becomes one sentence
naming the method, never an exception out of the comparison."""
import numpy as np

from compare.comparison import answers
from compare.isolated.proxy import IsolatedBackend
from impls.base import (Backend, TrainingDiverged, cache_names, dtype_name, grad_names, intermediate_names,
                        param_names)

METHODS = ("cost", "gradients", "intermediates", "forward", "train", "predict")  # the contract's methods
ARRAYS = {"gradients": grad_names, "intermediates": intermediate_names, "forward": cache_names}  # names at depth L


def provided(backend):
    """The contract's methods `backend` has, in METHODS order. torch.nn.Module's own `train(mode)` and
    `forward(*input)` are not the contract's: an nn.Module has them whether or not it implements them."""
    return [m for m in METHODS if callable(getattr(backend, m, None))
            and not str(getattr(getattr(backend, m), "__module__", "")).startswith("torch.nn.modules")]


def diverged(error):
    """Whether a call's error is the divergence guard's TrainingDiverged (raised in this process or another)."""
    return bool(error) and f"raised {TrainingDiverged.__name__}:" in error


def _text(e):
    try:
        return f"{type(e).__name__}: {e}"
    except Exception:  # noqa: BLE001 - an exception whose str() raises
        return type(e).__name__


def _copy(value):
    if isinstance(value, dict):
        return {k: np.array(v, copy=True) for k, v in value.items()}
    return None if value is None else np.array(value, copy=True)


def _changed(originals):
    """Names of the inputs a call changed: an array written in place, or a dict entry replaced or removed."""
    changed = []
    for name, (holder, key, before) in originals.items():
        now = holder.get(key) if isinstance(holder, dict) else holder
        if not (isinstance(now, np.ndarray) and now.shape == before.shape
                and np.array_equal(now, before, equal_nan=before.dtype.kind in "fc")):
            changed.append(name)
    return changed


class Entrant:
    """A backend in the comparison, under the name the report gives it.

    Attributes:
        backend, name, methods: the object, its name, the contract's methods it has.
        changed: input name -> the methods that changed it in place.
        notes: sentences for the report (tensors that required grad, detached).
    """

    def __init__(self, backend, name, dtype, shared=None):
        self.backend, self.name, self.dtype = backend, name, dtype
        self.isolated = isinstance(backend, IsolatedBackend)
        self.methods = list(backend.provides) if self.isolated else provided(backend)
        self.changed = {} if shared is None else shared.changed
        self.notes = {} if shared is None else shared.notes
        self._twin = None

    def call(self, method, params, X, Y=None, **kwargs):
        """(the answer as the contract reads it, None), or (None, a sentence naming the method)."""
        args = [params, X] if Y is None else [params, X, Y]
        if self.isolated:  # its process received its own copies; it reports what the method changed
            reply = self.backend.call(method, *args, **kwargs)
            value, error, changed, detached = reply.value, reply.error, reply.changed, reply.detached
        else:
            value, error, changed, detached = self._call_here(method, args, kwargs)
        for name in changed:
            methods = self.changed.setdefault(name, [])
            if method not in methods:
                methods.append(method)
        if detached:
            self.notes[f"detached {method}"] = (f"{self.name}: {method} returned torch tensors that require grad "
                                                f"({', '.join(detached)}); they were detached to be compared.")
        if error is not None:
            return None, answers.plain(error)
        return self._read(method, value, params, X)

    def _call_here(self, method, args, kwargs):
        copies = [_copy(a) for a in args]
        originals = {k: (copies[0], k, np.array(v)) for k, v in copies[0].items()}
        originals |= {name: (a, None, np.array(a)) for name, a in zip(("X", "Y"), copies[1:])}
        value = error = None
        try:
            value = getattr(self.backend, method)(*copies, **kwargs)
        except SystemExit as e:
            error = (f"{method} called sys.exit({e.code!r}): a backend's method must return its answer, not end the "
                     "process")
        except Exception as e:  # noqa: BLE001 - a user's own backend may raise anything
            error = f"{method} raised {_text(e)}"
        detached = []
        if error is None:
            value = answers.detach(value, "", detached)
        return value, error, _changed(originals), detached

    @staticmethod
    def _read(method, value, params, X):
        L = len(params) // 2  # the comparison's parameters, checked: W1, b1, …, WL, bL
        if method == "cost":
            return answers.read_cost(value)
        if method == "train":
            return answers.read_result(value, names=param_names(L))
        if method == "predict":
            return answers.read_labels(value, (np.shape(params[f"W{L}"])[0], np.shape(X)[1]))
        return answers.read_arrays(value, ARRAYS[method](L), method)

    def float64_twin(self):
        """An Entrant computing this backend's map in float64 (itself, if it is float64); None when its class
        cannot be constructed again with dtype="float64". Its calls count as this backend's."""
        if self.dtype == "float64":
            return self
        if self._twin is None:
            b, twin = self.backend, None
            try:
                if self.isolated:
                    twin = b.twin(dtype="float64")
                elif isinstance(b, Backend) or hasattr(b, "activation"):  # a user's class constructs as ours do
                    extra = {"workers": b.workers} if getattr(b, "workers", 1) != 1 else {}
                    twin = type(b)(activation=b.activation, dtype="float64", device=getattr(b, "device", None),
                                   **extra)
            except (Exception, SystemExit):  # noqa: BLE001 - it does not construct so: no twin
                twin = None
            if twin is None or not callable(getattr(twin, "cost", None)):
                return None
            self._twin = Entrant(twin, self.name, "float64", shared=self)
        return self._twin

    def close(self):
        """Stop the float64 twin's process, if this made one."""
        if self._twin is not None and self._twin is not self and self._twin.isolated:
            self._twin.backend.close()
        self._twin = None


def declared_dtype(backend, name):
    """The dtype a backend declares, normalised ("float64" for np.float64, torch.float64, ...); None if none."""
    value = getattr(backend, "dtype", None)
    if value is None:
        return None
    try:
        return dtype_name(value)
    except ValueError:
        raise ValueError(f"backend {name!r} declares dtype={value!r}, which is neither float64 nor float32") from None
