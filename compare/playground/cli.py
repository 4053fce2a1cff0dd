"""The command: `python -m compare playground [--port N] [--host 127.0.0.1] [--no-browser]`."""
import ipaddress
import socket
import sys

DEFAULT_PORT = 8019


def port(text):
    import argparse
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} must be from 0 (a free port) to 65535")
    return value


def register(subparsers):
    p = subparsers.add_parser("playground", help="a page in the browser: train step by step, watch the ten "
                              "equations live, compare the backends")
    p.add_argument("--port", type=port, default=DEFAULT_PORT,
                   help=f"the port to serve on; 0 picks a free one (default: {DEFAULT_PORT})")
    p.add_argument("--host", default="127.0.0.1",
                   help="the address to serve on (default: 127.0.0.1, this machine alone)")
    p.add_argument("--no-browser", action="store_true", help="do not open the page in a browser")
    p.set_defaults(func=cmd_playground)


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host, number):
    """A listening socket on host:number, or an OSError whose message says what to do."""
    try:
        infos = socket.getaddrinfo(host, number, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise OSError(f"--host {host}: not an address of this machine ({e.strerror})") from None
    family, kind, proto, _, address = infos[0]
    # proto IPPROTO_TCP, as getaddrinfo gives it: asyncio turns Nagle's algorithm off only on connections of
    # such a socket, and with it on every answer waited 40 ms for the browser's delayed ACK (measured 44 ms
    # for a trivial request against 0.2 ms)
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind(address)
    except OSError as e:
        sock.close()
        hint = "; --port 0 picks a free one" if number else ""
        raise OSError(f"cannot serve on {host} port {number}: {e.strerror or e}{hint}") from None
    sock.listen(128)
    return sock


def cmd_playground(args):
    try:
        import uvicorn

        from compare.playground.app import create_app, loopback_only
    except ImportError as e:
        print(f"compare: error: the playground needs {e.name}, which is not installed: "
              'pip install -c constraints.txt -e ".[playground]" in the clone', file=sys.stderr)
        return 2
    sock = bind(args.host, args.port)
    host, number = sock.getsockname()[:2]
    if not is_loopback(host):  # said before the address, so that it is never missed
        print(f"warning: serving on {host}: anyone who can reach this machine on port {number} can use the "
              "playground, and this machine's CPU with it", file=sys.stderr, flush=True)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{number}/"
    print(f"Playground at {url}", flush=True)
    print("Ctrl-C stops it.", flush=True)
    app = create_app()
    if is_loopback(host):
        app = loopback_only(app)
    _limit_threads()
    if not args.no_browser:
        open_browser(url)
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=2,
                            lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def open_browser(url):
    """The page in the user's browser, soon after the server starts; never a text browser, which would
    take over this terminal (Linux without a display has only those)."""
    import os
    import threading
    import webbrowser

    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        print("(no display here: open the address in a browser)", flush=True)
        return
    threading.Timer(0.3, webbrowser.open, [url]).start()


def _limit_threads():
    """One torch thread and one BLAS thread per request: sessions run side by side in the server's threads, and
    the page's problems are far below the size where a second thread pays (impls.threads.ONE_THREAD_BELOW).
    NumPy's OpenBLAS splits a deep network's 64 × 64 products over both cores, and on a busy machine waits for
    the second: a Step of 64,64,64,64,64,64 took 17 times the CPU time of one thread (docs/playground.md)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # not installed: BLAS keeps its threads
        pass
    else:
        threadpool_limits(1)
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)
