"""One tab's training run, and the bounded store of them.

A session holds its data, one parameter set per backend (each trains on its own, the hand-written NumPy
backend is the reference) and the run's history. The store caps their number and their memory, hands a
closed tab's state back, and forgets a session left idle.
"""
import functools
import re
import secrets
import threading
import time

import numpy as np

import impls
from impls.memory import check_layers_memory, format_bytes, layers_memory, machine_memory
from impls.io.datasets import load_dataset, parse_csv
from compare.playground import settings as S

IDLE_SECONDS = 20 * 60       # a session not used for this long is forgotten
MAX_SESSIONS = 64
MEMORY_SHARE = 0.25          # all sessions together hold at most this share of the machine's free memory
BLOWUP = 2.0                 # a cost above this many times its start has blown up (gradient descent lowers it)
MAX_HISTORY = 20000          # cost points kept; beyond, every other one is dropped


class SessionGone(LookupError):
    """The session is unknown: closed, forgotten after IDLE_SECONDS, or never made."""


class Busy(RuntimeError):
    """The store is full of sessions in use."""


def clean_name(name):
    """An uploaded file's name as the messages show it: its last part, printable, short. Never opened."""
    name = re.split(r"[\\/]", str(name or ""))[-1]
    name = "".join(c for c in name if c.isprintable())[:60]
    return name or "upload.csv"


def read_upload(name, data):
    """(name, X, Y) from an uploaded CSV file's bytes, by the command line's rules, within the caps."""
    name = clean_name(name)
    if len(data) > S.MAX_UPLOAD_BYTES:
        raise S.SettingError("dataset", f"{name}: {len(data)} bytes, more than the {S.MAX_UPLOAD_BYTES} an "
                             "upload may have")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise S.SettingError("dataset", f"{name}: not a readable CSV text file ({e.reason} at byte "
                             f"{e.start}; save it as UTF-8)") from None
    try:
        X, Y = parse_csv(text.splitlines(keepends=True), name)
    except ValueError as e:
        raise S.SettingError("dataset", str(e)) from None
    return name, X, Y


def _check_size(X, name):
    n_x, m = X.shape
    if m > S.MAX_EXAMPLES:
        raise S.SettingError("dataset", f"{name}: {m} examples; the playground takes at most {S.MAX_EXAMPLES}")
    if n_x > S.MAX_FEATURES:
        raise S.SettingError("dataset", f"{name}: {n_x} features; the playground takes at most {S.MAX_FEATURES}")


def prepare_data(settings, upload):
    """(X_train, Y_train, X_test, Y_test) for the settings: the data set, its added noise, its split."""
    if settings.dataset == S.CSV:
        if upload is None:
            raise S.SettingError("dataset", "Data set: choose a CSV file to upload (a header row, numeric "
                                 "features, a 0/1 label last)")
        name, X, Y = upload
    else:
        name, (X, Y) = settings.dataset, load_dataset(settings.dataset, seed=settings.seed)
    _check_size(X, name)
    rng = np.random.RandomState([settings.seed, 19])  # its own stream: the weights' seed stays the course's
    if settings.noise:
        X = X + settings.noise * X.std(axis=1, keepdims=True) * rng.randn(*X.shape)
    m = X.shape[1]
    n_test = int(round(m * settings.test / 100))
    if n_test == 0:
        return X, Y, X[:, :0], Y[:, :0]
    if m - n_test < 1:
        raise S.SettingError("test", f"Test split: {settings.test}% of {m} examples leaves none to train on")
    order = rng.permutation(m)
    train, test = np.sort(order[n_test:]), np.sort(order[:n_test])
    return X[:, train], Y[:, train], X[:, test], Y[:, test]


@functools.lru_cache(maxsize=64)
def backend(name, activation, dtype):
    """One backend object per configuration, shared by every session: backends keep no state of a run, and
    JAX compiles per object (jit with the backend as a static argument), so a fresh one per session would
    compile again and keep each compilation for as long as the process lives."""
    return impls.get_backend(name, activation=activation, dtype=dtype)


def _at_iteration(message, iteration):
    """TrainingDiverged's message, counted from the run's start rather than from the call's."""
    message = message.removeprefix("training diverged: ")
    return re.sub(r"at iteration \d+", f"at iteration {iteration}", message)


