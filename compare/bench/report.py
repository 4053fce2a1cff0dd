"""The bench's report: the machine, each section's table, the targets with this run's ratios, the plot, and the
run's figures as the --json file writes them."""
import json
import os
import platform
from dataclasses import dataclass, field

import numpy as np

import impls
from compare.bench.measure import round_ratio
from compare.bench.references import REFERENCES
from compare.bench.workloads import BUSY, SMALL, TWINS, memory_need

# (backend, limit): steady state per iteration of the course's run, as a ratio to the plain loop
SMALL_TARGETS = {"jax": 0.15, "numpy": 1.1, "torch": 3.0}
LARGE_TIME_TARGET = 1.15    # gradient compute / the framework's two-GEMM floor
MEMORY_TARGET = 1.5         # peak / (data + params + one set of activations Z1, A1, Z2, A2)
# torch's slowdown / numpy's when every core is busy: on a machine shared with other work, torch's threads
# must not make the course's run many times slower than the hand-written loop's
BUSY_TARGET = 2.0


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(names, devices):
    """What the figures were measured on."""
    import sklearn

    info = {"cpu": _cpu_name(), "cores": os.cpu_count(),
            "system": f"{platform.system()} {platform.release()} {platform.machine()}",
            "python": platform.python_version(), "numpy": np.__version__, "sklearn": sklearn.__version__}
    try:
        from threadpoolctl import threadpool_info
        info["blas"] = ", ".join(f"{i['internal_api']} {i['version']} ({i['num_threads']} threads)"
                                 for i in threadpool_info() if i["user_api"] == "blas")
    except ImportError:
        pass
    if "torch" in names:
        import torch
        info["torch"] = f"{torch.__version__} ({torch.get_num_threads()} threads)"
        if "torch" in devices:
            info["gpu"] = torch.cuda.get_device_name(impls.get_backend("torch", device=devices["torch"])._device)
    if "jax" in names:
        import jax
        info["jax"] = jax.__version__
        if "jax" in devices and "gpu" not in info:
            info["gpu"] = impls.get_backend("jax", device=devices["jax"])._device.device_kind
    return info


def heading(info, names, quick):
    """The lines above the sections: what is timed against what, and on what machine."""
    quick = " --quick (tiny workloads: checks the bench, not the speed)" if quick else ""
    return [f"backprop-compare bench{quick}: {', '.join(names)} against the plain NumPy loop, scikit-learn "
            "and the GEMM floor",
            f"  machine: {info['cpu']}, {info['cores']} cores, {info['system']}; python {info['python']}",
            "  " + "; ".join(f"{k} {info[k]}" for k in ("numpy", "blas", "torch", "jax", "sklearn", "gpu")
                             if k in info),
            "  every ratio is between figures of this run; absolute times on a shared machine are noise"]


def fmt(x, unit=1.0):
    """A time or size with 3-4 significant digits; '-' for a missing figure."""
    if x is None:
        return "-"
    x = x * unit
    return f"{x:.3g}" if abs(x) < 100 else f"{x:.0f}"


def fmt_ratio(x):
    """A ratio: two decimals, or two significant digits below 0.1, so that none reads as 0.00."""
    if x is None:
        return "-"
    return f"{x:.2f}" if abs(x) >= 0.1 or x == 0 else f"{x:.2g}"


def _table(rows, indent="  "):
    """Rows of cells as lines: the first column left-aligned, the others right-aligned."""
    widths = [max(len(r[i]) for r in rows if i < len(r)) for i in range(max(map(len, rows)))]
    return [(indent + "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i])
                                for i, c in enumerate(row))).rstrip() for row in rows]


def sizes(workload):
    """A workload's sizes as the sections print them."""
    return f"m={workload['m']}, n_x={workload['n_x']}, n_h={workload['n_h']}, {workload['dtype']}"


def ratio_of(a, b):
    return None if a is None or b is None or b == 0 else a / b


