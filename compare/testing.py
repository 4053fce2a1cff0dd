"""For a user's own pytest suite: assert that an implementation computes what a reference computes.

    from compare.testing import assert_backends_agree

    def test_mine_matches_the_hand_written_backprop():
        X, Y = impls.datasets.planar()
        assert_backends_agree(impls.get_backend("numpy"), Mine(), impls.init_params(2, 4), X, Y,
                              learning_rate=1.2, iterations=200)
"""
from compare.comparison import compare_backends


def assert_backends_agree(reference, candidate, params, X, Y, *, learning_rate, iterations, checkpoint_every=None,
                          steps=10):
    """Compare `candidate` with `reference` as `python -m compare` does, and fail the test if any check fails.

    Args:
        reference, candidate: objects with the backend contract, or part of it (see compare_backends).
        params, X, Y: starting parameters and data, course orientation.
        learning_rate, iterations, checkpoint_every, steps: the training run, as for compare_backends.

    Returns:
        The Report, when every check passes.

    Raises:
        AssertionError: its message is the verdict, where the candidate first differs and why.
        ValueError: bad arguments, as compare_backends raises them.
    """
    report = compare_backends([reference, candidate], params, X, Y, learning_rate=learning_rate,
                              iterations=iterations, checkpoint_every=checkpoint_every, steps=steps)
    if report.ok:
        return report
    verdict = str(report).splitlines()[-1]
    lines = [verdict]
    for name, d in report.differences.items():
        lines.append(f"{name}: {d['first_difference']}.")
        lines += [f"  {sentence}" for sentence in d["diagnosis"]]
    raise AssertionError("\n".join(lines))
