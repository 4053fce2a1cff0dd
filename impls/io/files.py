"""Files the project writes: checked before the work, written atomically, never over what is not a file.

A destination is refused when it is a folder, a special file (a FIFO would block the writer, a device
such as /dev/null would be replaced by a regular file), a link to nothing, one of the command's own
inputs (same device and inode, whatever its name), or in a folder that cannot be written in (found
out by creating and removing a temporary file there). A symbolic link to a regular file is written
through: the file it names is replaced, atomically, beside itself.
"""
import contextlib
import os
import stat
import tempfile
from pathlib import Path


def check_destination(path, inputs=(), name=None):
    """Where the file `path` will be written; call it before long work so that a bad path costs nothing.

    Args:
        path: the file to write.
        inputs: the files the command reads, as paths or (label, path) pairs; the destination may be
            none of them, even under another name or through a link.
        name: how messages name the destination, e.g. "--save m.npz" (default: the path).

    Returns:
        The Path to replace: `path`, or the regular file that its symbolic link names.

    Raises:
        ValueError: the destination must not or cannot be written; the message names `path` as given.
    """
    path = Path(path)
    label = name or str(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    info = _stat(target, label)
    if info is None and os.path.lexists(path) and path.is_symlink():
        raise ValueError(f"{label}: is a symbolic link to {target}, which does not exist; refused")
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise ValueError(f"{label}: is a folder")
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{label}: is {_kind(info.st_mode)}, not a regular file; refused (it would be replaced "
                         "or block the writer)")
    folder = target.parent
    if not folder.is_dir():
        raise ValueError(f"{label}: {folder} is not a folder" if os.path.lexists(folder)
                         else f"{label}: folder {folder} does not exist")
    if info is not None:
        for input_label, input_path in _labelled(inputs):
            if _same_file(info, input_path):
                raise ValueError(f"{label}: is the input {input_label}; refused, writing it would destroy the input")
        if not os.access(target, os.W_OK):
            raise ValueError(f"{label}: is read-only; refused")
    _probe(folder, label)
    return target


def check_folder(directory, names, inputs=(), name=None):
    """Check before the work that the files `names` can be written into `directory` (created if missing).

    Args:
        directory: the folder, e.g. --plots DIR.
        names: the file names that will be written into it.
        inputs: as for check_destination.
        name: how messages name the folder (default: the path).

    Raises:
        ValueError: as check_destination, for the folder or for any of the files.
    """
    directory = Path(directory)
    label = name or str(directory)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"{label}: is a file, not a folder")
    if os.path.lexists(directory) and not directory.exists():
        raise ValueError(f"{label}: is a symbolic link to {os.path.realpath(directory)}, which does not exist")
    if directory.is_dir():
        for file in names:
            check_destination(directory / file, inputs, f"{label}/{file}")
        return
    ancestor = directory.parent
    while not os.path.lexists(ancestor) and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ValueError(f"{label}: cannot be created, {ancestor} is not a folder")
    _probe(ancestor, label)


def atomic_write(path, write):
    """Write a file through `write(binary_file)` into a temporary file beside it, then rename.

    The rename is atomic: a reader, a crash or Ctrl-C midway sees the old file or the new one, never
    half, and the temporary file is removed. A replaced file keeps its permissions.
    """
    target = check_destination(path)
    mode = _mode(target)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name[:200]}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)  # mkstemp makes it private (0600)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target


def _stat(path, label):
    try:
        return os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as e:
        raise ValueError(f"{label}: cannot be examined ({e.strerror or e})") from None


def _kind(mode):
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a socket" if stat.S_ISSOCK(mode) else "a special file"


def _labelled(inputs):
    for item in inputs:
        yield item if isinstance(item, tuple) else (str(item), item)


def _same_file(info, other):
    if other is None:
        return False
    try:
        o = os.stat(other)
    except (OSError, ValueError, TypeError):
        return False  # an input that is not a file (a data set's name) is no file to destroy
    return (o.st_dev, o.st_ino) == (info.st_dev, info.st_ino)


def _probe(folder, label):
    """Create and remove a file in `folder`: the one sure test that writing there will work."""
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".backprop-compare-probe.", suffix=".tmp")
    except OSError as e:
        raise ValueError(f"{label}: cannot write in folder {folder} ({e.strerror or e})") from None
    try:
        os.close(fd)
    finally:
        os.unlink(tmp)


def _mode(target):
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask  # a new file's usual mode
