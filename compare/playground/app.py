"""The playground's web app (Starlette): the page, its assets, and a small JSON API over the sessions.

    GET  /                               the page
    GET  /static/NAME                    an asset, from the list made when the app starts (no request
                                         names a path that is opened)
    GET  /api/options                    the choices, the defaults, the caps, the installed backends
    POST /api/sessions                   {"settings": {...}, "csv": {"name", "text"}?} -> a new session
    POST /api/sessions/ID/settings       the same body: this tab's session with new settings
    POST /api/sessions/ID/step           {"n": 1 … MAX_STEPS, "since": the page's last iteration, "detail":
                                         false to leave out the equations and the graph} -> the state after n
    POST /api/sessions/ID/state          the state as it is
    POST /api/sessions/ID/reset          -> the state at iteration 0
    POST /api/sessions/ID/close          a closed tab's state is freed (the page sends it on pagehide)

Every error is JSON {"error": message, "field": the setting or null} with a 4xx status; the work runs in
worker threads, one request per session at a time.
"""
import json
import time
from importlib import resources

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import impls
from impls.io.datasets import DATASETS
from compare.playground import session as sessions
from compare.playground import settings as S
from compare.playground import views

TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}
MAX_BODY = S.MAX_UPLOAD_BYTES * 2 + 10_000  # an upload as JSON text, escapes included, and the settings
LOOPBACK = ["127.0.0.1", "localhost", "[::1]", "::1"]


def assets():
    """{url name: (bytes, content type)} of every file under static/, read once."""
    found = {}

    def walk(folder, prefix):
        for item in folder.iterdir():
            if item.is_dir():
                walk(item, f"{prefix}{item.name}/")
            elif "." + item.name.rpartition(".")[2] in TYPES:
                found[prefix + item.name] = (item.read_bytes(), TYPES["." + item.name.rpartition(".")[2]])
    walk(resources.files("compare.playground") / "static", "")
    return found


class Problem(Exception):
    def __init__(self, status, message, field=None):
        super().__init__(message)
        self.status, self.field = status, field


def error(status, message, field=None):
    return JSONResponse({"error": str(message), "field": field}, status_code=status)


async def read_json(request):
    """The request's JSON object, read no further than MAX_BODY bytes."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY:
        raise Problem(413, f"the request has {length} bytes; the most it may have is {MAX_BODY}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise Problem(413, f"the request has more than {MAX_BODY} bytes, the most it may have")
    if not body:
        return {}
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise Problem(400, f"the request is not JSON ({type(e).__name__}: {str(e)[:80]})") from None
    if not isinstance(data, dict):
        raise Problem(400, f"the request must be a JSON object, got {type(data).__name__}")
    return data


def _upload(body):
    csv = body.get("csv")
    if csv is None:
        return None
    if not isinstance(csv, dict) or not isinstance(csv.get("text"), str):
        raise Problem(400, 'csv must be {"name": file name, "text": the file\'s content}', "dataset")
    return sessions.read_upload(csv.get("name"), csv["text"].encode("utf-8"))


def create_app(store=None):
    store = store if store is not None else sessions.Store()
    files = assets()

    def respond(work, body, started):
        """The work's answer as JSON, with the server's own time (wall, and this thread's CPU: the work and
        the JSON) in a Server-Timing header, which the page's timings and the browser's devtools show."""
        cpu = time.thread_time()
        session, payload = work(body)
        response = JSONResponse({"session": session.id, **payload})
        response.headers["Server-Timing"] = (f"app;dur={1000 * (time.perf_counter() - started):.1f}, "
                                             f"cpu;dur={1000 * (time.thread_time() - cpu):.1f}")
        return response

    def build(body, replacing=None):
        settings = S.parse(body.get("settings", {}))
        session = store.add(settings, _upload(body), replacing=replacing)
        with session.lock:
            return session, {"setup": views.setup(session), "state": views.state(session)}

    def act(sid, body, action):
        session = store.get(sid)
        with session.lock:
            action(session, body)
            since = body.get("since", -1)
            since = since if isinstance(since, int) and not isinstance(since, bool) else -1
            detail = body.get("detail", True) is not False
            return session, {"state": views.state(session, since=since, detail=detail)}

    def step(session, body):
        n = body.get("n", 1)
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= S.MAX_STEPS:
            raise Problem(400, f"n must be a whole number from 1 to {S.MAX_STEPS}, got {str(n)[:40]!r}")
        session.step(n)

    async def run(request, work):
        try:
            started = time.perf_counter()
            body = await read_json(request) if request.method == "POST" else {}
            return await run_in_threadpool(respond, work, body, started)
        except Problem as e:
            return error(e.status, e, e.field)
        except S.SettingError as e:
            return error(400, e, e.field)
        except sessions.SessionGone as e:
            return error(404, e)
        except sessions.Busy as e:
            return error(503, e)
        except (ValueError, impls.BackendNotInstalled) as e:  # the library's own checks: bad input all the same
            return error(400, e)

    async def page(request):
        return Response(files["index.html"][0], media_type=files["index.html"][1])

    async def static(request):
        found = files.get(request.path_params["name"])
        if found is None:
            return error(404, "no such file")
        return Response(found[0], media_type=found[1], headers={"Cache-Control": "no-cache"})

    async def options(request):
        return JSONResponse({"datasets": list(DATASETS) + [S.CSV], "activations": list(impls.ACTIVATIONS),
                             "dtypes": list(impls.DTYPES), "inits": list(S.INITS), "backends": S.engines(),
                             "defaults": S.Settings(backends=tuple(S.engines())).to_dict(), "caps": S.caps(),
                             "depth_defaults": {"one": S.depth_defaults((1,)), "deep": S.depth_defaults((1, 1))},
                             "memory": store.memory,
                             "sessions": len(store)})

    async def create(request):
        return await run(request, build)

    async def configure(request):
        sid = request.path_params["sid"]
        return await run(request, lambda body: build(body, replacing=store.get(sid)))

    async def do_step(request):
        return await run(request, lambda body: act(request.path_params["sid"], body, step))

    async def current(request):
        return await run(request, lambda body: act(request.path_params["sid"], body, lambda s, b: None))

    async def reset(request):
        return await run(request, lambda body: act(request.path_params["sid"], body, lambda s, b: s.reset()))

    async def close(request):
        store.close(request.path_params["sid"])
        return Response(status_code=204)

    async def not_found(request, exc):
        return error(exc.status_code, getattr(exc, "detail", "") or "not found")

    async def failed(request, exc):  # a bug, not bad input: said as it is, and the server goes on
        return error(500, f"the playground failed: {type(exc).__name__}: {exc}")

    routes = [Route("/", page), Route("/static/{name:path}", static), Route("/api/options", options),
              Route("/api/sessions", create, methods=["POST"]),
              Route("/api/sessions/{sid}/settings", configure, methods=["POST"]),
              Route("/api/sessions/{sid}/step", do_step, methods=["POST"]),
              Route("/api/sessions/{sid}/reset", reset, methods=["POST"]),
              Route("/api/sessions/{sid}/state", current, methods=["POST"]),
              Route("/api/sessions/{sid}/close", close, methods=["POST"])]
    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found, Exception: failed})
    app.state.store = store
    return app


def loopback_only(app):
    """The app answering only requests addressed to this machine by a loopback name: a page elsewhere
    that points a name of its own at 127.0.0.1 (DNS rebinding) gets a 400."""
    return TrustedHostMiddleware(app, allowed_hosts=LOOPBACK)
