"""Model files: trained parameters and their configuration in one .npz, no pickles, written atomically.

A model file is a NumPy .npz archive holding the float arrays W1, b1, …, WL, bL of a network of any depth and
one string, `config`, the configuration as JSON (its layer_dims among it). It is read with allow_pickle=False,
so loading one never runs code; a pickle, or an archive with object arrays, is refused.

Format 1 holds a two-layer network (sizes n_x, n_h, n_y), format 2 any depth (layer_dims too). A two-layer
network is still written as format 1, which every version reads; a deeper one as format 2, which a version
that cannot read it refuses by name ("written by a newer backprop-compare").
"""
import json
import math
import numbers
import os
import re
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np

import impls
from impls.base import ACTIVATIONS, DTYPES, check_params, layer_dims, names_text, param_names, sizes_text
from impls.checks import check_choice
from impls.memory import check_memory, layers_memory
from impls.io.files import atomic_write

FORMAT = "backprop-compare model"
FORMAT_VERSION = 2  # the newest this version reads and writes: 1 for two layers, 2 for any depth
SIZES = ("n_x", "n_h", "n_y")  # format 1's sizes
_WRITTEN = ("format", "format_version", "version")  # save_model sets these itself


def save_model(path, params, config):
    """Write trained parameters and their configuration to a .npz file, atomically.

    Args:
        path: the file to write, conventionally ending in .npz; its folder must exist. An existing
            file is replaced only once the new one is completely written.
        params: dict of arrays W1, b1, …, WL, bL.
        config: dict with "backend" (trained on), "activation" and "dtype", and any other
            JSON-able settings to keep with the model (data set, learning rate, init_scale, ...). The
            sizes (layer_dims, n_x, n_y, and n_h for two layers), the file format and the package version
            are added.

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
    dims = layer_dims(p)
    sizes = {"n_x": dims[0], "n_y": dims[-1], "layer_dims": dims, **({"n_h": dims[1]} if len(dims) == 3 else {})}
    if "n_h" in config and "n_h" not in sizes:
        raise ValueError(f"config says n_h={config['n_h']!r}, but the parameters have layer_dims {dims}")
    for key, size in sizes.items():
        if key in config and config[key] != size:
            raise ValueError(f"config says {key}={config[key]!r}, but the parameters have {key}={size}")
    config = {**config, **sizes, "format": FORMAT, "format_version": 1 if len(dims) == 3 else 2,
              "version": impls.__version__}
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
        (params, config): params a dict of NumPy arrays W1, b1, …, WL, bL in the model's dtype;
        config the dict save_model wrote (backend, activation, dtype, layer_dims, n_x, n_y, n_h for two
        layers, format, format_version, version and any other settings saved with it); layer_dims is
        added for a format-1 file, which has only n_x, n_h, n_y.

    Raises:
        ValueError: the file is missing, is not a model file, holds a pickle or object arrays
            (refused: loading them could run code), is damaged, or contradicts itself.
    """
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise ValueError(f"path must be a file name (str or os.PathLike), got {type(path).__name__}")
    path = Path(os.fsdecode(path))
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
        # Every header and the configuration are read before any array, and each array's size is
        # checked against them first: a small file declaring huge arrays, or a zip bomb, is refused
        # without allocating or inflating anything.
        with zipfile.ZipFile(path) as archive:
            members = _members(path, archive)
            headers = {k: _header(path, archive, info, k) for k, info in members.items()}
            config = _read_config(path, _read_array(path, archive, members["config"], headers["config"], "config"))
            names = param_names(len(config["layer_dims"]) - 1)
            _check_members(path, members, names)
            _check_headers(path, headers, config, names)
            arrays = {k: _read_array(path, archive, members[k], headers[k], k) for k in names}
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError) as e:
        raise ValueError(f"{path}: is damaged or incomplete ({one_line(e)})") from None
    try:
        params = check_params(arrays, config["n_x"], config["n_y"], config["dtype"])
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    return params, config


MAX_CONFIG_CHARS = 1_000_000  # what save_model writes is a few hundred characters
MAX_CONFIG_DEPTH = 100  # nesting of lists and dicts in it; far deeper would overflow json's recursion
MAX_RATIO = 100  # uncompressed : compressed; float weights hardly compress (save_model stores them as is)


def one_line(e):
    return " ".join(str(e).split())


def _members(path, archive):
    members = {}
    for info in archive.infolist():
        key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        if key in members:
            raise ValueError(f"{path}: is damaged ({key} is stored twice)")
        members[key] = info
    if "config" not in members:
        raise ValueError(f"{path}: is not a model file (config missing)")
    return members


def _check_members(path, members, names):
    """The arrays an archive holds against the parameters its configuration names."""
    missing = [k for k in names if k not in members]
    if missing:
        raise ValueError(f"{path}: is not a model file ({', '.join(missing[:5])} missing)")
    extra = sorted(set(members) - {*names, "config"})
    if extra:
        raise ValueError(f"{path}: holds {', '.join(map(repr, extra[:5]))} besides {names_text(len(names) // 2)} "
                         "and config; a model file holds only those, so it is refused")


