"""Command line: `python -m compare [run|train] ...` (also installed as `backprop-compare`)."""
import argparse
import importlib
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

import impls
from impls.datasets import DATASETS, load_dataset

# Modules that add commands of their own: each has register(subparsers), which adds its parsers and
# sets func=handler(args) -> exit status. They import heavy libraries inside their handlers only.
EXTENSIONS = ["compare.explain"]


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2: a typo is not a crash
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _number(kind, low, low_ok):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {kind.__name__}") from None
        if not math.isfinite(value) or value < low or (value == low and not low_ok):
            raise argparse.ArgumentTypeError(f"{text!r} must be {'>=' if low_ok else '>'} {low}")
        return value
    return parse


positive_int, count, positive_float = _number(int, 1, True), _number(int, 0, True), _number(float, 0, False)


def add_model_args(p):
    """The model and data flags that every command shares."""
    p.add_argument("--dataset", default="planar", metavar="NAME|CSV",
                   help=f"{', '.join(DATASETS)}, or a CSV file (header row, 0/1 label last) (default: planar)")
    p.add_argument("--hidden", type=positive_int, default=4, help="hidden units n_h (default: 4)")
    p.add_argument("--activation", choices=impls.ACTIVATIONS, default="tanh", help="hidden activation g1")
    p.add_argument("--lr", type=positive_float, default=1.2, help="learning rate α (default: 1.2)")
    p.add_argument("--iterations", type=count, default=10000, help="gradient descent steps (default: 10000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights (default: 0)")
    p.add_argument("--dtype", choices=impls.DTYPES, default="float64")
    p.add_argument("--device", default=None, help="torch/jax device: cpu, cuda, gpu (default: cpu)")


def backend_list(text):
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in impls.BACKENDS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"unknown backend {unknown[0] if unknown else text!r}; "
                                         f"choose from {', '.join(impls.BACKENDS)}")
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"a backend is named twice in {text!r}")
    return names


def build_parser():
    parser = Parser(prog="compare", description="Hand-written backprop vs PyTorch autograd vs JAX grad, "
                    "for a network with one hidden layer. Without a command, runs `run`.")
    sub = parser.add_subparsers(dest="command", parser_class=Parser, metavar="COMMAND")
    run = sub.add_parser("run", help="compare the backends: cost, gradients, intermediates, finite "
                         "differences, training (the default command)")
    run.add_argument("--backends", type=backend_list, default=None, metavar="A,B,...",
                     help="comma-separated, the first is the reference (default: every installed backend)")
    add_model_args(run)
    run.add_argument("--steps", type=positive_int, default=10, metavar="K",
                     help="steps each backend takes from each checkpoint of the reference (default: 10)")
    run.add_argument("--checkpoint-every", type=positive_int, default=None, metavar="N",
                     help="spacing of trajectory checkpoints (default: iterations/100)")
    run.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the report as JSON")
    run.add_argument("--plots", type=Path, default=Path("compare-plots"), metavar="DIR",
                     help="folder for the PNGs (default: ./compare-plots)")
    run.add_argument("--no-plots", action="store_true", help="write no pictures")
    run.set_defaults(func=cmd_run)
    train = sub.add_parser("train", help="train one backend, printing the cost as the course does")
    train.add_argument("--backend", choices=impls.BACKENDS, default="numpy")
    add_model_args(train)
    train.add_argument("--print-every", type=positive_int, default=1000, metavar="N",
                       help="print the cost every N iterations (default: 1000)")
    train.set_defaults(func=cmd_train)
    for module in EXTENSIONS:
        importlib.import_module(module).register(sub)
    return parser


def load_problem(args):
    """(X, Y, initial params) from the shared flags."""
    X, Y = load_dataset(args.dataset, seed=args.seed)
    params = impls.init_params(X.shape[0], args.hidden, Y.shape[0], seed=args.seed, dtype=args.dtype)
    return X, Y, params


def accuracy(backend, params, X, Y):
    return float(np.mean(backend.predict(params, X) == Y))


def progress_bar(total, desc):
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit="it", leave=False, disable=None, file=sys.stderr)


def cmd_train(args):
    backend = impls.get_backend(args.backend, activation=args.activation, dtype=args.dtype, device=args.device)
    X, Y, params = load_problem(args)
    print(f"Training the {backend.name} backend ({args.activation}, {args.dtype}) on {args.dataset}: "
          f"X {X.shape}, n_h={args.hidden}, learning rate {args.lr:g}, {args.iterations} iterations")
    with progress_bar(args.iterations, backend.name) as bar:
        def report(iteration, cost):
            bar.update(iteration - bar.n)
            bar.write(f"Cost after iteration {iteration}: {cost:f}")
        start = time.perf_counter()
        result = backend.train(params, X, Y, learning_rate=args.lr, iterations=args.iterations,
                               record_every=args.print_every, callback=report)
        seconds = time.perf_counter() - start
    print(f"Final cost: {result.final_cost:f}")
    print(f"Training accuracy: {100 * accuracy(backend, result.params, X, Y):.2f}%")
    print(f"Wall time: {seconds:.2f} s")
    return 0


def cmd_run(args):
    from compare.comparison import compare_backends

    names, notes = args.backends, []
    if names is None:
        names = impls.available_backends()
        notes = [f"skipped {n}: not installed (pip install 'backprop-compare[{n}]')"
                 for n in impls.BACKENDS if n not in names]
    backends = [impls.get_backend(n, activation=args.activation, dtype=args.dtype, device=args.device)
                for n in names]
    X, Y, params = load_problem(args)
    if args.json is not None and not args.json.parent.is_dir():
        raise ValueError(f"--json {args.json}: folder {args.json.parent} does not exist")
    print(f"Comparing {', '.join(names)} on {args.dataset} ({args.iterations} iterations)...", flush=True)
    with progress_bar(None, "comparing") as bar:
        def progress(done, total):
            bar.total = total
            bar.update(done - bar.n)
        report = compare_backends(backends, params, X, Y, learning_rate=args.lr, iterations=args.iterations,
                                  checkpoint_every=args.checkpoint_every, steps=args.steps,
                                  dataset=args.dataset, progress=progress)
    report.notes += notes
    print(report)
    if args.json is not None:
        args.json.write_text(json.dumps(report.to_dict(), indent=1, allow_nan=False))
        print(f"Report written to {args.json}")
    if not args.no_plots:
        from compare.plots import write_plots
        paths = write_plots(report, backends, X, Y, args.plots)
        print(f"Plots written to {args.plots}/: {', '.join(p.name for p in paths)}")
    return 0 if report.ok else 1


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv.insert(0, "run")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, OSError, impls.BackendNotInstalled) as e:
        print(f"compare: error: {e}", file=sys.stderr)
        return 2
    except impls.TrainingDiverged as e:
        print(f"compare: {e}", file=sys.stderr)
        return 1
