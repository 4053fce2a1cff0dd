"""The handlers of the commands `run`, `train` and `predict` (compare/cli.py builds their parsers)."""
import json
import textwrap
import time

import numpy as np

import impls
from compare import plots
from compare.cli import load_problem, progress_bar
from compare.deep_flags import model_text, network_text
from compare.numerics import accuracy
from compare.units import units_note
from impls.io.datasets import load_dataset
from impls.io.files import atomic_write, check_destination, check_folder


def cost_text(cost):
    """A cost as the course prints it (0.693147), and with an exponent where that would take hundreds of digits
    (weights started at --init-scale 1e300 saturate the sigmoid: J is then about |Z|)."""
    return f"{cost:f}" if abs(cost) < 1e6 else f"{cost:.6e}"


def cmd_train(args):
    if args.save is not None:  # before the run, not after it
        check_destination(args.save, [("--dataset", args.dataset)], f"--save {args.save}")
    backend = impls.get_backend(args.backend, activation=args.activation, dtype=args.dtype, device=args.device,
                                workers=args.workers)
    X, Y, params = load_problem(args)
    on = f" on {backend.workers} workers" if backend.data_parallel else ""
    print(f"Training the {backend.name} backend{on} ({args.activation}, {args.dtype}) on {args.dataset}: "
          f"X {X.shape}, {network_text(params, args.init_scale)}, learning rate {args.lr:g}, "
          f"{args.iterations} iterations")
    with progress_bar(args.iterations, backend.name) as bar:
        def report(iteration, cost):
            bar.update(iteration - bar.n)
            bar.write(f"Cost after iteration {iteration}: {cost_text(cost)}")
        start = time.perf_counter()
        result = backend.train(params, X, Y, learning_rate=args.lr, iterations=args.iterations,
                               record_every=args.print_every, callback=report)
        seconds = time.perf_counter() - start
    if args.save is not None:  # first the file, then the printing, which may fail (a closed pipe)
        impls.save_model(args.save, result.params, {
            "backend": backend.name, "activation": args.activation, "dtype": args.dtype,
            "dataset": args.dataset, "seed": args.seed, "init_scale": args.init_scale, "learning_rate": args.lr,
            "iterations": args.iterations, "final_cost": result.final_cost})
    print(f"Final cost: {cost_text(result.final_cost)}")
    print(f"Training accuracy: {100 * accuracy(backend, result.params, X, Y):.2f}%")
    lost = units_note(result.params, X, args.activation)
    if lost:
        print(textwrap.fill(lost, 100))
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

    chosen, notes = args.backends, []
    if chosen is None:
        # the data-parallel backends join when --workers asks for them
        wanted = [n for n in impls.BACKENDS if args.workers > 1 or n not in impls.DATA_PARALLEL]
        chosen = [specs.parse_one(n) for n in impls.available_backends(data_parallel=args.workers > 1)]
        notes = [f"skipped {n}: not installed ({impls.install_hint(n)})"
                 for n in wanted if n not in [s.target for s in chosen]]
    inputs = [("--dataset", args.dataset)]
    if args.json is not None:  # before the run, not after it
        check_destination(args.json, inputs, f"--json {args.json}")
    if not args.no_plots:
        check_folder(args.plots, plots.NAMES, inputs + ([("--json", args.json)] if args.json else []),
                     f"--plots {args.plots}")
    # --device is for torch and JAX; the numpy reference runs on the CPU beside them. --workers is for
    # the data-parallel backends: the others are what they are compared with. A user's class runs in a
    # process of its own, stopped on every way out of here.
    backends = []
    try:
        for s in chosen:
            backends.append(specs.load(s, activation=args.activation, dtype=args.dtype, device=args.device,
                                       workers=args.workers, timeout=args.timeout))
        specs.name_all(chosen, backends)
        return _compare(args, backends, notes, compare_backends)
    finally:
        specs.close_all(backends)


def _compare(args, backends, notes, compare_backends):
    X, Y, params = load_problem(args)
    names = [f"{b.name} ({b.workers} workers)" if getattr(b, "data_parallel", False) else b.name for b in backends]
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
