"""`python -m compare demo NAME`: the lecture's warnings, each shown with numbers and a picture.

zero-init      every hidden unit stays identical when they all start the same
learning-rate  too small crawls, the course's 1.2 converges, too large oscillates or diverges
hidden-units   1 to 50 hidden units on the planar data: accuracy and decision boundaries
"""
import math
from pathlib import Path

import numpy as np

import impls
from compare.numerics import accuracy
from impls.io.files import check_folder

DEMOS = ("zero-init", "learning-rate", "hidden-units")
CLIP = 1e3  # the learning-rate picture shows costs up to this; a diverging run is drawn up to it, then ×
DEFAULTS = {  # the values each demo tries, and its iterations, as the course's exercises do
    "zero-init": {"iterations": 5000},
    "learning-rate": {"values": [0.01, 0.1, 1.2, 20, 50], "iterations": 5000},
    "hidden-units": {"values": [1, 2, 3, 4, 5, 20, 50], "iterations": 5000},
}


def _distinct_units(params):
    """How many different hidden units there are: unit j is row j of W1 and b1 and column j of W2."""
    units = np.hstack([params["W1"], params["b1"], params["W2"].T])
    return len(np.unique(units, axis=0))


def zero_init(backend, X, Y, *, n_h, learning_rate, iterations, seed, record_every=50):
    """Train from all-zero, all-equal and random weights; follow every hidden unit's weights.

    Returns:
        list of dicts: name, params (trained), iterations, W1 (the first input weight of each unit at each
        record, shape (records, n_h)), distinct (distinct hidden units at the end), accuracy, cost.
    """
    n_x = X.shape[0]
    starts = {"zeros": impls.init_params(n_x, n_h, Y.shape[0], scale=0.0),
              "all equal (0.5)": {k: np.full_like(v, 0.5) for k, v in impls.init_params(n_x, n_h, Y.shape[0]).items()},
              "random (0.01·randn)": impls.init_params(n_x, n_h, Y.shape[0], seed=seed)}
    runs = []
    for name, params in starts.items():
        marks, track = [0], [params["W1"][:, 0].copy()]
        while marks[-1] < iterations:
            n = min(record_every, iterations - marks[-1])
            params = backend.train(params, X, Y, learning_rate=learning_rate, iterations=n, record_every=n).params
            marks.append(marks[-1] + n)
            track.append(params["W1"][:, 0].copy())
        runs.append({"name": name, "params": params, "iterations": marks, "W1": np.array(track),
                     "distinct": _distinct_units(params), "accuracy": accuracy(backend, params, X, Y),
                     "cost": backend.cost(params, X, Y)})
    return runs


def learning_rates(backend, params, X, Y, *, rates, iterations, record_every=10):
    """Train once per learning rate from the same start, recording the cost every `record_every` steps.

    Returns:
        list of dicts: rate, iterations, costs, rises (how often the recorded cost went up), diverged
        (the message, or None), accuracy and final cost (None if diverged), and a verdict: "diverges",
        "oscillates" (the cost rose at more than 5% of the records), "crawls" (its cost fell by less than
        half as much as the best run's) or "converges".
    """
    runs = []
    for rate in rates:
        marks, costs = [], []

        def record(i, cost):
            marks.append(i)
            costs.append(cost)
        try:
            result = backend.train(params, X, Y, learning_rate=rate, iterations=iterations,
                                   record_every=record_every, callback=record)
            marks.append(iterations)
            costs.append(result.final_cost)
            diverged, share, final = None, accuracy(backend, result.params, X, Y), result.final_cost
        except impls.TrainingDiverged as e:
            diverged, share, final = str(e), None, None
        rises = int(np.sum(np.diff(costs) > 0))
        runs.append({"rate": rate, "iterations": marks, "costs": costs, "rises": rises, "diverged": diverged,
                     "accuracy": share, "final_cost": final})
    best = min((r["final_cost"] for r in runs if r["final_cost"] is not None), default=None)
    for r in runs:
        r["verdict"] = ("diverges" if r["diverged"] else
                        "oscillates" if r["rises"] > 0.05 * (len(r["costs"]) - 1) else
                        "crawls" if r["costs"][0] - r["final_cost"] < 0.5 * (r["costs"][0] - best) else "converges")
    return runs


