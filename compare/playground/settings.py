"""The page's set-up: what the URL holds, each setting checked with a message that names it, and the caps.

Every value arrives as text (the URL's query string) or as JSON; nothing here trusts its type. The defaults
are `python -m compare train`'s, so that the page and the command line start from the same run.
"""
import argparse
import math
import numbers
from dataclasses import asdict, dataclass

import impls
from compare.deep_flags import deep_defaults
from impls.base import MAX_SEED
from impls.io.datasets import DATASETS

# Caps, said on the page: a step of the largest problem stays interactive, and sessions stay bounded.
MAX_HIDDEN = 64             # hidden units per layer
MAX_LAYERS = 6              # hidden layers: L = 7 draws 35 equation rows and a graph of 21 operations and the cost
MAX_EXAMPLES = 5000         # m, of a data set or an uploaded file
MAX_FEATURES = 32           # n_x
MAX_UPLOAD_BYTES = 1_000_000
MAX_TEST_PERCENT = 80
MAX_NOISE = 1.0             # added noise, in standard deviations of each feature
MAX_STEPS = 100             # iterations one request may ask for
CSV = "csv"                 # the data set name of an uploaded file; its content never travels in the URL
# random: randn × 0.01 (week 3); sqrt: randn / √n_{l−1} (the week-4 application's); zero: the lecture's all-zero
# weights, whose hidden units stay identical
INITS = ("random", "sqrt", "zero")
INIT_SCALES = {"random": 0.01, "sqrt": "sqrt", "zero": 0.0}


class SettingError(ValueError):
    """A setting the page cannot use: `.field` names it (as the URL does), the message says why."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Settings:
    dataset: str = "planar"
    noise: float = 0.0
    test: int = 0                   # percent of the examples held out as the test set
    hidden: tuple = (4,)            # units per hidden layer: (4,) is week 3's network, (20, 7, 5) a deep one
    activation: str = "tanh"
    lr: float = 1.2                 # with more than one hidden layer, parse's default is depth_defaults'
    dtype: str = "float64"
    backends: tuple = ()            # () means every installed one; numpy, the reference, is always first
    seed: int = 0
    init: str = "random"

    @property
    def depth(self):
        """L, the number of layers with weights: the hidden ones and the output."""
        return len(self.hidden) + 1

    def to_dict(self):
        d = asdict(self)
        d["hidden"] = ",".join(str(n) for n in self.hidden)
        d["backends"] = ",".join(self.backends)
        return d


def engines():
    """The backends the page can run, reference first: the single-process ones that are installed."""
    return [n for n in impls.available_backends() if n not in impls.DATA_PARALLEL]


def _text(value, field):
    if isinstance(value, bool) or not isinstance(value, (str, numbers.Real)):
        raise SettingError(field, f"{LABELS[field]}: expected a value, got {type(value).__name__}")
    text = str(value).strip()
    if len(text) > 100:
        raise SettingError(field, f"{LABELS[field]}: {text[:40]!r}… is too long")
    return text


def _number(value, field, low, high, kind=float):
    text = _text(value, field)
    try:
        number = kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise SettingError(field, f"{LABELS[field]}: {text!r} is not {what}") from None
    if not math.isfinite(number) or not (low < number if field == "lr" else low <= number) or number > high:
        bound = f"> {low:g}" if field == "lr" else f"from {low:g} to {high:g}"
        raise SettingError(field, f"{LABELS[field]}: {text!r} must be a finite number {bound}")
    return number


def _choice(value, field, choices):
    text = _text(value, field)
    if text not in choices:
        raise SettingError(field, f"{LABELS[field]}: unknown {text!r}; choose one of: {', '.join(choices)}")
    return text


def _hidden(value):
    """Units per hidden layer, comma-separated as on the command line: 4 is week 3's network, 20,7,5 a deep one."""
    text = _text(value, "hidden")
    layers = [part.strip() for part in text.split(",")]
    if len(layers) > MAX_LAYERS:
        raise SettingError("hidden", f"Hidden units: {text!r} asks for {len(layers)} hidden layers; the playground "
                           f"takes at most {MAX_LAYERS}")
    if len(layers) > 1 and not all(layers):
        raise SettingError("hidden", f"Hidden units: {text!r} has an empty layer; give one size per hidden layer, "
                           "separated by commas as in 20,7,5")
    return tuple(_number(n, "hidden", 1, MAX_HIDDEN, int) for n in layers)


def depth_defaults(hidden):
    """{"lr", "init"} where the set-up leaves them: the command line's per depth (compare.deep_flags):
    1.2 and random × 0.01 with one hidden layer, 0.0075 and randn / √n_{l−1} with more."""
    args = argparse.Namespace(hidden=list(hidden), lr=None, init_scale=None)
    deep_defaults(args)
    return {"lr": args.lr, "init": next(k for k, v in INIT_SCALES.items() if v == args.init_scale)}


def _backends(value):
    text = _text(value, "backends")
    installed = engines()
    names = [n.strip() for n in text.split(",") if n.strip()] if text else list(installed)
    for n in names:
        if n not in installed:
            hint = "" if n not in impls.BACKENDS or n in impls.DATA_PARALLEL else f" ({impls.install_hint(n)})"
            raise SettingError("backends", f"Backends: {n!r} is not one the page can run{hint}; choose from "
                               f"{', '.join(installed)}")
    return tuple(["numpy"] + [n for n in installed if n in names and n != "numpy"])


LABELS = {"dataset": "Data set", "noise": "Noise", "test": "Test split", "hidden": "Hidden units",
          "activation": "Activation", "lr": "Learning rate", "dtype": "Dtype", "backends": "Backends",
          "seed": "Seed", "init": "Initialisation"}
PARSERS = {
    "dataset": lambda v: _choice(v, "dataset", DATASETS + (CSV,)),
    "noise": lambda v: _number(v, "noise", 0, MAX_NOISE),
    "test": lambda v: _number(v, "test", 0, MAX_TEST_PERCENT, int),
    "hidden": _hidden,
    "activation": lambda v: _choice(v, "activation", impls.ACTIVATIONS),
    "lr": lambda v: _number(v, "lr", 0, 1e308),
    "dtype": lambda v: _choice(v, "dtype", impls.DTYPES),
    "backends": _backends,
    "seed": lambda v: _number(v, "seed", 0, MAX_SEED, int),
    "init": lambda v: _choice(v, "init", INITS),
}


def parse(raw):
    """Settings from a {name: text} mapping (the URL's query, or the page's JSON); missing names keep
    their defaults. Raises SettingError for an unknown name or a value that cannot be used."""
    if not isinstance(raw, dict):
        raise SettingError(None, f"the settings must be an object of name: value, got {type(raw).__name__}")
    unknown = [k for k in raw if k not in PARSERS]
    if unknown:
        shown = str(unknown[0])[:40]
        raise SettingError(None, f"unknown setting {shown!r}; the settings are {', '.join(PARSERS)}")
    values = {k: PARSERS[k](v) for k, v in raw.items()}
    if "backends" not in values:
        values["backends"] = _backends("")
    for k, v in depth_defaults(values.get("hidden", Settings.hidden)).items():
        values.setdefault(k, v)
    return Settings(**values)


def caps():
    """The limits, as the page states them."""
    return {"hidden": MAX_HIDDEN, "layers": MAX_LAYERS, "examples": MAX_EXAMPLES, "features": MAX_FEATURES,
            "upload_bytes": MAX_UPLOAD_BYTES, "test": MAX_TEST_PERCENT, "noise": MAX_NOISE, "steps": MAX_STEPS}
