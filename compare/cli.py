"""Command line: `python -m compare [run|train] ...` (also installed as `backprop-compare`)."""
import argparse
import importlib
import math
import os
import signal
import sys
import threading
from pathlib import Path

import impls
from compare import terminal
from impls.io.datasets import DATASETS, load_dataset
from impls.io.images import IMAGE_DATASETS
from compare.deep_flags import deep_defaults, hidden_layers, init_scale

# Modules that add commands of their own: each has register(subparsers), which adds its parsers and
# sets func=handler(args) -> exit status. They import heavy libraries inside their handlers only.
EXTENSIONS = ["compare.teach.explain", "compare.teach.check", "compare.teach.demos", "compare.bench",
              "compare.playground"]


class Parser(argparse.ArgumentParser):
    """Every command's parser (check's and bench's too): a usage error is one line, exit 2, in the one form
    every error of the command line takes (see `error_line`)."""

    def error(self, message):  # one line, exit 2: a typo is not a crash
        self.exit(2, error_line(f"{one_line(message)} (see {self.prog} --help)"))

    def format_help(self):
        text = super().format_help()
        if self._subparsers is not None and self.prog == prog_name():  # the top level: run is the default
            run = next(p for a in self._subparsers._group_actions for name, p in a.choices.items() if name == "run")
            options = run.format_help().partition("\n\n")[2].partition("\n")[2]  # after its usage and title
            text += f"\nWithout a command, `run` runs ({prog_name()} run --help); its options:\n{options}"
        return text


def error_line(message):
    """The one form of an error line, whatever the command: `python -m compare: error: ...`."""
    return f"{prog_name()}: error: {message}\n"


def one_line(text):
    """`text` with unprintable characters escaped: a file name may hold a line break, an error line may not."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def whole_number(text):
    """int(text), also for a whole number written with an exponent or a point (1e4, 10000.0)."""
    try:
        return int(text)
    except ValueError:
        pass
    from decimal import Decimal, InvalidOperation
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(text) from None
    if not value.is_finite() or value != value.to_integral_value():
        raise ValueError(text)
    return int(value)


def _number(kind, low, low_ok):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            what = "a whole number" if kind is whole_number else "a number"
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not math.isfinite(value) or value < low or (value == low and not low_ok):
            raise argparse.ArgumentTypeError(f"{text!r} must be {'>=' if low_ok else '>'} {low}")
        if kind is whole_number and value > impls.checks.MAX_COUNT:  # counts are int64 inside the frameworks
            raise argparse.ArgumentTypeError(f"{text!r} must be <= {impls.checks.MAX_COUNT}")
        return value
    return parse


positive_int, count, positive_float = (_number(whole_number, 1, True), _number(whole_number, 0, True),
                                       _number(float, 0, False))


def seed(text):
    value = count(text)
    if value > impls.base.MAX_SEED:
        raise argparse.ArgumentTypeError(f"{text!r} must be <= {impls.base.MAX_SEED}")
    return value


def add_model_args(p, deep=False):
    """The model and data flags that every command shares. `deep`: --hidden takes a comma list, one hidden
    layer per number (args.hidden a list: 20,7,5), and --init-scale is added; without it --hidden is one number
    (args.hidden an int), for the commands that know the two-layer network only."""
    p.add_argument("--dataset", default="planar", metavar="NAME|FILE",
                   help=f"{', '.join(DATASETS + IMAGE_DATASETS)}, a CSV file (header row, 0/1 label last) or an "
                   ".h5 file of the course's week-4 image layout (default: planar)")
    if deep:
        p.add_argument("--hidden", type=hidden_layers, default=[4], metavar="N[,N...]",
                       help="hidden layer sizes, one per layer: 4 is week 3's network, 20,7,5 the week-4 "
                       "application's (default: 4)")
        p.add_argument("--init-scale", type=init_scale, default=None, metavar="0.01|sqrt",
                       help="the initial weights: randn times this number, or sqrt for randn / √n_{l−1} "
                       "(default: 0.01 with one hidden layer, sqrt with more, as the course does)")
    else:
        p.add_argument("--hidden", type=positive_int, default=4, help="hidden units n_h (default: 4)")
    p.add_argument("--activation", choices=impls.ACTIVATIONS, default="tanh",
                   help="hidden activation g1 (default: tanh)")
    p.add_argument("--lr", type=positive_float, default=None if deep else 1.2, help="learning rate α (default: 1.2"
                   + (" with one hidden layer, 0.0075 with more)" if deep else ")"))
    p.add_argument("--iterations", type=count, default=10000, help="gradient descent steps (default: 10000)")
    p.add_argument("--seed", type=seed, default=0, help="seed of the initial weights (default: 0)")
    p.add_argument("--dtype", choices=impls.DTYPES, default="float64",
                   help="precision of the data and parameters (default: float64)")
    p.add_argument("--device", default=None, help="torch/jax device: cpu, cuda, gpu (default: cpu)")


def add_workers_arg(p):
    p.add_argument("--workers", type=positive_int, default=1, metavar="N",
                   help="processes (torch-ddp) or devices (jax-sharded) the examples are split over (default: 1)")


def use_host_devices(workers, flag="--xla_force_host_platform_device_count"):
    """Give JAX `workers` CPU devices for jax-sharded: XLA reads XLA_FLAGS once, when JAX starts."""
    if workers > 1 and "jax" not in sys.modules:
        kept = [f for f in os.environ.get("XLA_FLAGS", "").split() if not f.startswith(flag + "=")]
        os.environ["XLA_FLAGS"] = " ".join(kept + [f"{flag}={workers}"])


def backend_list(text):
    """Built-in backend names only (bench): comma-separated, each once."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in impls.BACKENDS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"unknown backend {unknown[0] if unknown else text!r}; "
                                         f"choose from {', '.join(impls.BACKENDS)}")
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"a backend is named twice in {text!r}")
    return names