def hidden_units(backend, X, Y, *, sizes, learning_rate, iterations, seed):
    """Train one network per hidden layer size, as the course's exercise does.

    Returns:
        list of dicts: n_h, params, accuracy, cost.
    """
    runs = []
    for n_h in sizes:
        params = impls.init_params(X.shape[0], n_h, Y.shape[0], seed=seed, dtype=backend.dtype)
        params = backend.train(params, X, Y, learning_rate=learning_rate, iterations=iterations,
                               record_every=iterations or 1).params
        runs.append({"n_h": n_h, "params": params, "accuracy": accuracy(backend, params, X, Y),
                     "cost": backend.cost(params, X, Y)})
    return runs


# --- pictures ---------------------------------------------------------------------------------------

def _save(fig, directory, name):
    from compare.plots import save_figure

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    return save_figure(fig, directory / name, 100)


def plot_zero_init(runs, backend, X, Y, directory):
    from compare.plots import _pyplot, decision_boundaries

    plt = _pyplot()
    drawable = X.shape[0] == 2
    fig, axes = plt.subplots(2 if drawable else 1, len(runs), figsize=(4.3 * len(runs), 8 if drawable else 4),
                             squeeze=False)
    for j, run in enumerate(runs):
        ax = axes[0][j]
        for unit in range(run["W1"].shape[1]):
            ax.plot(run["iterations"], run["W1"][:, unit], lw=2.5 - 0.4 * unit, label=f"unit {unit + 1}")
        ax.set(title=f"{run['name']}: {run['distinct']} distinct unit(s)", xlabel="iteration",
               ylabel="W1[unit, 0], each unit's first weight")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        if drawable:
            decision_boundaries(axes[1][j], lambda P, p=run["params"]: backend.predict(p, P), X, Y,
                                f"accuracy {100 * run['accuracy']:.1f}%")
    fig.suptitle("Zero or equal initialisation: every hidden unit gets the same gradient and stays the same")
    return _save(fig, directory, "demo-zero-init.png")


def plot_learning_rates(runs, directory):
    from compare.plots import STYLES, _pyplot

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.8))
    for i, run in enumerate(runs):
        end = "" if run["diverged"] else f", final {run['final_cost']:.3f}"
        calm = run["verdict"] in ("converges", "crawls")
        costs = np.minimum(run["costs"], CLIP)  # a diverging run's last costs would squash every other curve
        line, = ax.plot(run["iterations"], costs, STYLES[i % len(STYLES)], lw=2.2 if calm else 0.8,
                        alpha=1 if calm else 0.7, zorder=3 if calm else 2,
                        label=f"α = {run['rate']:g}: {run['verdict']}{end}")
        if run["diverged"]:
            ax.plot(run["iterations"][-1:], costs[-1:], "x", ms=10, color=line.get_color())
            ax.annotate("diverged", (run["iterations"][-1], costs[-1]), textcoords="offset points", xytext=(6, 0))
    ax.set_yscale("log")
    ax.set(xlabel="iteration", ylabel="cost J (log scale)",
           title="Learning rate: too small crawls, too large oscillates or diverges")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return _save(fig, directory, "demo-learning-rate.png")


def plot_hidden_units(runs, backend, X, Y, directory, planar=True):
    from compare.plots import _pyplot, decision_boundaries

    plt = _pyplot()
    cols = min(4, len(runs) + 1)
    rows = math.ceil((len(runs) + 1) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 4 * rows), squeeze=False)
    flat = axes.ravel()
    for ax, run in zip(flat, runs):
        decision_boundaries(ax, lambda P, p=run["params"]: backend.predict(p, P), X, Y,
                            f"n_h = {run['n_h']}: {100 * run['accuracy']:.2f}%")
    ax = flat[len(runs)]
    ax.plot(range(len(runs)), [100 * r["accuracy"] for r in runs], "o-")
    ax.set_xticks(range(len(runs)), [str(r["n_h"]) for r in runs])
    ax.set(xlabel="hidden units n_h", ylabel="training accuracy (%)", title="Accuracy against n_h")
    ax.grid(alpha=0.3)
    for ax in flat[len(runs) + 1:]:
        ax.axis("off")
    fig.suptitle("Hidden layer size: one unit draws a line, a few draw the flower, many fit the noise" if planar
                 else "Hidden layer size: the decision boundary each n_h draws")
    return _save(fig, directory, "demo-hidden-units.png")


