"""`python -m compare bench`: the command, its flags, and its sections, each measured then printed, in order."""
import argparse
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import impls
from compare.bench.deep import bench_app, bench_large as bench_deep_large, deep_bounds, deep_section, deep_shapes
from compare.bench.deep import deep_targets
from compare.bench.diagnostics import bounds, torch_ops_per_step, xla_kernel_us, xla_ops_per_step
from compare.bench.references import REFERENCES
from compare.bench.report import (BenchRun, busy_section, heading, large_section, machine, memory_figures,
                                  memory_section, small_section, sweep_section, targets, targets_section,
                                  workers_section, write_plot)
from compare.bench.workloads import (FULL, QUICK, TWINS, Settings, bench_busy, bench_large, bench_small, bench_sweep,
                                     bench_workers, run_child)


@dataclass
class Plan:
    """What a run measures, settled and checked before any work."""

    names: list             # the single-process backends, timed against the references
    parallel: list          # the data-parallel backends, timed against their single-process twins
    settings: Settings
    devices: dict           # backend -> device of the large workload; the rest runs on the CPU
    plot: Path              # where the scaling plot goes, or None
    quick: bool
    named: bool             # --backends chose them
    deep: object = None     # deep.Deep: the deep workloads' shapes (--hidden)


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


def plan(args):
    """(Plan, notes) from the flags; a missing framework or a bad destination fails here, before minutes of work."""
    installed = impls.available_backends()
    names = [n for n in args.backends or installed if n not in impls.DATA_PARALLEL]
    notes = [f"skipped {n}: not installed ({impls.install_hint(n)})"
             for n in impls.BACKENDS if args.backends is None and n not in names and n not in impls.DATA_PARALLEL]
    for name in names + [n for n in args.backends or () if n in impls.DATA_PARALLEL]:
        impls.get_backend(name)  # a missing framework: one line, exit 2
    parallel = [n for n in args.backends or impls.DATA_PARALLEL if n in impls.DATA_PARALLEL and TWINS[n] in installed]
    settings = QUICK if args.quick else FULL
    settings = replace(settings, repeats=args.repeats or settings.repeats, workers=args.workers or settings.workers)
    from impls.memory import check_workers
    for name in parallel:  # a count the machine cannot hold: one line, exit 2
        for count in settings.workers:
            check_workers(name, count)
    from impls.io.files import check_destination, check_folder
    if args.json is not None:
        check_destination(args.json, (), f"--json {args.json}")
    if not args.no_plots:
        check_folder(args.plots, ["bench_scaling.png"], [("--json", args.json)] if args.json else (),
                     f"--plots {args.plots}")
    devices, device_notes = large_devices(names, args.device)
    plot = None if args.no_plots else args.plots / "bench_scaling.png"
    return (Plan(names, parallel, settings, devices, plot, args.quick, args.backends is not None,
                 deep_shapes(args.quick, args.hidden)), notes + device_notes)


def _progress(text):
    if sys.stderr.isatty():
        print(text, file=sys.stderr, flush=True)


# --- the sections: each measures into the run, then returns the lines it prints -------------------------------

def small(plan, run):
    _progress("timing the small workload...")
    run.small = bench_small(plan.names, plan.settings)
    _progress("cold runs and memory, one fresh process per contender...")
    run.children = {name: run_child(name, plan.devices.get(name, "cpu"), plan.quick)
                    for name in REFERENCES + tuple(plan.names)}
    run.notes += [f"{name}: its fresh process failed, {c['error']}" for name, c in run.children.items() if "error" in c]
    return small_section(run.small, run.children, plan.settings)


def large(plan, run):
    _progress("timing the large workload...")
    run.large = bench_large(plan.names, plan.devices, plan.settings)
    run.memory = memory_figures(run.children, plan.settings.large)
    return [*large_section(run.large, plan.names, plan.devices, plan.settings), "",
            *memory_section(run.memory, plan.settings.large)]


def deep(plan, run):
    _progress("timing the deep workloads...")
    run.deep_app = bench_app(plan.names, plan.deep, plan.settings)
    run.deep_large = bench_deep_large(plan.names, plan.devices, plan.deep, plan.settings)
    return deep_section(run.deep_app, run.deep_large, plan.names, plan.devices, plan.deep, plan.settings)


def sweep(plan, run):
    _progress("timing the scaling sweep...")
    run.sweep = bench_sweep(plan.names, plan.settings)
    if plan.plot is not None:
        write_plot(run.sweep, plan.settings, plan.plot)
    return sweep_section(run.sweep, plan.settings, plan.plot)


def busy(plan, run):
    if not {"torch", "numpy"} <= set(plan.names):
        run.notes.append("busy machine: not measured, it times numpy against torch")
        return []
    cores = os.cpu_count() or 1
    _progress(f"the course's run idle and with {cores} busy processes...")
    run.busy = bench_busy(plan.settings, cores)
    return busy_section(run.busy, plan.settings, cores, plan.quick)


