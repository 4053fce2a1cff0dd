"""A served playground and a headless Chromium to drive it, for the browser tests, the latency
measurement and the docs' screenshots. Debian's chromium, never a browser Playwright downloads."""
import contextlib
import shutil
import threading
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
INSTALL = "apt-get install -y chromium (Debian's package, at /usr/bin/chromium) and pip install playwright"


def chromium_path():
    """Debian's chromium, or None where it is not installed."""
    for path in (CHROMIUM, shutil.which("chromium")):
        if path and Path(path).is_file():
            return path
    return None


def launch(playwright):
    return playwright.chromium.launch(executable_path=chromium_path(), args=FLAGS)


@contextlib.contextmanager
def serving(app=None):
    """The playground on 127.0.0.1 and a free port, in a thread of this process; yields its address."""
    import uvicorn

    from compare.playground.app import create_app, loopback_only
    from compare.playground.cli import bind

    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app or loopback_only(create_app()), log_level="warning",
                                           access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    if not server.started:
        raise RuntimeError("the playground's server did not start")
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def wait_iteration(page, n, timeout=30000):
    """Wait until the page shows iteration n."""
    page.wait_for_function(f"document.querySelector('[data-testid=iteration]').textContent === '{n}'",
                           timeout=timeout)
