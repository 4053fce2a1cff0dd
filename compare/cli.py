"""Command line: `python -m compare train ...` (also installed as `backprop-compare`)."""
import argparse
import math
import sys
import time

import numpy as np

import impls
from impls.datasets import DATASETS, load_dataset

COMMANDS = ("train",)


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


def build_parser():
    parser = Parser(prog="compare", description="Hand-written backprop vs PyTorch autograd vs JAX grad, "
                    "for a network with one hidden layer. ")
    sub = parser.add_subparsers(dest="command", parser_class=Parser, metavar="COMMAND")
    train = sub.add_parser("train", help="train one backend, printing the cost as the course does")
    train.add_argument("--backend", choices=impls.BACKENDS, default="numpy")
    add_model_args(train)
    train.add_argument("--print-every", type=positive_int, default=1000, metavar="N",
                       help="print the cost every N iterations (default: 1000)")
    train.set_defaults(func=cmd_train)
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


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, impls.BackendNotInstalled) as e:
        print(f"compare: error: {e}", file=sys.stderr)
        return 2
    except impls.TrainingDiverged as e:
        print(f"compare: {e}", file=sys.stderr)
        return 1
