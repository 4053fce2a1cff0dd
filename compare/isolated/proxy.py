"""IsolatedBackend: a user's backend (FILE.py:CLASS, MODULE:CLASS, an entry point) in a process of its own, and
this stand-in for it in ours, with the backend contract. Arrays go in and out as .npz (no pickles), the rest as
JSON; every call has a time limit; an exit, a crash, a hang or a malformed answer fails that call, naming the
method, and the next call starts the process afresh. No process of it outlives the stand-in's close().
"""
import hashlib
import os
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from compare.codec import decode
from compare.comparison.answers import plain
from compare.isolated import host
from impls import processes

TIMEOUT = 300.0     # seconds of CPU time a call (or the construction) may take, by default (--timeout)
WALL_FACTOR = 4     # a call that has not answered after this many times its limit in wall time hangs
RESTARTS = 2        # after this many ended processes, later calls fail without starting another; after a
                    # timeout none is started: each would wait as long again
LOG_LIMIT = 64 * 2**20  # bytes its prints may fill (RLIMIT_FSIZE): a print loop cannot fill the disk


class BackendFailed(RuntimeError):
    """A call of the isolated backend gave no answer: the message names the method and what happened."""


class Reply(SimpleNamespace):
    """One call's outcome: .value (decoded), .error (a sentence, or None), .changed (input arrays the method
    changed in place, in its own process), .detached (paths of torch tensors that required grad)."""


def _key(array):
    a = np.ascontiguousarray(array)
    return hashlib.blake2b(a.view(np.uint8).reshape(-1) if a.size else b"", digest_size=16,
                           person=f"{a.dtype.str}{a.shape}".encode()[:16]).hexdigest()


def _text_is_not_numbers(desc):
    """The description with every string the Encoder read as numbers ("0.69" as 0.69) marked as what it is:
    a method that returns text has not returned a number."""
    if not isinstance(desc, dict):
        return desc
    if desc.get("kind") == "array" and desc.get("type") in ("str", "bytes", "str_", "bytes_"):
        return {"kind": "object", "type": desc["type"], "error": ""}
    if isinstance(desc.get("items"), list):
        return {**desc, "items": [_text_is_not_numbers(d) for d in desc["items"]]}
    return desc