def prog_name():
    """The command as it was typed: `python -m compare`, or the installed `backprop-compare`."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    script = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if spec is None and script.startswith("backprop-compare"):
        return script.removesuffix(".exe")
    return "python -m compare"


def backend_specs(text):
    """run --backends: built-in names, FILE.py:CLASS, MODULE:CLASS or entry points, each with an optional @DEVICE
    (compare.specs parses them)."""
    from compare import specs
    try:
        parsed = specs.parse(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if len({s.text for s in parsed}) != len(parsed):
        raise argparse.ArgumentTypeError(f"a backend is named twice in {text!r}")
    return parsed


def build_parser():
    from compare.commands import cmd_predict, cmd_run, cmd_train
    parser = Parser(prog=prog_name(), description="Gradient descent for a network with one hidden layer by every "
                    f"backend ({', '.join(impls.BACKENDS)}): hand-written backprop against autograd. Without a "
                    "command, runs `run`.")
    sub = parser.add_subparsers(dest="command", parser_class=Parser, metavar="COMMAND")
    run = sub.add_parser("run", help="compare the backends: forward values, cost, gradients, intermediates, finite "
                         "differences, training, predictions (the default command)")
    run.add_argument("--backends", type=backend_specs, default=None, metavar="A,B,...",
                     help="comma-separated, the first is the reference: built-in names, FILE.py:CLASS, "
                     "MODULE:CLASS or installed entry points, each optionally @DEVICE (torch@cuda) "
                     "(default: every installed built-in backend)")
    add_model_args(run, deep=True)
    add_workers_arg(run)
    run.add_argument("--steps", type=positive_int, default=10, metavar="K",
                     help="steps each backend takes from each checkpoint of the reference (default: 10)")
    run.add_argument("--checkpoint-every", type=positive_int, default=None, metavar="N",
                     help="spacing of trajectory checkpoints (default: iterations/100)")
    run.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the report as JSON")
    run.add_argument("--plots", type=Path, default=Path("compare-plots"), metavar="DIR",
                     help="folder for the PNGs (default: ./compare-plots)")
    run.add_argument("--no-plots", action="store_true", help="write no pictures")
    run.add_argument("--timeout", type=positive_float, default=None, metavar="S",
                     help="CPU seconds each call of a user's backend (FILE.py:CLASS, MODULE:CLASS, an entry point), "
                     "which runs in a process of its own, may take; one that waits without computing is stopped after "
                     "4 times as long (default: 300)")
    run.set_defaults(func=cmd_run)
    train = sub.add_parser("train", help="train one backend, printing the cost as the course does")
    train.add_argument("--backend", choices=impls.BACKENDS, default="numpy",
                       help="numpy is hand-written backprop, every other backend autograd (default: numpy)")
    add_model_args(train, deep=True)
    add_workers_arg(train)
    train.add_argument("--print-every", type=positive_int, default=1000, metavar="N",
                       help="print the cost every N iterations (default: 1000)")
    train.add_argument("--save", type=Path, default=None, metavar="MODEL.npz",
                       help="write the trained model to this file (no pickle; see predict)")
    train.set_defaults(func=cmd_train)
    predict = sub.add_parser("predict", help="predict with a model file written by train --save")
    predict.add_argument("--model", type=Path, required=True, metavar="MODEL.npz")
    predict.add_argument("--dataset", default=None, metavar="NAME|CSV",
                         help="a data set name, or a CSV file with the model's feature columns and "
                         "optionally a 0/1 label last (default: the data the model was trained on)")
    predict.add_argument("--seed", type=seed, default=None, help="seed of the scikit-learn data sets "
                         "(default: the one the model was trained with)")
    predict.add_argument("--backend", choices=impls.BACKENDS, default=None,
                         help="(default: the one it was trained with, or numpy if that is not installed)")
    predict.add_argument("--device", default=None, help="torch/jax device: cpu, cuda, gpu (default: cpu)")
    predict.add_argument("--out", type=Path, default=None, metavar="CSV",
                         help="write prediction and probability per example to this file")
    predict.set_defaults(func=cmd_predict)
    for module in EXTENSIONS:
        importlib.import_module(module).register(sub)
    return parser


def load_problem(args):
    """(X, Y, initial params) from the shared flags; with a list of hidden layers (add_model_args's deep), a
    network of that depth from init_deep_params, which for one hidden layer at 0.01 is init_params's start,
    and args.init_scale, args.lr set where the user left them to the course's (deep_defaults)."""
    X, Y = load_dataset(args.dataset, seed=args.seed)
    if isinstance(args.hidden, list):
        deep_defaults(args)
        dims = [X.shape[0], *args.hidden, Y.shape[0]]
        impls.memory.check_layers_memory(dims, X.shape[1], args.dtype)  # before allocating
        params = impls.init_deep_params(dims, seed=args.seed, scale=args.init_scale, dtype=args.dtype)
        return X, Y, params
    impls.memory.check_run_memory(X.shape[0], args.hidden, Y.shape[0], X.shape[1], args.dtype)  # before allocating
    params = impls.init_params(X.shape[0], args.hidden, Y.shape[0], seed=args.seed, dtype=args.dtype)
    return X, Y, params


def progress_bar(total, desc):
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit="it", leave=False, disable=None, file=sys.stderr)


