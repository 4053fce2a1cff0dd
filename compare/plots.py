"""The comparison's pictures: decision boundaries, cost curves, distance between trajectories."""
from pathlib import Path

import numpy as np

STYLES = ["-", "--", ":", "-."]
NAMES = ("decision_boundaries.png", "cost_curves.png", "trajectory_distance.png")  # what write_plots writes


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; works with no display
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path, dpi):
    """Write `fig` to the PNG `path` atomically (never half a picture, never over a special file) and close it."""
    from impls.io.files import atomic_write

    try:
        atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=dpi))
    finally:
        _pyplot().close(fig)
    return Path(path)


def decision_boundaries(ax, predict, X, Y, title):
    """The course's plot_decision_boundary: predicted class over a grid, data on top, each class named in a
    legend (its colour as region and as point) and the axes named for X's two rows."""
    pad = 1.0
    xs = np.linspace(X[0].min() - pad, X[0].max() + pad, 300)
    ys = np.linspace(X[1].min() - pad, X[1].max() + pad, 300)
    xx, yy = np.meshgrid(xs, ys)
    try:
        zz = np.asarray(predict(np.vstack([xx.ravel(), yy.ravel()])), dtype=np.float64)[0].reshape(xx.shape)
    except (Exception, SystemExit):  # noqa: BLE001 - a user's predict; the report has judged it already
        zz, title = None, f"{title}\n(its predict failed on the grid)"
    colours = [_pyplot().get_cmap("Spectral")(v) for v in (0.1, 0.9)]  # class 0, class 1: region and point alike
    if zz is not None:
        ax.contourf(xx, yy, zz, levels=[-0.5, 0.5, 1.5], colors=colours, alpha=0.35)
    ax.scatter(X[0], X[1], c=[colours[int(y > 0.5)] for y in Y[0]], s=12, edgecolors="k", linewidths=0.3)
    from matplotlib.patches import Patch
    ax.legend(handles=[Patch(facecolor=colours[k], edgecolor="k", label=f"y = {k}") for k in (0, 1)],
              loc="upper right", fontsize=8, framealpha=0.8)
    ax.set_title(title)
    ax.set(xlabel="x₁ (X's first row)", ylabel="x₂ (X's second row)")


def write_plots(report, backends, X, Y, directory):
    """Write the comparison's PNGs into `directory`; returns their paths."""
    plt = _pyplot()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    s = report.settings
    runs = {t.backend: t for t in report.trajectories}
    paths = []

    drawable = [(b, runs[b.name]) for b in backends
                if b.name in runs and runs[b.name].params and callable(getattr(b, "predict", None))]
    if X.shape[0] == 2 and drawable:
        fig, axes = plt.subplots(1, len(drawable), figsize=(4.2 * len(drawable), 4.2), squeeze=False)
        for ax, (b, t) in zip(axes[0], drawable):
            accuracy = "" if t.accuracy is None else f", accuracy {100 * t.accuracy:.2f}%"
            params = {k: np.asarray(v) for k, v in t.params.items()}
            decision_boundaries(ax, lambda P, b=b, params=params: b.predict(params, P), X, Y, f"{b.name}{accuracy}")
        dims = s.get("layer_dims") or [2, s["n_h"], 1]
        network = f"n_h={dims[1]}" if len(dims) == 3 else f"layers {dims}"
        fig.suptitle(f"Decision boundaries after {s['iterations']} iterations ({network}, {s['activation']})\n"
                     "background: the predicted class; points: the true class")
        fig.tight_layout()
        paths.append(save_figure(fig, directory / "decision_boundaries.png", 110))

    if not report.trajectories:  # no backend trained: no curves to draw
        return paths
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for i, t in enumerate(report.trajectories):
        ax.plot(t.iterations, t.costs, STYLES[i % len(STYLES)], lw=2.2 - 0.5 * i, label=t.backend)
    ax.set(xlabel="iteration", ylabel="cost J", title="Cost during training")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    paths.append(save_figure(fig, directory / "cost_curves.png", 110))

    if len(report.trajectories) < 2:  # one run: no distance between runs to draw
        return paths
    fig, ax = plt.subplots(figsize=(7, 4.2))
    floor = np.finfo(s["dtype"]).eps / 4  # a distance of exactly 0 cannot sit on a log axis
    for i, t in enumerate(report.trajectories[1:], start=1):
        k = min(len(t.iterations), len(t.distance))  # a run that stopped early has fewer of either
        distance = np.asarray(t.distance[:k], dtype=np.float64)  # None (JSON's NaN) is not drawn
        ax.semilogy(t.iterations[:k], np.fmax(distance, floor), STYLES[i % len(STYLES)],
                    label=f"{t.backend} vs {report.trajectories[0].backend}")
    ax.axhline(s["trajectory_tolerance"], color="gray", lw=1, ls="--", label="rounding-level tolerance")
    rise = report.trajectories[0].largest_rise
    if rise:
        ax.axvspan(rise[0], rise[1], color="red", alpha=0.15, label=f"cost rose by {rise[2]:.2g}")
    ax.set(xlabel="iteration", ylabel="‖θ − θ_ref‖ / (‖θ‖ + ‖θ_ref‖)",
           title="Distance between trajectories: rounding, then amplified by the dynamics")
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    paths.append(save_figure(fig, directory / "trajectory_distance.png", 110))
    return paths
