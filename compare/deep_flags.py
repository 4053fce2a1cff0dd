"""The command line's flags for networks of any depth: --hidden as one size per hidden layer (20,7,5),
--init-scale, the course's defaults per depth, and how the commands name a network. compare.cli's
add_model_args(p, deep=True) adds them."""
import argparse
import math
import re

import impls
from impls.checks import MAX_COUNT


def hidden_layers(text):
    """--hidden 20,7,5: one hidden layer per number, each a size >= 1; `--hidden 4` is week 3's network."""
    sizes = []
    for part in (part.strip() for part in text.split(",")):
        if not re.fullmatch(r"[0-9]+", part) or int(part) < 1:
            raise argparse.ArgumentTypeError(f"{text!r}: each hidden layer's size must be a whole number >= 1, "
                                             f"separated by commas as in 20,7,5 (not {part!r})")
        if int(part) > MAX_COUNT:  # counts are int64 inside the frameworks
            raise argparse.ArgumentTypeError(f"{part!r} must be <= {MAX_COUNT}")
        sizes.append(int(part))
    return sizes


def init_scale(text):
    """--init-scale: a number >= 0 (the weights' factor, 0.01 in week 3) or sqrt (randn / √n_{l−1}, the week-4
    application's)."""
    if text.strip() == "sqrt":
        return "sqrt"
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a number >= 0 nor sqrt")
    return value


def deep_defaults(args):
    """--init-scale and --lr where not given, as the course chooses them: 0.01 and 1.2 with one hidden layer
    (week 3), sqrt and 0.0075 with more (the week-4 application; at 0.01 a deep network starts with vanishing
    signals, and at 1.2 a deep ReLU network's units die in the first steps)."""
    one = len(args.hidden) == 1
    if args.init_scale is None:
        args.init_scale = 0.01 if one else "sqrt"
    if args.lr is None:
        args.lr = 1.2 if one else 0.0075


def network_text(params, scale=0.01):
    """How train names a network: n_h=4 for week 3's, its layer_dims otherwise; the initial scale when it is
    not week 3's 0.01."""
    dims = impls.layer_dims(params)
    text = f"n_h={dims[1]}" if len(dims) == 3 else f"layer_dims {dims}"
    return text if scale == 0.01 else f"{text}, init {scale}"


def model_text(config):
    """A model file's sizes as predict prints them: n_x, n_h for week 3's network, its layer_dims otherwise."""
    dims = config["layer_dims"]
    return f"n_x={dims[0]}, n_h={dims[1]}" if len(dims) == 3 else f"layer_dims {dims}"
