"""`python -m compare bench`: the command, its flags, and the order of its sections."""
import argparse
import json
import os
import sys
from pathlib import Path

import impls
from compare.bench.diagnostics import bounds, torch_ops_per_step, xla_kernel_us, xla_ops_per_step
from compare.bench.references import REFERENCES
from compare.bench.report import (_r, _table, busy_section, large_section, machine, memory_figures, memory_section,
                                  small_section, sweep_section, targets, workers_section, write_plot)
from compare.bench.workloads import (DATA_PARALLEL, FULL, QUICK, SMALL, bench_busy, bench_large, bench_small,
                                     bench_sweep, bench_workers, memory_need, run_child)


def large_devices(names, device):
    """({backend: device} for the large workload, notes); the rest runs on the CPU.

    Raises:
        ValueError: a GPU was asked for and no selected backend finds one.
    """
    if device in (None, "cpu"):
        return {}, []
    devices, reasons = {}, []
    for name in names:
        if name == "numpy":
            continue
        try:
            impls.get_backend(name, device=device)
            devices[name] = device
        except ValueError as e:
            reasons.append(f"{name}: {e}")
    if not devices:
        raise ValueError(f"--device {device}: " + ("; ".join(reasons) or "only torch and jax run on a GPU"))
    return devices, [f"{r}; it runs the large workload on the CPU" for r in reasons]


def worker_counts(text):
    """--workers: a comma-separated list of worker counts, each at least 1."""
    from compare.cli import positive_int

    counts = tuple(dict.fromkeys(positive_int(t.strip()) for t in text.split(",")))
    if not counts:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of worker counts")
    return counts


def _progress(text):
    if sys.stderr.isatty():
        print(text, file=sys.stderr, flush=True)