def small_section(small, children, settings):
    t = {k: v[0] for k, v in small.items()}
    whole = {k: c.get("whole_run_s") for k, c in children.items()}
    rows = [["", "µs/iteration", "× plain loop", "× sklearn", "whole run s", "× plain loop", "import s"]]
    for name in small:
        rows.append([name, fmt(t[name], 1e6), fmt_ratio(round_ratio(small, name, "plain loop")),
                     fmt_ratio(round_ratio(small, name, "sklearn")),
                     fmt(whole.get(name)), fmt_ratio(ratio_of(whole.get(name), whole.get("plain loop"))),
                     fmt(children.get(name, {}).get("import_s"))])
    s = SMALL
    return [f"Small workload: the course's run (planar, m=400, n_h={s['n_h']}, tanh, {s['dtype']}, "
            f"learning rate {s['learning_rate']})",
            f"  steady state: time per iteration of train(), median of {settings.repeats} interleaved rounds, "
            "warm-up excluded,",
            "  ratios the median of each round's ratio;",
            f"  whole run: {settings.whole_iterations} iterations from a cold start in a fresh process, "
            "compilation included, import apart;",
            "  every framework on one thread (none gains from a second at this size)", *_table(rows)]


def large_section(large, names, devices, settings):
    workload = settings.large
    rows = [["", "ms", "× own floor", "× numpy floor", "× plain loop", "× sklearn"]]

    def row(label, key, floor):
        rows.append([label, fmt(large[key][0], 1e3), *(fmt_ratio(round_ratio(large, key, ref)) for ref in (
            floor, ("floor", "numpy"), ("plain loop", "iteration"), ("sklearn", "iteration")))])

    for framework in dict.fromkeys(["numpy", *names]):
        row(f"floor ({framework})", ("floor", framework), ("floor", framework))
    for name in REFERENCES:
        row(f"{name}, one iteration", (name, "iteration"), ("floor", "numpy"))
    for name in names:
        for figure, label in (("gradients", "gradients()"), ("compute", "gradient compute"),
                              ("iteration", "one iteration")):
            row(f"{name} {label}", (name, figure), ("floor", name))
    where = ", ".join(f"{n} on {d}" for n, d in devices.items()) or "everything on the CPU"
    return [f"Large workload: random data, {sizes(workload)} ({where})",
            "  floor: W1·X and dZ1·Xᵀ alone, in the framework's own matmul; gradients(): the public call, with",
            "  its input checks and conversions; compute: the backend's gradient on arrays already in its framework",
            f"  median of {settings.repeats} interleaved rounds; ratios the median of each round's ratio",
            *_table(rows)]


def memory_figures(children, workload):
    """{name: {peak_mb, ratio, working_mb, arrays}} from the children's working memory."""
    need = memory_need(workload)
    inputs = (need["data"] + need["params"]) / 2 ** 20
    array_mb = workload["n_h"] * workload["m"] * np.dtype(workload["dtype"]).itemsize / 2 ** 20
    out = {}
    for name, c in children.items():
        working = c.get("memory_mb")
        peak = None if working is None else working + (0 if c.get("on_gpu") else inputs)
        out[name] = {"peak_mb": peak, "need_ratio": ratio_of(peak, need["total"] / 2 ** 20), "working_mb": working,
                     "arrays": ratio_of(working, array_mb), "traced_mb": c.get("traced_mb"),
                     "method": c.get("memory_method"), "error": c.get("error"), "x_offset": c.get("x_offset")}
    return out


def memory_section(memory, workload):
    need = {k: v / 2 ** 20 for k, v in memory_need(workload).items()}
    rows = [["", "peak MB", "× need", "working MB", "(n_h, m) arrays", "tracemalloc MB"]]
    for name, f in memory.items():
        rows.append([name, fmt(f["peak_mb"]), fmt_ratio(f["need_ratio"]), fmt(f["working_mb"]), fmt_ratio(f["arrays"]),
                     fmt(f["traced_mb"])])
    methods = sorted({f["method"] for f in memory.values() if f["method"]})
    return ["Peak memory of one gradients() call on the large workload (the references: one iteration)",
            f"  need: data {need['data']:.1f} MB + params {need['params']:.1f} MB + activations Z1, A1, Z2, A2 "
            f"{need['activations']:.1f} MB = {need['total']:.1f} MB",
            "  peak = the inputs + the call's working memory: its peak beyond what the process held before,",
            f"  measured in a fresh process per contender after a warm-up call, by {'; '.join(methods)}",
            *_table(rows)]


