"""The fresh process of workloads.run_child: `python -m compare.bench --child NAME [--device D] [--quick]`."""
import argparse

from compare.bench.workloads import _child

parser = argparse.ArgumentParser()
parser.add_argument("--child", required=True)
parser.add_argument("--device", default="cpu")
parser.add_argument("--quick", action="store_true")
a = parser.parse_args()
_child(a.child, None if a.device == "cpu" else a.device, a.quick)
