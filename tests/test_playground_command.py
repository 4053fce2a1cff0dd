"""`python -m compare playground` as a user runs it: its first line, the page it serves, Ctrl-C, --host and a
busy port."""
import os
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest

from conftest import run_compare, run_process, started

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")


def launch(*args):
    """The playground's command started, for a with-block at whose end it is killed if it is still there."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return started([sys.executable, "-m", "compare", "playground", "--no-browser", *args],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def stop(process):
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    return process.returncode, out, err


def test_the_command_line_does_not_load_the_web_libraries():
    code = ("import sys; from compare import cli; cli.build_parser(); "
            "print(sorted(m for m in ('starlette', 'uvicorn', 'torch', 'jax') if m in sys.modules))")
    out = run_process([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.slow
def test_it_prints_its_address_first_serves_the_page_and_stops_on_ctrl_c_in_one_line():
    with launch("--port", "0") as process:
        try:
            first = process.stdout.readline()
            assert first.startswith("Playground at http://127.0.0.1:") and first.endswith("/\n")
            url = first.split()[-1]
            with urllib.request.urlopen(url, timeout=30) as response:
                assert b'data-testid="iteration"' in response.read()
            with urllib.request.urlopen(url + "static/js/main.js", timeout=30) as response:
                assert response.headers["Content-Type"].startswith("text/javascript")
        finally:
            status, out, err = stop(process)
    assert status == 130 and err == "interrupted\n", err
    assert "Traceback" not in out + err


@pytest.mark.slow
def test_another_host_is_warned_about():
    with launch("--host", "0.0.0.0", "--port", "0") as process:
        try:
            assert process.stdout.readline().startswith("Playground at http://0.0.0.0:")
        finally:
            status, _, err = stop(process)
    assert "warning: serving on 0.0.0.0: anyone who can reach this machine" in err and status == 130


@pytest.mark.slow
def test_a_busy_port_is_one_line_and_status_2():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = run_compare("playground", "--no-browser", "--port", port, timeout=60)
    assert result.returncode == 2
    assert result.stderr == (f"python -m compare: error: cannot serve on 127.0.0.1 port {port}: Address already in "
                             "use; --port 0 picks a free one\n")  # the one form of every error line (issue 15)
    bad = run_compare("playground", "--port", "70000", timeout=60)
    assert bad.returncode == 2 and "must be from 0 (a free port) to 65535" in bad.stderr


def test_the_server_socket_is_tcp_with_nagle_off():
    """asyncio turns Nagle's algorithm off only for an IPPROTO_TCP socket's connections; with it on, each
    answer waited 40 ms for the browser's delayed ACK."""
    from compare.playground.cli import bind
    with bind("127.0.0.1", 0) as sock:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


def test_the_server_runs_blas_and_torch_on_one_thread():
    # in a child, so that this process keeps its threads: a deep network's 64 × 64 products are split over the
    # cores by OpenBLAS otherwise, and wait for a busy one
    pytest.importorskip("threadpoolctl")
    code = ("from threadpoolctl import threadpool_info; import numpy; from compare.playground.cli import "
            "_limit_threads; _limit_threads(); print(sorted({i['num_threads'] for i in threadpool_info() "
            "if i['user_api'] == 'blas'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "OPENBLAS_NUM_THREADS": "2"}).stdout
    assert out.strip() == "[1]"
