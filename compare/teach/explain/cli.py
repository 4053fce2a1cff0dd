"""`python -m compare explain`: the table, or with --trace the backward pass as an engine runs it, or with --graph
the tape's graph drawn."""
from pathlib import Path

import impls


def register(subparsers):
    from compare import cli
    from compare.teach.trace import ENGINES

    # conflict_handler="resolve": explain's own --iterations below replaces the shared one
    p = subparsers.add_parser("explain", conflict_handler="resolve", help="the ten equations beside the NumPy "
                              "code and autograd's counterparts, with the live differences")
    cli.add_model_args(p, deep=True)  # --hidden 20,7,5: the L-layer table
    p.add_argument("--iterations", type=cli.count, default=0,  # it looks at the starting parameters unless asked
                   help="explain at the parameters after this many steps (default: 0)")
    p.add_argument("--trace", action="store_true", help="show the backward pass as an autograd engine runs "
                   "it, node by node, read from its live graph (see --backend)")
    p.add_argument("--backend", choices=tuple(ENGINES), default="tape",
                   help=f"the engine --trace reads: {', '.join(ENGINES)} (default: tape)")
    p.add_argument("--graph", type=Path, default=None, metavar="PATH.png",
                   help="draw the computational graph (F1–F4, the cost, B1–B6) into this PNG file")
    p.set_defaults(func=cmd_explain)


def cmd_explain(args):
    from compare import cli
    from compare.teach.explain.deep import explain_deep
    from compare.teach.explain.table import default_backends, explain

    if args.graph is not None:
        check_output(args.graph, args.dataset)  # before any work
    if args.trace or args.graph is not None:
        return _trace_and_graph(args)
    backends, missing = default_backends(args.activation, args.dtype, args.device)
    X, Y, params = cli.load_problem(args)
    deep = len(args.hidden) > 1
    at = (f"from init_deep_params(seed={args.seed}, scale={args.init_scale!r})" if deep else
          f"from init_params(seed={args.seed})")
    if args.iterations:
        params = backends["numpy"].train(params, X, Y, learning_rate=args.lr, iterations=args.iterations).params
        at = f"after {args.iterations} steps at learning rate {args.lr:g}, " + at
    table = explain_deep if deep else explain
    result = table(params, X, Y, backends=backends, missing=missing, dataset=args.dataset, at=at)
    print(result)
    return 0 if result.ok else 1


def check_output(path, dataset):
    """Refuse, before the work, an output that is a folder, a special file or the input data set."""
    from impls.io.files import check_destination

    check_destination(path, [("--dataset", dataset)], f"--graph {path}")


def _trace_and_graph(args):
    from compare import cli
    from compare.teach import graph, trace

    if args.trace and args.backend not in impls.available_backends():
        raise ValueError(f"--trace --backend {args.backend}: {args.backend} is not installed "
                         f"({impls.install_hint(args.backend)})")
    X, Y, params = cli.load_problem(args)
    if args.iterations:
        params = impls.get_backend("numpy", activation=args.activation, dtype=args.dtype).train(
            params, X, Y, learning_rate=args.lr, iterations=args.iterations).params
    if args.trace:
        print(trace.trace(args.backend, params, X, Y, activation=args.activation, dtype=args.dtype))
    if args.graph is not None:
        graph.write_graph(args.graph, params, X, Y, activation=args.activation, dtype=args.dtype)
        print(f"Graph written to {args.graph}")
    return 0
