"""For a user's own pytest suite: assert that an implementation computes what a reference computes.

    import impls
    from compare.testing import assert_backends_agree
    from impls.io.datasets import planar

    def test_mine_matches_the_hand_written_backprop():
        X, Y = planar()
        assert_backends_agree("numpy", "mypackage/mine.py:Mine", impls.init_params(2, 4), X, Y,
                              learning_rate=1.2, iterations=200)

A backend given as a spec (a built-in name, FILE.py:CLASS, MODULE:CLASS, an entry point) is constructed as the
command line constructs it, a user's class in a process of its own. An object passed in runs in the test's own
process: the comparison gives it copies of its inputs and catches what it raises, but it can still change
what this process computes for the reference (patch NumPy, change JAX's settings) or end the process
(os._exit); see docs/your-own.md.
"""
from compare.comparison import compare_backends


def assert_backends_agree(reference, candidate, params, X, Y, *, learning_rate, iterations, checkpoint_every=None,
                          steps=10, activation="tanh", dtype=None, timeout=None):
    """Compare `candidate` with `reference` as `python -m compare` does, and fail the test if any check fails.

    Args:
        reference, candidate: objects with the backend contract, or part of it (see compare_backends), or specs
            as `--backends` takes them ("numpy", "mine.py:Mine", "mypackage.mine:Mine"), which are constructed
            with activation=, dtype= and closed afterwards.
        params, X, Y: starting parameters and data, course orientation.
        learning_rate, iterations, checkpoint_every, steps: the training run, as for compare_backends.
        activation, dtype: for the backends given as specs (dtype: the parameters' own, by default).
        timeout: CPU seconds each call of a user's class given as a spec may take (default 300).

    Returns:
        The Report, when every check passes.

    Raises:
        AssertionError: its message is the verdict, where the candidate first differs and why.
        ValueError: bad arguments, as compare_backends raises them, or a spec that cannot be loaded.
    """
    __tracebackhide__ = True  # pytest: the message says it all; this frame would only add the arrays
    from compare import specs
    given, loaded = [reference, candidate], []
    if dtype is None:
        dtype = str(getattr(params.get("W1") if hasattr(params, "get") else None, "dtype", "float64"))
    try:
        chosen, backends = [], []
        for b in given:
            if isinstance(b, str):
                spec = specs.parse_one(b)
                b = specs.load(spec, activation=activation, dtype=dtype, timeout=timeout)
                loaded.append(b)
            else:
                spec = specs.Spec(getattr(b, "name", None) or type(b).__name__, "object", "", None, None)
            chosen.append(spec)
            backends.append(b)
        if loaded:  # two of one class get told apart, as on the command line
            specs.name_all(chosen, backends)
        report = compare_backends(backends, params, X, Y, learning_rate=learning_rate, iterations=iterations,
                                  checkpoint_every=checkpoint_every, steps=steps)
    finally:
        specs.close_all(loaded)
    if report.ok:
        return report
    verdict = str(report).splitlines()[-1]
    lines = [verdict]
    for name, d in report.differences.items():
        lines.append(f"{name}: {d['first_difference']}.")
        lines += [f"  {sentence}" for sentence in d["diagnosis"]]
    for name, why in report.unjudged.items():
        lines.append(f"{name} took part in no check of what it computes: {why}.")
    raise AssertionError("\n".join(lines))
