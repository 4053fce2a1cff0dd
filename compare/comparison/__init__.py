"""compare_backends: do the backends compute the same map? Forward values, cost, gradients, intermediates,
finite differences, training and predictions, each measured against a threshold from compare.tolerances.

The phases, one module each: arguments (set-up and checks), evaluations (at the starting parameters),
finite_differences, training, verdict (the report). entrants.py makes every call safe: its own copy of
every input, the inputs checked unchanged after, whatever the method does turned into a sentence.
"""
from compare.comparison import arguments, evaluations, finite_differences, training, verdict
from compare.comparison.entrants import METHODS, provided

__all__ = ["METHODS", "compare_backends", "provided"]


def compare_backends(backends, params, X, Y, *, learning_rate, iterations, checkpoint_every=None,
                     steps=10, dataset="custom", seed=None, progress=None):
    """Check that every backend computes what the first one (the reference) computes.

    Args:
        backends: objects with the backend contract (name, cost, gradients, intermediates, forward,
            train, predict), or part of it: the checks their methods allow are run, the others listed
            as not provided. The first is the reference, normally the hand-written numpy backend. A user's
            class is best given as compare.isolated.IsolatedBackend (what `--backends FILE.py:CLASS` makes):
            an object of this process can change what this process computes (docs/your-own.md).
        params, X, Y: the starting parameters and the data, course orientation.
        learning_rate, iterations: the training run every backend makes.
        checkpoint_every: spacing of the checkpoints on each trajectory (default iterations/100).
        steps: how many steps each backend takes from each checkpoint of the reference's trajectory.
        dataset: a name for the report.
        seed: the seed the parameters and data came from, for the report's record.
        progress: called as progress(done, total) as the training work advances.

    Returns:
        Report with .ok, str(report) and .to_dict(). It is ok when every check passes and every backend
        took part in at least one check of its map.
    """
    setup = arguments.prepare(backends, params, X, Y, learning_rate=learning_rate, iterations=iterations,
                              checkpoint_every=checkpoint_every, steps=steps)
    try:
        values = evaluations.evaluate(setup)
        checks = evaluations.checks(setup, values)
        fd_checks, notes = finite_differences.checks(setup, values)
        trained = training.run(setup, progress)
    finally:
        for e in setup.entrants:
            e.close()
    checks += fd_checks + trained.checks + verdict.input_checks(setup)
    return verdict.report(setup, values, checks, notes + trained.notes, trained.trajectories,
                          dataset=dataset, seed=seed)
