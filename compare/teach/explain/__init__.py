"""`python -m compare explain`: the lecture's ten equations beside the code and autograd's counterpart,
each with the live difference between the hand-written value and each autograd backend's.

The package, one file per job:
  sources  where each equation lives in the code, read from the source: tagged lines, autograd calls
  roles    what does each equation's job in torch, JAX and the tape, and the notes, in words
  table    the live differences, their rounding scales and the table: explain()
  deep     the same for an L-layer network (--hidden 20,7,5), one row per equation per layer: explain_deep()
  cli      register(subparsers) and the command
"""
from compare.teach.explain.cli import register  # noqa: F401
from compare.teach.explain.sources import ROOT, tagged_lines  # noqa: F401
from compare.teach.explain.deep import DeepExplanation, explain_deep  # noqa: F401
from compare.teach.explain.table import Explanation, Row, default_backends, explain, rounding_scales  # noqa: F401
