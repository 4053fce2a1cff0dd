"""`python -m compare bench`: how fast each backend trains and how much memory it needs, as ratios to
the floor and to what users would write or pick instead, all measured in one run.

On a shared machine an absolute time is noise; a ratio of contenders timed in interleaved rounds of the
same run is not. Every time is the median of those rounds, warm-up (compilation) excluded, except the
whole run, which is timed once from a cold start in a fresh process.

References, each checked in tests/test_bench.py to compute what the backends compute:
  plain loop  the course's training loop as a student writes it: the ten equations inline, no checks
  sklearn     scikit-learn's MLPClassifier set up as the same full-batch gradient descent from our start
  floor       the two big products of a gradient, W1·X (F1) and dZ1·Xᵀ (B5), in each framework alone
  course loop the week-4 application's L-layer loop as the course writes it (the deep section's reference)
  deep floor  every product of an L-layer gradient but ∂J/∂X, in each framework alone

The package, one file per part:
  references   the plain loop, scikit-learn's loop, the course's deep loop, the GEMM floors
  measure      timing in interleaved rounds; peak memory of one call
  workloads    the small, large and sweep workloads; the fresh process of cold runs and memory
  deep         the deep workloads (the week-4 application's network, a large one), their section and targets
  diagnostics  what bounds each missed target
  report       the sections, the targets, the plot
  cli          register(subparsers) and cmd_bench
"""
from compare.bench.cli import cmd_bench, register  # noqa: F401
