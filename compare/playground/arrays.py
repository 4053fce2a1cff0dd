"""Arrays as the page's JSON carries them: non-finite numbers as text, small matrices in full, large ones
as heat strips, and heat maps as base64 bytes, 0 to 255 over a stated range."""
import base64

import numpy as np

FULL = 64           # a value with at most this many entries is sent in full, a larger one as a heat strip
FULL_ROWS = 10      # ... and at most this many rows: a deep network's db1 (20, 1) reads better as a strip
STRIP = (32, 400)   # the most rows and columns a heat strip has; more are averaged into these


def number(x):
    """A float as JSON can carry it: non-finite values as the strings 'inf', '-inf', 'nan'."""
    x = float(x)
    return x if np.isfinite(x) else str(x)


def to_bytes(values, low, high):
    scaled = np.clip((np.asarray(values, dtype=np.float64) - low) / ((high - low) or 1.0), 0, 1)
    return base64.b64encode(np.nan_to_num(np.round(scaled * 255)).astype(np.uint8).tobytes()).decode("ascii")


def _bins(a, axis, most):
    """`a` with its `axis` averaged into at most `most` bins of equal size (the last may be smaller)."""
    n = a.shape[axis]
    if n <= most:
        return a
    edges = np.linspace(0, n, most + 1).astype(int)
    return np.stack([np.take(a, range(lo, hi), axis=axis).mean(axis=axis) for lo, hi in zip(edges, edges[1:])],
                    axis=axis)


def matrix(a, full=FULL, strip=True):
    """A value for the page: shape and summary, and every entry (small) or a heat strip (large, if `strip`)."""
    a = np.asarray(a, dtype=np.float64)
    finite = a[np.isfinite(a)]
    view = {"shape": list(a.shape), "min": number(finite.min()) if finite.size else None,
            "max": number(finite.max()) if finite.size else None,
            "mean": number(finite.mean()) if finite.size else None, "nonfinite": int(a.size - finite.size)}
    if a.size <= full and (a.ndim < 2 or a.shape[0] <= FULL_ROWS or not strip):
        view["full"] = [[number(x) for x in row] for row in a.reshape(a.shape[0] if a.ndim else 1, -1)]
        return view
    if not strip:
        return view
    strip = _bins(_bins(np.nan_to_num(a.reshape(a.shape[0], -1)), 0, STRIP[0]), 1, STRIP[1])
    scale = float(np.max(np.abs(strip))) or 1.0
    view["strip"] = {"rows": strip.shape[0], "cols": strip.shape[1], "scale": scale,
                     "data": to_bytes(strip, -scale, scale)}
    return view