def sweep_section(sweep, settings, plot_path):
    lines = ["Scaling: µs per iteration (× plain loop), n_x=2, float64, random data, one thread"
             + (f"; plot: {plot_path}" if plot_path else "")]
    for axis, label in (("m", "m (n_h=4)"), ("n_h", "n_h (m=400)")):
        series = sweep[axis]
        rows = [[label, *map(str, settings.sweep[axis])]]
        for name, times in series.items():
            rows.append([name, *(f"{fmt(t, 1e6)} ({fmt_ratio(ratio_of(t, p))})"
                                 for t, p in zip(times, series["plain loop"]))])
        lines += _table(rows)
    return lines


def busy_figures(busy):
    """{name: slowdown busy / idle} and torch's slowdown / numpy's, from bench_busy's medians."""
    slowdown = {n: ratio_of(busy[(n, "busy")][0], busy[(n, "idle")][0]) for n in BUSY}
    return slowdown, ratio_of(slowdown["torch"], slowdown["numpy"])


def busy_section(busy, settings, cores, quick):
    slowdown, ratio = busy_figures(busy)
    rows = [["", "idle s", "busy s", "slowdown"]]
    for name in BUSY:
        rows.append([name, fmt(busy[(name, "idle")][0]), fmt(busy[(name, "busy")][0]), fmt_ratio(slowdown[name])])
    verdict = "" if quick else ("  ✓" if ratio is not None and ratio <= BUSY_TARGET else "  ✗")
    return [f"Busy machine: the course's run ({settings.busy_iterations} iterations), each backend on its own "
            f"threads, idle and with {cores} processes spinning on the {cores} cores (started and ended by the bench)",
            f"  median of {settings.busy_repeats} interleaved rounds; \"idle\" is whatever else the machine runs",
            *_table(rows),
            f"  torch's slowdown / numpy's: {fmt_ratio(ratio)} (target ≤ {BUSY_TARGET:g}){verdict}"]


def workers_section(steps, workers, cores, workload):
    """Time per step of each data-parallel backend per worker count, × its single-process twin."""
    rows = [["", "single process", *(f"{n} worker{'s' if n > 1 else ''}" for n in workers)]]
    errors = []
    for (name, n), f in steps.items():
        if "error" in f:
            errors.append(f"{name}" + (f", {n} workers" if n else "") + f": {f['error']}")
    for name in dict.fromkeys(name for name, n in steps if n):
        twin = steps[(TWINS[name], 0)].get("step_s")
        cells = []
        for n in workers:
            t = steps[(name, n)].get("step_s")
            cells.append("-" if t is None else f"{fmt(t, 1e3)} ms (× {fmt_ratio(ratio_of(t, twin))})")
        rows.append([f"{name} (× {TWINS[name]})", f"{fmt(twin, 1e3)} ms", *cells])
    more = [n for n in workers if n > cores]
    return [f"Data parallel: time per training step on the large workload ({sizes(workload)}), × the "
            f"single-process backend; this machine has {cores} cores",
            "  a step: (t(n2) − t(n1)) / (n2 − n1) of two train() calls in a fresh process, so the workers' start is"
            " not in it",
            *_table(rows),
            ("  " + (f"{', '.join(map(str, more))} workers share {cores} cores: more workers cannot be faster here; "
                     if more else "") + "a ratio above 1 is the cost of splitting the data and all-reducing the "
             "gradients, one process per worker"),
            *(f"  not measured: {e}" for e in errors)]


def targets(names, small, large, memory, busy=None):
    """Every target of the issue with its value in this run: [{group, backend, what, value, limit, met}]."""
    out = []

    def add(group, name, what, value, limit, strict=False):
        met = value is not None and (value < limit if strict else value <= limit)
        out.append({"group": group, "backend": name, "what": what, "value": value, "limit": limit, "met": met})

    for name, limit in SMALL_TARGETS.items():
        if name in names:
            add("small", name, f"{name} steady state ≤ {limit:g}× plain loop",
                round_ratio(small, name, "plain loop"), limit)
    for name in names:
        add("small", name, f"{name} faster than sklearn (< 1×)", round_ratio(small, name, "sklearn"), 1.0, strict=True)
    for name in names:
        add("large", name, f"{name} gradient compute ≤ {LARGE_TIME_TARGET:g}× its floor",
            round_ratio(large, (name, "compute"), ("floor", name)), LARGE_TIME_TARGET)
    for name in names:
        add("memory", name, f"{name} peak ≤ {MEMORY_TARGET:g}× need", memory[name]["need_ratio"], MEMORY_TARGET)
    if busy is not None:
        add("busy", "torch", f"torch slowdown ≤ {BUSY_TARGET:g}× numpy's, cores busy", busy_figures(busy)[1],
            BUSY_TARGET)
    return out


