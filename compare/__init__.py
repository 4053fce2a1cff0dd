"""Compare the backends: `compare_backends` and the command line (`python -m compare`)."""
from compare.comparison import compare_backends
from compare.report import Check, Report, Trajectory

__all__ = ["Check", "Report", "Trajectory", "compare_backends"]