class Terminated(BaseException):
    """SIGTERM: unwinds like Ctrl-C, so that every process the command started is stopped on the way out.
    A BaseException, as KeyboardInterrupt is: no `except Exception` around a user's code swallows it."""


def _terminate(signum, frame):
    raise Terminated


def main(argv=None):
    """The command line; returns the exit status. Ctrl-C: one line, 130; SIGTERM: one line, 143; a closed
    pipe: quiet. Every error is one line in one form (error_line)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    with terminal.guarded() as out:
        try:
            status = _command(argv)
        except KeyboardInterrupt:  # atomic writes have removed their temporary files
            print("interrupted", file=sys.stderr)
            return 130
        except Terminated:
            print("terminated", file=sys.stderr)
            return 143
        finally:
            from impls import processes
            processes.kill_all()  # whatever a user's backend or a worker left: nothing outlives the command
        out.flush()
        problem = terminal.output_error(out)
        if problem:
            print(error_line(problem), end="", file=sys.stderr)
            return status or 1
    return status


def data_parallel_chosen(args):
    """The data-parallel backends `args` asks for: train's --backend, run's --backends or, for run without
    --backends, both when --workers N > 1 (they then join the others)."""
    if getattr(args, "command", None) == "train":
        return [args.backend] if args.backend in impls.DATA_PARALLEL else []
    if getattr(args, "command", None) == "run":
        chosen = [s.target for s in args.backends if s.kind == "builtin"] if args.backends else impls.DATA_PARALLEL
        return [n for n in chosen if n in impls.DATA_PARALLEL]
    return []


def check_workers(args):
    """One rule for run and train: --workers N > 1 needs a data-parallel backend, and a count the machine can
    hold; checked before anything starts (JAX reads its device count once, when it starts)."""
    workers = getattr(args, "workers", 1)
    if not isinstance(workers, int) or workers == 1:  # bench's --workers is a list: checked per count there
        return
    parallel = data_parallel_chosen(args)
    if not parallel:
        named = args.backend if args.command == "train" else ", ".join(s.text for s in args.backends)
        raise ValueError(f"--workers {workers} is for the data-parallel backends torch-ddp and jax-sharded; "
                         f"{named} {'runs' if args.command == 'train' else 'run'} in one process")
    from impls.memory import check_workers as check_memory
    for name in parallel:
        check_memory(name, workers)


def _command(argv):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv.insert(0, "run")
    args = build_parser().parse_args(argv)
    from impls.parallel.process_group import WorkerFailed
    try:
        check_workers(args)
        workers = getattr(args, "workers", 1)
        if isinstance(workers, int):  # bench's --workers is a list: it sets XLA_FLAGS in each child process
            use_host_devices(workers)
        return args.func(args)
    except (ValueError, OSError, impls.BackendNotInstalled) as e:
        print(error_line(one_line(e)), end="", file=sys.stderr)
        return 2
    except (impls.TrainingDiverged, WorkerFailed) as e:
        print(error_line(one_line(e)), end="", file=sys.stderr)
        return 1