class Session:
    def __init__(self, sid, settings, upload=None):
        self.id = sid
        self.lock = threading.Lock()
        self.touch()
        self.configure(settings, upload)

    def touch(self):
        self.last_used = time.monotonic()

    def configure(self, settings, upload=None):
        """Take settings (and an uploaded file's data): the data, the backends and a fresh start."""
        X, Y, X_test, Y_test = prepare_data(settings, upload)
        self.layer_dims = [X.shape[0], *settings.hidden, Y.shape[0]]
        try:
            check_layers_memory(self.layer_dims, X.shape[1], settings.dtype)
        except ValueError as e:
            raise S.SettingError("hidden", str(e)) from None
        # the command line's estimate for each backend's run and the reference's values for the table
        self.memory = (len(settings.backends) + 1) * layers_memory(self.layer_dims, X.shape[1] + X_test.shape[1],
                                                                   settings.dtype)
        self.backends = {n: backend(n, settings.activation, settings.dtype) for n in settings.backends}
        self.settings, self.upload = settings, upload
        self.X, self.Y, self.X_test, self.Y_test = (a.astype(settings.dtype) for a in (X, Y, X_test, Y_test))
        self.reset()
        self._warm_up()

    def _warm_up(self):
        """One step of each backend, thrown away: JAX compiles for these shapes now, not on the first Step."""
        for backend in self.backends.values():
            try:
                backend.train(self.params["numpy"], self.X, self.Y, learning_rate=self.settings.lr, iterations=1)
            except impls.TrainingDiverged:
                pass

    @property
    def reference(self):
        return self.backends["numpy"]

    def reset(self):
        s = self.settings
        # init_deep_params is init_params for one hidden layer: the command line's start at every depth
        start = impls.init_deep_params(self.layer_dims, seed=s.seed, scale=S.INIT_SCALES[s.init], dtype=s.dtype)
        self.params = {name: start for name in self.backends}  # never changed in place: train returns new ones
        self.iteration = 0
        self.start_cost = self.reference.cost(start, self.X, self.Y)
        self.costs = dict.fromkeys(self.backends, self.start_cost)
        self.history = [(0, self.start_cost, self.test_cost())]  # (iteration, train cost, test cost or None)
        self.diverged = {}   # backend -> {"iteration", "message"}: training stopped there
        self.blowup = None   # the reference's first cost above BLOWUP times its start

    def test_cost(self):
        if not self.X_test.shape[1]:
            return None
        return self.reference.cost(self.params["numpy"], self.X_test, self.Y_test)

    def _train(self, name, n):
        """Up to n steps of one backend: (steps done, costs after each, why it stopped or None)."""
        backend, params, lr = self.backends[name], self.params[name], self.settings.lr
        try:
            result = backend.train(params, self.X, self.Y, learning_rate=lr, iterations=n, record_every=1)
            self.params[name] = result.params
            return n, [c for _, c in result.costs[1:]] + [result.final_cost], None
        except impls.TrainingDiverged:
            pass
        costs = []  # again one step at a time, to keep the last good parameters and find where it blew up
        for k in range(n):
            try:
                result = backend.train(params, self.X, self.Y, learning_rate=lr, iterations=1)
            except impls.TrainingDiverged as e:
                self.params[name] = params
                return k, costs, _at_iteration(str(e), self.iteration + k + 1)
            params = result.params
            costs.append(result.final_cost)
        self.params[name] = params
        return n, costs, None

    def step(self, n):
        """n iterations of gradient descent for every backend; the reference decides how many run."""
        if "numpy" in self.diverged:
            return
        done, costs, problem = self._train("numpy", n)
        if problem:
            self.diverged["numpy"] = {"iteration": self.iteration + done + 1, "message": problem}
        for name in self.backends:
            if name != "numpy" and name not in self.diverged and done:
                steps, own, problem = self._train(name, done)
                self.costs[name] = own[-1] if own else self.costs[name]
                if problem:
                    self.diverged[name] = {"iteration": self.iteration + steps + 1, "message": problem}
        for k, cost in enumerate(costs, start=self.iteration + 1):
            if self.blowup is None and cost > BLOWUP * self.start_cost:
                self.blowup = {"iteration": k, "cost": cost, "start": self.start_cost}
            self.history.append((k, cost, None))
        self.iteration += done
        if costs:
            self.costs["numpy"] = costs[-1]
            self.history[-1] = (self.iteration, costs[-1], self.test_cost())
        if len(self.history) > MAX_HISTORY:
            self.history = self.history[:1] + self.history[1:-1:2] + self.history[-1:]


class Store:
    """The sessions by id: at most MAX_SESSIONS, together within the memory share; idle ones forgotten."""

    def __init__(self, max_sessions=MAX_SESSIONS, idle_seconds=IDLE_SECONDS, memory=None):
        self.sessions, self.lock = {}, threading.Lock()
        self.max_sessions, self.idle_seconds = max_sessions, idle_seconds
        available = machine_memory()
        self.memory = memory if memory is not None else int(MEMORY_SHARE * available) if available else 2 ** 31

    def _sweep(self):
        now = time.monotonic()
        for sid in [k for k, s in self.sessions.items() if now - s.last_used > self.idle_seconds]:
            del self.sessions[sid]

    def add(self, settings, upload=None, replacing=None):
        """A new session, or with `replacing` (a session) that tab's session with new settings, same id."""
        sid = replacing.id if replacing is not None else secrets.token_urlsafe(16)
        upload = upload or (replacing.upload if replacing is not None else None)
        session = Session(sid, settings, upload)  # the work before taking the lock
        with self.lock:
            self._sweep()
            others = [s for k, s in self.sessions.items() if k != sid]
            used = sum(s.memory for s in others)
            if len(others) >= self.max_sessions or used + session.memory > self.memory:
                raise Busy(f"the playground has {len(self.sessions)} open sessions using about "
                           f"{format_bytes(used)}, its limit; close a tab, or wait "
                           f"{self.idle_seconds // 60} minutes for idle ones to end")
            self.sessions[session.id] = session
        return session

    def get(self, sid):
        with self.lock:
            self._sweep()
            session = self.sessions.get(sid) if isinstance(sid, str) else None
            if session is None:
                raise SessionGone("this page's session has ended (the tab was closed, or it was idle for "
                                  f"{self.idle_seconds // 60} minutes); reload the page")
            session.touch()
            return session

    def close(self, sid):
        with self.lock:
            return self.sessions.pop(sid, None) is not None

    def __len__(self):
        with self.lock:
            return len(self.sessions)