# --- command line -----------------------------------------------------------------------------------

def _values(text):
    import argparse

    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers") from None
    if not values or not all(math.isfinite(v) and v > 0 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: give numbers > 0, separated by commas")
    return values


def register(subparsers):
    from compare import cli

    p = subparsers.add_parser("demo", help="the lecture's warnings with numbers and a picture: "
                              + ", ".join(DEMOS))
    p.add_argument("demo", choices=DEMOS, help="zero-init, learning-rate or hidden-units")
    p.add_argument("--backend", choices=impls.BACKENDS, default="numpy", help="(default: numpy)")
    cli.add_model_args(p)
    for action in p._actions:  # each demo has its own number of iterations; --hidden, --lr may be varied
        if action.dest == "iterations":
            action.default, action.help = None, "gradient descent steps (default: 5000, as the course's exercise)"
        if action.dest in ("hidden", "lr"):
            action.default = None
            action.help += "; learning-rate varies --lr and hidden-units varies --hidden (see --values)"
    p.add_argument("--values", type=_values, default=None, metavar="A,B,...",
                   help="the learning rates (learning-rate) or hidden layer sizes (hidden-units) to try "
                        "(default: 0.01,0.1,1.2,20,50 and 1,2,3,4,5,20,50)")
    p.add_argument("--plots", type=Path, default=Path("compare-plots"), metavar="DIR",
                   help="folder for the picture (default: ./compare-plots)")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args):
    from compare import cli

    varied = {"learning-rate": ("lr", "--lr"), "hidden-units": ("hidden", "--hidden")}.get(args.demo)
    if varied and getattr(args, varied[0]) is not None:
        raise ValueError(f"demo {args.demo} tries several values of {varied[1]} itself: choose them with --values")
    if args.values is not None and not varied:
        raise ValueError(f"demo {args.demo} varies nothing: --values is for learning-rate and hidden-units")
    values = args.values or DEFAULTS[args.demo].get("values")
    if args.demo == "hidden-units" and not all(v == int(v) for v in values):
        raise ValueError(f"--values for hidden-units must be whole numbers, got {values}")
    args.iterations = DEFAULTS[args.demo]["iterations"] if args.iterations is None else args.iterations
    args.hidden = 4 if args.hidden is None else args.hidden
    args.lr = 1.2 if args.lr is None else args.lr
    check_folder(args.plots, [f"demo-{args.demo}.png"], [("--dataset", args.dataset)], f"--plots {args.plots}")
    backend = impls.get_backend(args.backend, activation=args.activation, dtype=args.dtype, device=args.device)
    X, Y, params = cli.load_problem(args)
    print(f"demo {args.demo}: {backend.name} backend, {args.activation}, {args.dtype}, data {args.dataset} "
          f"X {X.shape}, {args.iterations} iterations", flush=True)
    if args.demo == "zero-init":
        path = _demo_zero_init(backend, X, Y, args)
    elif args.demo == "learning-rate":
        path = _demo_learning_rate(backend, X, Y, params, values, args)
    else:
        path = _demo_hidden_units(backend, X, Y, [int(v) for v in values], args)
    print(f"Picture written to {path}")
    return 0


def _demo_zero_init(backend, X, Y, args):
    print(f"n_h = {args.hidden}, learning rate {args.lr:g}; a hidden unit is its row of W1 and b1 and its column "
          "of W2")
    runs = zero_init(backend, X, Y, n_h=args.hidden, learning_rate=args.lr, iterations=args.iterations,
                     seed=args.seed)
    print(f"  {'start':22}{'distinct units':>16}{'final cost':>12}{'accuracy':>10}")
    for run in runs:
        print(f"  {run['name']:22}{run['distinct']:>10} of {args.hidden:<3}{run['cost']:>12.4f}"
              f"{100 * run['accuracy']:>9.2f}%")
    print("Units that start equal get equal gradients (B4 gives each the same row of dZ1) and so stay equal:\n"
          "the layer computes one feature however wide it is. Random starts break the symmetry.")
    if not np.any(runs[0]["params"]["W1"]):
        print(f"From zeros, W1 never moves at all: A1 = {args.activation}(0) = 0 keeps dW2 = dZ2 A1ᵀ = 0, and "
              "W2 = 0 keeps dZ1 = W2ᵀ dZ2 ⊙ g1′ = 0.")
    return plot_zero_init(runs, backend, X, Y, args.plots)