def targets_section(checks, quick, why):
    """The targets with this run's ratios, met or missed (--quick: no verdict), and what bounds the missed ones."""
    if quick:  # a ratio of tiny workloads says nothing about the speed: no verdict
        return ["Targets (ratios from this run); --quick: no verdict, the tiny workloads check that the bench "
                "runs, not the speed", *_table([[c["group"], c["what"], fmt_ratio(c["value"])] for c in checks])]
    missed = [c for c in checks if not c["met"]]
    lines = ["Targets (ratios from this run)",
             *_table([[c["group"], c["what"], fmt_ratio(c["value"]), "met" if c["met"] else "MISSED"] for c in checks]),
             f"  {len(checks) - len(missed)} of {len(checks)} met"]
    if why:
        lines += ["", "What bounds the missed targets (measured in this run)", *(f"  {line}" for line in why)]
    return lines


@dataclass
class BenchRun:
    """What one run measured, kept section by section as it is measured; `to_json()` is the --json file."""

    machine: dict
    settings: object                             # workloads.Settings
    devices: dict                                # backend -> device of the large workload; the rest on the CPU
    notes: list
    small: dict = None                           # {contender: (median s, rounds)}
    children: dict = None                        # {contender: its fresh process's cold run and memory}
    large: dict = None                           # {(contender, figure): (median s, rounds)}
    deep_app: dict = None                        # {contender: (median s per step, rounds)}
    deep_large: dict = None                      # {(contender, figure): (median s, rounds)}
    memory: dict = None                          # {contender: memory_figures}
    sweep: dict = None                           # {axis: {contender: [median s]}}
    busy: dict = None                            # {(name, "idle" | "busy"): (median s, rounds)}
    workers: dict = None                         # {(name, workers or 0): {"step_s", "call_s"} or {"error"}}
    diagnostics: dict = field(default_factory=dict)
    targets: list = field(default_factory=list)
    bounds: list = field(default_factory=list)

    def to_json(self):
        def timed(figures):
            return figures and {k if isinstance(k, str) else " ".join(map(str, k)): {"median_s": v[0], "rounds_s": v[1]}
                                for k, v in figures.items()}

        return json.dumps({
            "machine": self.machine, "settings": {**vars(self.settings), "small": SMALL}, "notes": self.notes,
            "devices": self.devices or {"all": "cpu"},
            "small": {k: {"median_s": v[0], "rounds_s": v[1], **self.children.get(k, {})}
                      for k, v in self.small.items()},
            "large": timed(self.large), "deep_application": timed(self.deep_app), "deep_large": timed(self.deep_large),
            "memory": {**self.memory, "need_bytes": memory_need(self.settings.large)},
            "sweep": {axis: {"values": self.settings.sweep[axis], "seconds": s} for axis, s in self.sweep.items()},
            "busy": timed(self.busy), "workers": self.workers and {f"{a} {n}": f for (a, n), f in self.workers.items()},
            "diagnostics": self.diagnostics, "targets": self.targets, "bounds": self.bounds}, indent=1, allow_nan=False)


def write_plot(sweep, settings, path):
    """The scaling sweep on log-log axes, over m and over n_h, one line per contender."""
    from compare.plots import _pyplot, save_figure

    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    styles = {"plain loop": ("k", "--", "s"), "sklearn": ("gray", ":", "^")}
    for ax, (axis, label) in zip(axes, (("m", "m, examples (n_h = 4)"), ("n_h", "n_h, hidden units (m = 400)"))):
        for i, (name, times) in enumerate(sweep[axis].items()):
            color, ls, marker = styles.get(name, (f"C{i}", "-", "o"))
            ax.loglog(settings.sweep[axis], np.array(times) * 1e6, color=color, ls=ls, marker=marker, label=name)
        ax.set(xlabel=label, ylabel="µs per training iteration")
        ax.grid(alpha=0.3, which="both")
    axes[0].legend()
    fig.suptitle("Time per iteration of full-batch gradient descent (float64, n_x = 2)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    save_figure(fig, path, 110)