def data_parallel(plan, run):
    if not plan.parallel:
        return ["Data parallel: skipped, " + (f"--backends names neither {' nor '.join(impls.DATA_PARALLEL)}"
                                              if plan.named else "neither torch nor jax is installed")]
    _progress("data-parallel backends, one fresh process per worker count...")
    run.workers = bench_workers(plan.parallel, plan.settings.workers, plan.quick)
    return workers_section(run.workers, plan.settings.workers, os.cpu_count() or 1, plan.settings.large)


def verdict(plan, run):
    if "torch" in plan.names:
        run.diagnostics["torch_ops"] = torch_ops_per_step()
    if "jax" in plan.names:
        run.diagnostics["xla_ops"] = xla_ops_per_step()
        run.diagnostics["xla_kernel_us"] = xla_kernel_us()
    run.targets = (targets(plan.names, run.small, run.large, run.memory, run.busy)
                   + deep_targets(plan.names, run.deep_app, run.deep_large))
    if plan.quick:  # a ratio of tiny workloads says nothing about the speed: no verdict, no bounds of misses
        for check in run.targets:
            check["met"] = None
    else:
        missed = [c for c in run.targets if not c["met"]]
        run.bounds = bounds([c for c in missed if not c["group"].startswith("deep")], run.small, run.large,
                            run.memory, run.sweep, plan.settings, run.diagnostics, run.busy)
        run.bounds += deep_bounds([c for c in missed if c["group"].startswith("deep")], run.deep_app,
                                  run.deep_large, plan.deep, plan.devices)
    return targets_section(run.targets, plan.quick, run.bounds)


SECTIONS = (small, large, deep, sweep, busy, data_parallel, verdict)


def cmd_bench(args):
    plan_, notes = plan(args)
    run = BenchRun(machine(plan_.names, plan_.devices), plan_.settings, plan_.devices, notes)
    load = [os.getloadavg()[0]] if hasattr(os, "getloadavg") else []
    print("\n".join(heading(run.machine, plan_.names, plan_.quick)), flush=True)
    for section in SECTIONS:
        lines = section(plan_, run)
        if lines:
            print()
            print("\n".join(lines), flush=True)
    if load:
        run.notes.append(f"load average {load[0]:.2f} at the start, {os.getloadavg()[0]:.2f} at the end "
                         f"({run.machine['cores']} cores)")
    for note in run.notes:
        print(f"note: {note}")
    if args.json is not None:
        from impls.io.files import atomic_write
        text = run.to_json()
        atomic_write(args.json, lambda f: f.write(text.encode()))
        print(f"Figures written to {args.json}")
    return 0


def worker_counts(text):
    """--workers: a comma-separated list of worker counts, each at least 1."""
    from compare.cli import positive_int

    counts = tuple(dict.fromkeys(positive_int(t.strip()) for t in text.split(",")))
    if not counts:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of worker counts")
    return counts


def register(subparsers):
    from compare.cli import backend_list, positive_int
    from compare.deep_flags import hidden_layers

    p = subparsers.add_parser("bench", help="time and memory of every backend against the GEMM floor, the plain "
                              "NumPy loop, the course's deep loop and scikit-learn, as ratios measured in one run "
                              "(several minutes)")
    p.add_argument("--backends", type=backend_list, default=None, metavar="A,B,...",
                   help="comma-separated (default: every installed backend)")
    p.add_argument("--device", default=None,
                   help="where torch and jax run the large workload: cpu, cuda, cuda:N, gpu (default: cpu)")
    p.add_argument("--repeats", type=positive_int, default=None, metavar="N",
                   help=f"interleaved rounds per figure (default: {FULL.repeats}; --quick: {QUICK.repeats})")
    p.add_argument("--hidden", type=hidden_layers, default=None, metavar="N[,N...]",
                   help="the deep workloads' hidden layers, one size per layer (default: 20,7,5 for the week-4 "
                   "application's, 512,512,512 for the large one)")
    p.add_argument("--quick", action="store_true", help="tiny workloads: checks the bench, not the speed")
    p.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write every figure as JSON")
    p.add_argument("--plots", type=Path, default=Path("compare-plots"), metavar="DIR",
                   help="folder for the scaling plot, bench_scaling.png (default: ./compare-plots, beside "
                   "the comparison's pictures)")
    p.add_argument("--no-plots", action="store_true", help="write no picture")
    p.add_argument("--workers", type=worker_counts, default=None, metavar="N,N,...",
                   help="worker counts of the data-parallel backends' section (default: "
                   f"{','.join(map(str, FULL.workers))}; --quick: {','.join(map(str, QUICK.workers))})")
    p.set_defaults(func=cmd_bench)