def _header(path, archive, info, key):
    """(shape, dtype) from a member's .npy header, checked against the member's stored size."""
    try:
        with archive.open(info) as f:
            version = np.lib.format.read_magic(f)
            if version not in ((1, 0), (2, 0)):
                raise ValueError(f".npy format {version[0]}.{version[1]}, which model files do not use")
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, dtype = read(f)
            offset = f.tell()
    except ValueError as e:
        raise ValueError(f"{path}: is damaged ({key}: {one_line(e)})") from None
    if dtype.hasobject:
        raise ValueError(f"{path}: holds object arrays (pickled Python objects); refused, since "
                         "loading them can run arbitrary code")
    if any(n < 0 for n in shape):
        raise ValueError(f"{path}: is damaged ({key} declares shape {shape})")
    size = offset + math.prod(shape) * dtype.itemsize
    if info.file_size != size:
        raise ValueError(f"{path}: is damaged ({key} declares {shape} {dtype}, {size} bytes, "
                         f"but holds {info.file_size})")
    if info.compress_type != zipfile.ZIP_STORED and size > 2 ** 20 and size > MAX_RATIO * info.compress_size:
        raise ValueError(f"{path}: {key} is compressed {size // max(info.compress_size, 1)}:1, which "
                         "weights never are; refused as a possible zip bomb")
    return shape, dtype


def _check_headers(path, headers, config, names):
    """The arrays' declared types and shapes against the configuration, before reading them."""
    dims = config["layer_dims"]
    for l in range(1, len(dims)):
        for k, expected in ((f"W{l}", (dims[l], dims[l - 1])), (f"b{l}", (dims[l], 1))):
            shape, dtype = headers[k]
            if dtype.kind != "f":
                raise ValueError(f"{path}: {k} is stored as {dtype}, not as floating point numbers")
            if shape != expected:
                raise ValueError(f"{path}: {k} has shape {shape}, expected {expected} for {sizes_text(dims)}")
    stored = sum(math.prod(headers[k][0]) * headers[k][1].itemsize for k in names)
    check_memory(max(stored, layers_memory(dims, 0, config["dtype"])),
                 f"{path}: the model ({sizes_text(dims)}, {config['dtype']})")


def _read_array(path, archive, info, header, key):
    shape, dtype = header
    if key == "config" and (dtype.kind != "U" or shape != ()):
        raise ValueError(f"{path}: is not a model file (its config is not a JSON string)")
    if key == "config" and dtype.itemsize > 4 * MAX_CONFIG_CHARS:
        raise ValueError(f"{path}: is damaged (its config has {dtype.itemsize // 4} characters, "
                         f"more than the {MAX_CONFIG_CHARS} allowed)")
    with archive.open(info) as f:
        return np.lib.format.read_array(f, allow_pickle=False)


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
    text = str(array[()])
    depth = _depth(text)
    if depth > MAX_CONFIG_DEPTH:
        raise ValueError(f"{path}: is damaged (config: nested {depth} levels deep, more than "
                         f"the {MAX_CONFIG_DEPTH} allowed)")
    try:
        config = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise ValueError(f"{path}: is damaged (config: {e})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ValueError(f"{path}: is not a {FORMAT} file")
    version = config.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"{path}: is damaged (format_version {version!r})")
    if version > FORMAT_VERSION:
        raise ValueError(f"{path}: was written by a newer backprop-compare ({config.get('version')}, file "
                         f"format {version}; this one reads format {FORMAT_VERSION}): upgrade to load it")
    try:
        for key, choices in (("backend", impls.BACKENDS), ("activation", ACTIVATIONS), ("dtype", DTYPES)):
            check_choice(config.get(key), key, choices)
        _read_sizes(config, version)
        if not isinstance(config.get("version", ""), str):
            raise ValueError(f"version must be a string, got {config['version']!r}")
    except ValueError as e:
        raise ValueError(f"{path}: is damaged (config: {e})") from None
    return config


def _size(value, key):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{key} must be a whole number >= 1, got {value!r}")
    return value


def _read_sizes(config, version):
    """config["layer_dims"] checked against n_x, n_y (and n_h for two layers); a format-1 file's from its
    n_x, n_h, n_y."""
    if version == 1 and "layer_dims" not in config:  # written before any depth was
        config["layer_dims"] = [_size(config.get(key), key) for key in SIZES]
    dims = config.get("layer_dims")
    if not isinstance(dims, list) or len(dims) < 2:
        raise ValueError(f"layer_dims must be a list of at least two sizes, got {dims!r}")
    if version == 1 and len(dims) != 3:
        raise ValueError(f"format 1 holds two layers, but layer_dims is {dims}")
    for i, n in enumerate(dims):
        _size(n, f"layer_dims[{i}]")
    named = {"n_x": dims[0], "n_y": dims[-1], **({"n_h": dims[1]} if len(dims) == 3 else {})}
    for key, size in named.items():
        if _size(config.get(key), key) != size:
            raise ValueError(f"{key}={config[key]} contradicts layer_dims {dims}")


def _depth(text):
    """How deeply lists and dicts nest in JSON `text`, counted without parsing it (no recursion)."""
    depth = deepest = 0
    for bracket in re.findall(r"[\[\]{}]", re.sub(r'"(?:[^"\\]|\\.)*"', "", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest
