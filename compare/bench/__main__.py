"""The fresh process of workloads.run_child:
`python -m compare.bench --child NAME [--device D] [--quick] [--workers N]`."""
import argparse

from compare.bench.workloads import _child, _step_child

parser = argparse.ArgumentParser()
parser.add_argument("--child", required=True)
parser.add_argument("--device", default="cpu")
parser.add_argument("--quick", action="store_true")
parser.add_argument("--workers", type=int, default=None)
a = parser.parse_args()
if a.workers is not None:
    _step_child(a.child, a.workers, a.quick)
else:
    _child(a.child, None if a.device == "cpu" else a.device, a.quick)
