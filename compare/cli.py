"""Command line: `python -m compare [run|train] ...` (also installed as `backprop-compare`)."""
import argparse
import importlib
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

import impls
from compare import plots, terminal
from compare.numerics import accuracy
from impls.io.datasets import DATASETS, load_dataset
from impls.io.images import IMAGE_DATASETS
from compare.deep_flags import deep_defaults, hidden_layers, init_scale, model_text, network_text
from impls.io.files import atomic_write, check_destination, check_folder

# Modules that add commands of their own: each has register(subparsers), which adds its parsers and
# sets func=handler(args) -> exit status. They import heavy libraries inside their handlers only.
EXTENSIONS = ["compare.teach.explain", "compare.teach.check", "compare.teach.demos", "compare.bench",
              "compare.playground"]


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2: a typo is not a crash
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see --help)\n")


def one_line(text):
    """`text` with unprintable characters escaped: a file name may hold a line break, an error line may not."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def _number(kind, low, low_ok):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {kind.__name__}") from None
        if not math.isfinite(value) or value < low or (value == low and not low_ok):
            raise argparse.ArgumentTypeError(f"{text!r} must be {'>=' if low_ok else '>'} {low}")
        if kind is int and value > impls.checks.MAX_COUNT:  # counts are int64 inside the frameworks
            raise argparse.ArgumentTypeError(f"{text!r} must be <= {impls.checks.MAX_COUNT}")
        return value
    return parse


positive_int, count, positive_float = _number(int, 1, True), _number(int, 0, True), _number(float, 0, False)


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
    parser = Parser(prog=prog_name(), description="Gradient descent for a network with one hidden layer by every "
                    f"backend ({', '.join(impls.BACKENDS)}): hand-written backprop against autograd. Without a "
                    "command, runs `run`.")
    sub = parser.add_subparsers(dest="command", parser_class=Parser, metavar="COMMAND")
    run = sub.add_parser("run", help="compare the backends: cost, gradients, intermediates, finite "
                         "differences, training (the default command)")
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


def cmd_train(args):
    if args.save is not None:  # before the run, not after it
        check_destination(args.save, [("--dataset", args.dataset)], f"--save {args.save}")
    backend = impls.get_backend(args.backend, activation=args.activation, dtype=args.dtype, device=args.device,
                                workers=args.workers)
    X, Y, params = load_problem(args)
    print(f"Training the {backend.name} backend ({args.activation}, {args.dtype}) on {args.dataset}: "
          f"X {X.shape}, {network_text(params, args.init_scale)}, learning rate {args.lr:g}, "
          f"{args.iterations} iterations")
    with progress_bar(args.iterations, backend.name) as bar:
        def report(iteration, cost):
            bar.update(iteration - bar.n)
            bar.write(f"Cost after iteration {iteration}: {cost:f}")
        start = time.perf_counter()
        result = backend.train(params, X, Y, learning_rate=args.lr, iterations=args.iterations,
                               record_every=args.print_every, callback=report)
        seconds = time.perf_counter() - start
    if args.save is not None:  # first the file, then the printing, which may fail (a closed pipe)
        impls.save_model(args.save, result.params, {
            "backend": backend.name, "activation": args.activation, "dtype": args.dtype,
            "dataset": args.dataset, "seed": args.seed, "init_scale": args.init_scale, "learning_rate": args.lr,
            "iterations": args.iterations, "final_cost": result.final_cost})
    print(f"Final cost: {result.final_cost:f}")
    print(f"Training accuracy: {100 * accuracy(backend, result.params, X, Y):.2f}%")
    print(f"Wall time: {seconds:.2f} s")
    if args.save is not None:
        print(f"Model saved to {args.save}")
    return 0


def cmd_predict(args):
    if args.out is not None:
        check_destination(args.out, [("--model", args.model), ("--dataset", args.dataset)], f"--out {args.out}")
    params, config = impls.load_model(args.model)
    name = args.backend or config["backend"]
    if args.backend is None and name not in impls.available_backends():
        print(f"{name}, which trained the model, is not installed; predicting with numpy")
        name = "numpy"
    backend = impls.get_backend(name, activation=config["activation"], dtype=config["dtype"], device=args.device)
    dataset = args.dataset if args.dataset is not None else config.get("dataset")
    if not isinstance(dataset, str):
        raise ValueError(f"{args.model} does not name the data it was trained on; give --dataset")
    X, Y = load_dataset(dataset, seed=args.seed if args.seed is not None else config.get("seed", 0),
                        n_features=config["n_x"])
    if Y is not None and Y.shape[0] != config["n_y"]:
        raise ValueError(f"the model has {config['n_y']} outputs, but {dataset} has {Y.shape[0]} label row(s)")
    proba = backend.predict_proba(params, X)
    predictions = (proba > 0.5).astype(np.int64)  # as backend.predict, without a second forward pass
    print(f"Predicting with the {backend.name} backend on {dataset}: {X.shape[1]} examples; model {args.model} "
          f"(trained with {config['backend']}: {model_text(config)}, {config['activation']}, {config['dtype']})")
    if Y is not None:
        correct = int(np.sum(predictions == Y))  # as train's accuracy: over every output of every example
        print(f"Accuracy: {100 * correct / Y.size:.2f}% ({correct} of {Y.size})")
    if args.out is not None:
        atomic_write(args.out, lambda f: f.write(predictions_csv(predictions, proba).encode()))
        print(f"Predictions written to {args.out}")
    elif Y is None:
        print(f"Predicted 1 for {int(predictions.sum())} and 0 for {int((1 - predictions).sum())} of "
              f"{predictions.size} outputs; --out FILE writes them per example")
    return 0


def predictions_csv(predictions, proba):
    """One row per example: the 0/1 prediction and the probability of 1, per output."""
    n_y = predictions.shape[0]
    names = ["prediction", "probability"] if n_y == 1 else (
        [f"prediction_{i + 1}" for i in range(n_y)] + [f"probability_{i + 1}" for i in range(n_y)])
    rows = [",".join(names)]
    for pred, p in zip(predictions.T, proba.T):
        rows.append(",".join([str(int(v)) for v in pred] + [repr(float(v)) for v in p]))
    return "\n".join(rows) + "\n"


def cmd_run(args):
    from compare import specs
    from compare.comparison import compare_backends

    if len(args.hidden) != 1:  # the comparison reads the two-layer names (impls.PARAM_NAMES, ...) to this day
        raise ValueError(f"run --hidden {','.join(map(str, args.hidden))}: comparing networks of more than one "
                         "hidden layer is not yet written; train, predict and every backend's API take them")

    chosen, notes = args.backends, []
    if chosen is None:
        # the data-parallel backends join when --workers asks for them
        wanted = [n for n in impls.BACKENDS if args.workers > 1 or n not in impls.DATA_PARALLEL]
        chosen = [specs.parse_one(n) for n in impls.available_backends(data_parallel=args.workers > 1)]
        notes = [f"skipped {n}: not installed ({impls.install_hint(n)})"
                 for n in wanted if n not in [s.target for s in chosen]]
    # --device is for torch and JAX; the numpy reference runs on the CPU beside them. --workers is for
    # the data-parallel backends: the others are what they are compared with.
    backends = specs.name_all(chosen, [specs.load(s, activation=args.activation, dtype=args.dtype,
                                                  device=args.device, workers=args.workers) for s in chosen])
    names = [b.name for b in backends]
    inputs = [("--dataset", args.dataset)]
    if args.json is not None:  # before the run, not after it
        check_destination(args.json, inputs, f"--json {args.json}")
    if not args.no_plots:
        check_folder(args.plots, plots.NAMES, inputs + ([("--json", args.json)] if args.json else []),
                     f"--plots {args.plots}")
    X, Y, params = load_problem(args)
    print(f"Comparing {', '.join(names)} on {args.dataset} ({args.iterations} iterations)...", flush=True)
    with progress_bar(None, "comparing") as bar:
        def progress(done, total):
            bar.total = total
            bar.update(done - bar.n)
        report = compare_backends(backends, params, X, Y, learning_rate=args.lr, iterations=args.iterations,
                                  checkpoint_every=args.checkpoint_every, steps=args.steps,
                                  dataset=args.dataset, seed=args.seed, progress=progress)
    report.notes += notes
    if args.json is not None:  # first the files, then the printing, which may fail (a closed pipe)
        text = json.dumps(report.to_dict(), indent=1, allow_nan=False)
        atomic_write(args.json, lambda f: f.write(text.encode()))
    if not args.no_plots:
        from compare.plots import write_plots
        paths = write_plots(report, backends, X, Y, args.plots)
    print(report)
    if args.json is not None:
        print(f"Report written to {args.json}")
    if not args.no_plots:
        print(f"Plots written to {args.plots}/: {', '.join(p.name for p in paths)}")
    return 0 if report.ok else 1


def main(argv=None):
    """The command line; returns the exit status. Ctrl-C: one line, 130; a closed pipe: quiet."""
    with terminal.guarded() as out:
        try:
            status = _command(argv)
        except KeyboardInterrupt:  # atomic writes have removed their temporary files
            print("interrupted", file=sys.stderr)
            return 130
        out.flush()
        problem = terminal.output_error(out)
        if problem:
            print(f"compare: error: {problem}", file=sys.stderr)
            return status or 1
    return status


def _command(argv):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv.insert(0, "run")
    args = build_parser().parse_args(argv)
    try:
        workers = getattr(args, "workers", 1)
        if isinstance(workers, int):  # bench's --workers is a list: it sets XLA_FLAGS in each child process
            use_host_devices(workers)
        return args.func(args)
    except (ValueError, OSError, impls.BackendNotInstalled) as e:
        print(f"compare: error: {one_line(e)}", file=sys.stderr)
        return 2
    except impls.TrainingDiverged as e:
        print(f"compare: {one_line(e)}", file=sys.stderr)
        return 1
