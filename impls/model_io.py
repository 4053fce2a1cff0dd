"""Model files: trained parameters and their configuration in one .npz, no pickles, written atomically.

A model file is a NumPy .npz archive holding four float arrays W1, b1, W2, b2 and one string,
`config`, the configuration as JSON. It is read with allow_pickle=False, so loading one never runs
code; a pickle, or an archive with object arrays, is refused.
"""
import json
import numbers
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np

import impls
from impls.base import ACTIVATIONS, DTYPES, PARAM_NAMES, check_choice, check_params
from impls.files import atomic_write, check_destination  # noqa: F401 (check_destination: for callers)

FORMAT = "backprop-compare model"
FORMAT_VERSION = 1
SIZES = ("n_x", "n_h", "n_y")
_WRITTEN = ("format", "format_version", "version")  # save_model sets these itself


def save_model(path, params, config):
    """Write trained parameters and their configuration to a .npz file, atomically.

    Args:
        path: the file to write, conventionally ending in .npz; its folder must exist. An existing
            file is replaced only once the new one is completely written.
        params: dict of arrays W1, b1, W2, b2.
        config: dict with "backend" (trained on), "activation" and "dtype", and any other
            JSON-able settings to keep with the model (data set, learning rate, ...). The sizes
            n_x, n_h, n_y, the file format and the package version are added.

    Returns:
        The configuration as written, a dict.

    Raises:
        ValueError: params or config are not valid, or path is not a writable place.
        OSError: the operating system failed to write the file.
    """
    if not isinstance(config, Mapping):
        raise ValueError(f"config must be a dict, got {type(config).__name__}")
    config = {k: v for k, v in config.items() if k not in _WRITTEN}
    for key, choices in (("backend", impls.BACKENDS), ("activation", ACTIVATIONS), ("dtype", DTYPES)):
        if key not in config:
            raise ValueError(f"config needs {key!r} (one of: {', '.join(choices)})")
        check_choice(config[key], key, choices)
    n_x = _shape(params, "W1")[-1]
    p = check_params(params, n_x, None, config["dtype"])
    sizes = {"n_x": n_x, "n_h": p["W1"].shape[0], "n_y": p["W2"].shape[0]}
    for key, size in sizes.items():
        if key in config and config[key] != size:
            raise ValueError(f"config says {key}={config[key]!r}, but the parameters have {key}={size}")
    config = {**config, **sizes, "format": FORMAT, "format_version": FORMAT_VERSION, "version": impls.__version__}
    try:
        text = json.dumps(config, allow_nan=False, default=_plain)
    except (TypeError, ValueError) as e:
        raise ValueError(f"config must hold only finite numbers, strings, lists and dicts ({e})") from None
    atomic_write(path, lambda f: np.savez(f, **p, config=np.array(text)))
    return json.loads(text)


def load_model(path):
    """Read a model file written by save_model.

    Args:
        path: the .npz file.

    Returns:
        (params, config): params a dict of NumPy arrays W1, b1, W2, b2 in the model's dtype;
        config the dict save_model wrote (backend, activation, dtype, n_x, n_h, n_y, format,
        format_version, version and any other settings saved with it).

    Raises:
        ValueError: the file is missing, is not a model file, holds a pickle or object arrays
            (refused: loading them could run code), is damaged, or contradicts itself.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, not a model file")
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    try:
        with open(path, "rb") as f:
            head = f.read(6)
    except OSError as e:
        raise ValueError(f"{path}: cannot be read ({e.strerror or e})") from None
    if head[:1] == b"\x80":
        raise ValueError(f"{path}: is a pickle; refused, since loading a pickle can run arbitrary code "
                         "(a model file is a .npz written by save_model)")
    if head == b"\x93NUMPY":
        raise ValueError(f"{path}: is a single .npy array, not a model file (a .npz written by save_model)")
    if head[:2] != b"PK":
        raise ValueError(f"{path}: is not a model file (a .npz written by save_model)")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in (*PARAM_NAMES, "config") if k not in data.files]
            arrays = {} if missing else {k: data[k] for k in (*PARAM_NAMES, "config")}
    except ValueError as e:
        if "allow_pickle" in str(e) or "Object arrays" in str(e):
            raise ValueError(f"{path}: holds object arrays (pickled Python objects); refused, since "
                             "loading them can run arbitrary code") from None
        raise ValueError(f"{path}: is damaged ({e})") from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise ValueError(f"{path}: is damaged or incomplete ({e})") from None
    if missing:
        raise ValueError(f"{path}: is not a model file ({', '.join(missing)} missing)")
    config = _read_config(path, arrays.pop("config"))
    for k, v in arrays.items():
        if v.dtype.kind != "f":
            raise ValueError(f"{path}: {k} is stored as {v.dtype}, not as floating point numbers")
    try:
        params = check_params(arrays, config["n_x"], config["n_y"], config["dtype"])
        if params["W1"].shape[0] != config["n_h"]:
            raise ValueError(f"W1 has {params['W1'].shape[0]} hidden units, the config says n_h={config['n_h']}")
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    return params, config


def _shape(params, key):
    try:
        return np.shape(params[key]) or (0,)
    except (KeyError, TypeError, ValueError):
        return (0,)  # check_params names the problem


def _plain(value):
    if isinstance(value, np.generic):  # NumPy scalars, e.g. a learning rate read from an array
        return value.item()
    raise TypeError(f"{type(value).__name__} {value!r} is not JSON")


def _read_config(path, array):
    if array.dtype.kind != "U" or array.shape != ():
        raise ValueError(f"{path}: is not a model file (its config is not a JSON string)")
    try:
        config = json.loads(str(array[()]))
    except ValueError as e:
        raise ValueError(f"{path}: is damaged (config: {e})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ValueError(f"{path}: is not a {FORMAT} file")
    version = config.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"{path}: is damaged (format_version {version!r})")
    if version > FORMAT_VERSION:
        raise ValueError(f"{path}: was written by a newer backprop-compare ({config.get('version')}, file "
                         f"format {version}; this one reads format {FORMAT_VERSION}): upgrade to load it")
    try:
        for key, choices in (("backend", impls.BACKENDS), ("activation", ACTIVATIONS), ("dtype", DTYPES)):
            check_choice(config.get(key), key, choices)
        for key in SIZES:
            value = config.get(key)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{key} must be a whole number >= 1, got {value!r}")
    except ValueError as e:
        raise ValueError(f"{path}: is damaged (config: {e})") from None
    return config