def _plain(value, depth=0):
    """Dicts as dicts (the reader gives its own subclass), at every level the Encoder sends."""
    if isinstance(value, dict) and depth < 3:
        return {k: _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and depth < 3:
        return type(value)(_plain(v, depth + 1) for v in value)
    return value


class IsolatedBackend:
    """A stand-in for `spec`'s class constructed in a child process with activation=, dtype=, device=.

    Attributes name, activation, dtype, device (and workers where the object has them) are the object's own,
    read once it is constructed; the contract's methods it has are methods here (`provides` lists them).
    `call` gives the Reply of one call; the methods themselves return the value, or raise BackendFailed.
    """

    def __init__(self, spec, *, activation, dtype, device=None, timeout=TIMEOUT):
        self.spec, self.timeout = spec, float(timeout)
        self._kwargs = {"activation": activation, "dtype": dtype, "device": device}
        self._proc = self._log = None
        self._ended = []   # how each process before this one ended
        self._sent = set()  # data keys the running process holds
        self.closed = False
        about = self._start()
        self.name, self.activation, self.device = about["name"], about["activation"], about["device"]
        self.dtype = about["dtype"] if about["dtype"] is not None else about["declared_dtype"]
        if about["workers"] is not None:
            self.workers = about["workers"]
        self.provides = tuple(about["methods"])
        self.source_module, self.source_version, self.switches = about["module"], about["version"], about["switches"]
        for method in self.provides:
            setattr(self, method, self._method(method))

    def __repr__(self):
        return f"IsolatedBackend({self.spec.text!r}, {self._kwargs})"

    def twin(self, **changes):
        """The same class constructed again, in a process of its own, with some arguments changed."""
        return IsolatedBackend(self.spec, timeout=self.timeout, **{**self._kwargs, **changes})

    # --- the process ---------------------------------------------------------------------------------

    def _start(self):
        """Start the process and construct the object in it; its description, or a ValueError."""
        from_parent, to_child = os.pipe()  # (read end, write end)
        from_child, to_parent = os.pipe()
        if self._log is not None:
            self._log.close()
        self._log = tempfile.TemporaryFile(prefix="backprop-compare-backend-")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), "MPLBACKEND": "Agg"}
        try:
            self._proc = processes.start(
                [sys.executable, str(Path(host.__file__).resolve()), str(from_parent), str(to_parent)],
                pass_fds=(from_parent, to_parent), stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
                env=env, file_size=LOG_LIMIT)
        finally:
            os.close(from_parent)
            os.close(to_parent)
        self._to, self._from, self._sent = to_child, from_child, set()
        spec = {"text": self.spec.text, "kind": self.spec.kind, "target": self.spec.target, "cls": self.spec.cls}
        kwargs = {**self._kwargs, "device": self.spec.device or self._kwargs["device"]}
        reply = self._exchange({"op": "construct", "spec": spec, "kwargs": kwargs}, {}, "its constructor")
        if reply.error is None and not reply.header["ok"]:
            reply.error = reply.header["error"]
        if reply.error is not None:
            self.close()
            text = reply.error
            if not text.startswith("backend "):
                text = (f"backend {self.spec.text!r} does not construct with activation={kwargs['activation']!r}, "
                        f"dtype={kwargs['dtype']!r}, device={kwargs['device']!r}: "
                        f"{text.removeprefix('its constructor ')}")
            raise ValueError(plain(text))
        return reply.header["describe"]

    def _stop(self):
        if self._proc is not None:
            self._proc.kill()
            for fd in (self._to, self._from):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self._proc = None

    def close(self):
        """Kill the process and everything it started; later calls fail."""
        self._stop()
        if self._log is not None:
            self._log.close()
            self._log = None
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - at interpreter shutdown anything may be gone already
            pass

    def _last_output(self):
        if self._log is None:
            return ""
        self._log.seek(0, os.SEEK_END)
        size = self._log.tell()
        self._log.seek(max(0, size - 2000))
        lines = [line for line in self._log.read().decode(errors="replace").splitlines() if line.strip()]
        return f"; its last output: {plain(lines[-1], 160)}" if lines else ""

    def _exchange(self, header, arrays, what):
        """Send one message and wait for the answer within the limits: a Reply with .header, or .error."""
        start, cpu_start = time.monotonic(), self._proc.cpu_seconds() or 0.0
        data = memoryview(host.pack(header, arrays))
        buffer, size = bytearray(), None
        try:
            while size is None or len(buffer) < size:
                cpu = (self._proc.cpu_seconds() or cpu_start) - cpu_start
                if cpu > self.timeout or time.monotonic() - start > WALL_FACTOR * self.timeout:
                    used = f"{cpu:.0f} s of CPU time, {time.monotonic() - start:.0f} s in all"
                    self._stop()
                    self._ended.append("timeout")
                    return Reply(error=f"{what} did not answer within the time limit (--timeout {self.timeout:g} "
                                 f"CPU seconds; {used}): stopped")
                writable = [self._to] if data else []
                readable, ready, _ = select.select([self._from], writable, [], 0.05)
                if ready:
                    data = data[os.write(self._to, data[:1 << 16]):]
                if readable:
                    chunk = os.read(self._from, 1 << 20)
                    if not chunk:
                        raise EOFError
                    buffer += chunk
                    if size is None and len(buffer) >= host.HEADER.size:
                        size = host.message_size(bytes(buffer[:host.HEADER.size]))
            header, out = host.unpack(bytes(buffer))
        except (EOFError, BrokenPipeError):
            deadline = time.monotonic() + 2
            while self._proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            status = self._proc.poll()
            output = self._last_output()
            self._stop()
            self._ended.append("exit")
            how = "closed its pipe" if status is None else processes.exit_reason(status)
            hint = " (sys.exit or os._exit in the backend?)" if status == 0 else ""
            return Reply(error=f"{what} ended its process: it {how}{hint}{output}")
        except (ValueError, KeyError, OSError) as e:
            self._stop()
            self._ended.append("garbled")
            return Reply(error=f"{what} gave a malformed answer ({plain(e, 120)}): its process was stopped")
        return Reply(header=header, arrays=out, error=None)

    # --- calls ---------------------------------------------------------------------------------------

    def call(self, method, *args, **kwargs):
        """Call `method` on the object in its process: args are the params dict and X (and Y), kwargs numbers.

        Returns:
            Reply: .value as decoded, .error (None, or a sentence naming the method), .changed, .detached.
        """
        if self.closed:
            return Reply(value=None, error=f"{method} not called: the backend was closed", changed=[], detached=[])
        if self._proc is None:
            if len(self._ended) > RESTARTS or "timeout" in self._ended:
                why = "an earlier call timed out" if "timeout" in self._ended else \
                    f"its process already ended {len(self._ended)} times"
                return Reply(value=None, error=f"{method} not called: {why}", changed=[], detached=[])
            try:
                self._start()
            except ValueError as e:
                return Reply(value=None, error=f"{method} not called: restarting its process failed: {e}",
                             changed=[], detached=[])
        header, arrays = {"op": "call", "method": method, "args": [], "kwargs": kwargs, "data": {}}, {}
        for i, a in enumerate(args):
            if isinstance(a, dict):
                header["args"].append({"kind": "params", "name": f"p{i}"})
                arrays |= {f"p{i}_{k}": np.asarray(v) for k, v in a.items()}
            elif a is None or isinstance(a, (int, float, str)):
                header["args"].append({"kind": "value", "value": a})
            else:
                a = np.asarray(a)
                key, name = _key(a), ("X", "Y")[i - 1] if i in (1, 2) else f"a{i}"
                header["args"].append({"kind": "data", "name": name})
                header["data"][name] = key
                if key not in self._sent:
                    arrays[f"data_{key}"] = a
        reply = self._exchange(header, arrays, method)
        if reply.error is None:
            self._sent |= set(header["data"].values())
        if reply.error is not None:
            return Reply(value=None, error=reply.error, changed=[], detached=[])
        h = reply.header
        changed = [n for n in h.get("changed", []) if isinstance(n, str)]
        if not h.get("ok"):
            return Reply(value=None, error=plain(h.get("error", f"{method} failed")), changed=changed,
                         detached=[], diverged=bool(h.get("diverged")))
        try:
            value = decode(_text_is_not_numbers(h["value"]), reply.arrays)
        except (KeyError, TypeError, ValueError, IndexError) as e:
            return Reply(value=None, error=f"{method} gave a malformed answer ({plain(e, 120)})",
                         changed=changed, detached=[])
        value = _plain(value)
        if h.get("result"):
            value = SimpleNamespace(**value) if isinstance(value, dict) else value
        return Reply(value=value, error=None, changed=changed,
                     detached=[plain(p, 40) for p in h.get("detached", [])][:8])

    def _method(self, method):
        def call(*args, **kwargs):
            reply = self.call(method, *args, **kwargs)
            if reply.error is not None:
                raise BackendFailed(reply.error)
            return reply.value
        call.__name__ = method
        return call

