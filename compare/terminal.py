"""Standard output and error as every command needs them, set up once by main().

- A stream that cannot encode a character (PYTHONIOENCODING=ascii, a latin-1 terminal) gets a plain
  ASCII spelling of it (Δ -> D, θ -> theta, ‖ -> ||, ≤ -> <=) instead of a UnicodeEncodeError.
- A closed pipe (`... | head -2`) silences the stream and the command goes on to finish its work and
  write its files, as the Unix tools do: no "Broken pipe" line, nothing at shutdown.
- Any other write error on standard output (a full disk) is remembered and reported in one line
  once the work is done, instead of abandoning the work.
"""
import codecs
import contextlib
import os
import sys
import unicodedata

ERRORS = "backprop-compare-ascii"
SPELLINGS = {
    "Δ": "D", "θ": "theta", "‖": "||", "≤": "<=", "≥": ">=", "ᵀ": "^T", "−": "-", "—": "-", "─": "-", "·": "*",
    "∂": "d", "σ": "sigma", "′": "'", "″": "''", "×": "x", "²": "^2", "ε": "eps", "α": "alpha", "µ": "u",
    "μ": "u", "…": "...", "Σ": "sum", "√": "sqrt", "⊙": "*", "≈": "~", "≠": "!=", "→": "->", "–": "-", "✓": "ok",
    "✗": "x",
}


def ascii_spelling(char):
    """A plain ASCII spelling of one character: from the table, else its decomposition, else '?'."""
    if char in SPELLINGS:
        return SPELLINGS[char]
    plain = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
    return plain or "?"


def _spell(error):
    if not isinstance(error, UnicodeEncodeError):
        raise error
    return "".join(ascii_spelling(c) for c in error.object[error.start:error.end]), error.end


codecs.register_error(ERRORS, _spell)


def spelled(text, stream=None):
    """`text` as `stream` (standard output) will show it: its ASCII spelling where the stream cannot encode
    it. A table pads the spelled text, so that its columns stay aligned when ᵀ becomes ^T."""
    encoding = getattr(stream or sys.stdout, "encoding", None) or "ascii"
    try:
        text.encode(encoding)
        return text
    except UnicodeEncodeError:
        return text.encode(encoding, ERRORS).decode(encoding)
    except LookupError:
        return text


class Stream:
    """sys.stdout or sys.stderr: writes pass through until the stream fails, then stop quietly."""

    def __init__(self, stream):
        self.stream = stream
        self.error = None  # the OSError that silenced it, None while it works

    def write(self, text):
        if self.error is None:
            try:
                return self.stream.write(text)
            except OSError as e:
                self._silence(e)
        return len(text)

    def flush(self):
        if self.error is None:
            try:
                self.stream.flush()
            except OSError as e:
                self._silence(e)

    def __getattr__(self, name):  # isatty, fileno, encoding, ... of the real stream
        return getattr(self.stream, name)

    def _silence(self, error):
        """Point the file descriptor at /dev/null, so that what is still buffered, and the flush at
        shutdown, go nowhere instead of raising again."""
        self.error = error
        with contextlib.suppress(OSError, ValueError, AttributeError):
            null = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(null, self.stream.fileno())
            finally:
                os.close(null)


@contextlib.contextmanager
def guarded():
    """sys.stdout and sys.stderr as Streams that spell out what they cannot encode, for the block."""
    saved = sys.stdout, sys.stderr
    for stream in saved:
        encoding = getattr(stream, "encoding", None) or "utf-8"
        with contextlib.suppress(LookupError, AttributeError, ValueError, OSError):
            if not codecs.lookup(encoding).name.startswith("utf"):
                stream.reconfigure(errors=ERRORS)
    sys.stdout, sys.stderr = out, err = Stream(saved[0]), Stream(saved[1])
    try:
        yield out
    finally:
        out.flush()
        err.flush()
        if sys.stdout is out and sys.stderr is err:
            sys.stdout, sys.stderr = saved


def output_error(stream):
    """One line for a write error on standard output other than a closed pipe, or None."""
    e = stream.error
    if e is None or isinstance(e, BrokenPipeError):
        return None
    return f"cannot write to standard output ({e.strerror or e})"