def cmd_bench(args):
    from dataclasses import replace

    installed = impls.available_backends()
    names = [n for n in args.backends or installed if n not in DATA_PARALLEL]
    notes = [f"skipped {n}: not installed ({impls.install_hint(n)})"
             for n in impls.BACKENDS if args.backends is None and n not in names and n not in DATA_PARALLEL]
    for name in names + [n for n in args.backends or () if n in DATA_PARALLEL]:
        impls.get_backend(name)  # a missing framework: one line, exit 2, before minutes of work
    # the data-parallel backends are timed in their own section, against their single-process twins
    parallel = [n for n in (args.backends or DATA_PARALLEL) if n in DATA_PARALLEL and n in impls.BACKENDS
                and DATA_PARALLEL[n] in installed]
    from impls.workers import check_workers
    for name in parallel:  # a count the machine cannot hold: one line, before minutes of work
        for n in args.workers:
            check_workers(name, n)
    settings = QUICK if args.quick else FULL
    if args.repeats:
        settings = replace(settings, repeats=args.repeats)
    from impls.files import check_destination, check_folder
    if args.json is not None:  # before minutes of work, not after them
        check_destination(args.json, (), f"--json {args.json}")
    if not args.no_plots:
        check_folder(args.plots, ["bench_scaling.png"], [("--json", args.json)] if args.json else (),
                     f"--plots {args.plots}")
    devices, device_notes = large_devices(names, args.device)
    notes += device_notes
    info = machine(names, devices)
    load = [os.getloadavg()[0]] if hasattr(os, "getloadavg") else []
    quick = " --quick (tiny workloads: checks the bench, not the speed)" if args.quick else ""
    print(f"backprop-compare bench{quick}: {', '.join(names)} against the plain NumPy loop, scikit-learn "
          "and the GEMM floor")
    print(f"  machine: {info['cpu']}, {info['cores']} cores, {info['system']}; python {info['python']}")
    print("  " + "; ".join(f"{k} {info[k]}" for k in ("numpy", "blas", "torch", "jax", "sklearn", "gpu") if k in info))
    print("  every ratio is between figures of this run; absolute times on a shared machine are noise", flush=True)

    _progress("timing the small workload...")
    small = bench_small(names, settings)
    _progress("cold runs and memory, one fresh process per contender...")
    children = {name: run_child(name, devices.get(name, "cpu"), args.quick) for name in REFERENCES + tuple(names)}
    notes += [f"{name}: its fresh process failed, {c['error']}" for name, c in children.items() if "error" in c]
    print()
    print("\n".join(small_section(small, children, settings)), flush=True)

    _progress("timing the large workload...")
    large = bench_large(names, devices, settings)
    memory = memory_figures(children, settings.large)
    print()
    print("\n".join(large_section(large, names, devices, settings)))
    print()
    print("\n".join(memory_section(memory, settings.large)), flush=True)

    _progress("timing the scaling sweep...")
    sweep = bench_sweep(names, settings)
    plot = None if args.no_plots else args.plots / "bench_scaling.png"
    if plot is not None:
        write_plot(sweep, settings, plot)
    print()
    print("\n".join(sweep_section(sweep, settings, plot)), flush=True)

    cores = os.cpu_count() or 1
    busy = None
    if "torch" in names and "numpy" in names:
        _progress(f"the course's run idle and with {cores} busy processes...")
        busy = bench_busy(settings, cores)
        print()
        print("\n".join(busy_section(busy, settings, cores, args.quick)), flush=True)
    else:
        notes.append("busy machine: not measured, it times numpy against torch")

    print()
    steps = None
    if parallel:
        _progress("data-parallel backends, one fresh process per worker count...")
        steps = bench_workers(parallel, args.workers, args.quick)
        print("\n".join(workers_section(steps, args.workers, cores, settings.large)), flush=True)
    else:
        missing = [n for n in DATA_PARALLEL if n not in impls.BACKENDS]
        print("Data parallel: skipped, " + (f"{' and '.join(missing)} not in this version's backends" if missing
                                            else "neither torch nor jax is installed"))

    diagnostics = {}
    if "torch" in names:
        diagnostics["torch_ops"] = torch_ops_per_step()
    if "jax" in names:
        diagnostics["xla_ops"] = xla_ops_per_step()
        diagnostics["xla_kernel_us"] = xla_kernel_us()
    checks = targets(names, small, large, memory, busy)
    print()
    if args.quick:  # a ratio of tiny workloads says nothing about the speed: no verdict, and no bounds of misses
        for c in checks:
            c["met"] = None
        print("Targets (ratios from this run); --quick: no verdict, the tiny workloads check that the bench "
              "runs, not the speed")
        print("\n".join(_table([[c["group"], c["what"], _r(c["value"])] for c in checks])))
        why = []
    else:
        missed = [c for c in checks if not c["met"]]
        print("Targets (ratios from this run)")
        print("\n".join(_table([[c["group"], c["what"], _r(c["value"]), "met" if c["met"] else "MISSED"]
                                for c in checks])))
        print(f"  {len(checks) - len(missed)} of {len(checks)} met")
        why = bounds(missed, small, large, memory, sweep, settings, diagnostics, busy)
    if why:
        print()
        print("What bounds the missed targets (measured in this run)")
        for line in why:
            print(f"  {line}")
    load += [os.getloadavg()[0]] if load else []
    if load:
        notes.append(f"load average {load[0]:.2f} at the start, {load[1]:.2f} at the end ({info['cores']} cores)")
    for note in notes:
        print(f"note: {note}")
    if args.json is not None:
        report = {"machine": info, "settings": {**vars(settings), "small": SMALL}, "notes": notes,
                  "devices": devices or {"all": "cpu"},
                  "small": {k: {"median_s": v[0], "rounds_s": v[1], **children.get(k, {})} for k, v in small.items()},
                  "large": {f"{a} {b}": {"median_s": v[0], "rounds_s": v[1]} for (a, b), v in large.items()},
                  "memory": {**memory, "need_bytes": memory_need(settings.large)},
                  "sweep": {axis: {"values": settings.sweep[axis], "seconds": s} for axis, s in sweep.items()},
                  "busy": busy and {f"{a} {b}": {"median_s": v[0], "rounds_s": v[1]} for (a, b), v in busy.items()},
                  "workers": steps and {f"{a} {n}": f for (a, n), f in steps.items()},
                  "diagnostics": diagnostics, "targets": checks, "bounds": why}
        from impls.files import atomic_write
        text = json.dumps(report, indent=1, allow_nan=False)
        atomic_write(args.json, lambda f: f.write(text.encode()))
        print(f"Figures written to {args.json}")
    return 0


def register(subparsers):
    from compare.cli import backend_list, positive_int

    p = subparsers.add_parser("bench", help="time and memory of every backend against the GEMM floor, the plain "
                              "NumPy loop and scikit-learn, as ratios measured in one run (a few minutes)")
    p.add_argument("--backends", type=backend_list, default=None, metavar="A,B,...",
                   help="comma-separated (default: every installed backend)")
    p.add_argument("--device", default=None,
                   help="where torch and jax run the large workload: cpu, cuda, cuda:N, gpu (default: cpu)")
    p.add_argument("--repeats", type=positive_int, default=None, metavar="N",
                   help=f"interleaved rounds per figure (default: {FULL.repeats}; --quick: {QUICK.repeats})")
    p.add_argument("--quick", action="store_true", help="tiny workloads, seconds: checks the bench, not the speed")
    p.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write every figure as JSON")
    p.add_argument("--plots", type=Path, default=Path("compare-plots"), metavar="DIR",
                   help="folder for the scaling plot, bench_scaling.png (default: ./compare-plots, beside "
                   "the comparison's pictures)")
    p.add_argument("--no-plots", action="store_true", help="write no picture")
    p.add_argument("--workers", type=worker_counts, default=(1, 2, 4), metavar="N,N,...",
                   help="worker counts of the data-parallel backends' section (default: 1,2,4)")
    p.set_defaults(func=cmd_bench)