def _demo_learning_rate(backend, X, Y, params, rates, args):
    print(f"n_h = {args.hidden}; every run starts from the same parameters (seed {args.seed})")
    runs = learning_rates(backend, params, X, Y, rates=rates, iterations=args.iterations)
    records = max(len(run["costs"]) for run in runs) - 1  # a run that diverged stopped early
    print(f"  {'α':>8}{'cost @100':>11}{'final cost':>12}{'accuracy':>10}  {'':11}cost rose (of the cost's "
          f"{records} records, every 10 steps)")
    for run in runs:
        early = f"{run['costs'][10]:>11.4f}" if len(run["costs"]) > 10 else f"{'—':>11}"  # cost after 100 steps
        if run["diverged"]:
            print(f"  {run['rate']:>8g}{early}{'—':>12}{'—':>10}  diverges at iteration {run['iterations'][-1]}")
            continue
        print(f"  {run['rate']:>8g}{early}{run['final_cost']:>12.4f}{100 * run['accuracy']:>9.2f}%  "
              f"{run['verdict']:11}{run['rises']}")
    print(lesson(runs))
    return plot_learning_rates(runs, args.plots)


def lesson(runs):
    """What the learning-rate runs show, in words, naming the rates that showed it."""
    said = {v: ", ".join(f"{r['rate']:g}" for r in runs if r["verdict"] == v)
            for v in ("crawls", "converges", "oscillates", "diverges")}
    parts = [f"α = {said['crawls']} took tiny steps and the cost crawls" if said["crawls"] else "",
             f"α = {said['converges']} went down steadily" if said["converges"] else "",
             f"α = {said['oscillates']} overshot the valley, so the cost went up again and again"
             if said["oscillates"] else "",
             f"α = {said['diverges']} blew up (diverged)" if said["diverges"] else ""]
    return "; ".join(p for p in parts if p) + "."


def _demo_hidden_units(backend, X, Y, sizes, args):
    print(f"learning rate {args.lr:g}, initial weights from seed {args.seed}")
    runs = []
    print(f"  {'n_h':>5}{'final cost':>12}{'accuracy':>10}")
    for n_h in sizes:
        run = hidden_units(backend, X, Y, sizes=[n_h], learning_rate=args.lr, iterations=args.iterations,
                           seed=args.seed)[0]
        runs.append(run)
        print(f"  {n_h:>5}{run['cost']:>12.4f}{100 * run['accuracy']:>9.2f}%", flush=True)
    best = max(runs, key=lambda r: r["accuracy"])
    print(f"Best training accuracy: {100 * best['accuracy']:.2f}% with n_h = {best['n_h']} (training accuracy only: "
          "there is no test set here).")
    if args.dataset == "planar" and min(sizes) <= 2 < max(sizes):
        print("One or two units draw little more than a line; from three on, the flower's petals are found;\n"
              "many more units fit the training points a little better without learning more of the shape.")
    if X.shape[0] != 2:
        print("(decision boundaries need 2 features; the picture shows accuracy only)")
    return (plot_hidden_units(runs, backend, X, Y, args.plots, planar=args.dataset == "planar") if X.shape[0] == 2
            else _accuracy_only(runs, args))


def _accuracy_only(runs, args):
    from compare.plots import _pyplot

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([str(r["n_h"]) for r in runs], [100 * r["accuracy"] for r in runs], "o-")
    ax.set(xlabel="hidden units n_h", ylabel="training accuracy (%)", title="Accuracy against n_h")
    ax.grid(alpha=0.3)
    return _save(fig, args.plots, "demo-hidden-units.png")
