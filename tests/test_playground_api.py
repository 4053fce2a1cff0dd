"""The playground's server without a browser (Starlette's TestClient): what it computes, and its rules for
garbage, sessions, uploads and paths."""
import json
import re

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx2", reason="Starlette's TestClient needs httpx2 (the test extra)")
from starlette.testclient import TestClient  # noqa: E402

import impls  # noqa: E402
from compare.playground import session as sessions  # noqa: E402
from compare.playground import settings as S  # noqa: E402
from compare.playground.app import MAX_BODY, create_app, loopback_only  # noqa: E402
from compare.teach.explain import rounding_scales  # noqa: E402
from compare.tolerances import BACKEND_RTOL, EXPLAIN_RTOL  # noqa: E402
from impls.io.datasets import load_dataset  # noqa: E402


@pytest.fixture
def client():
    return TestClient(create_app(sessions.Store()))


def start(client, **settings):
    response = client.post("/api/sessions", json={"settings": settings})
    assert response.status_code == 200, response.text
    return response.json()


def step(client, sid, n=1):
    response = client.post(f"/api/sessions/{sid}/step", json={"n": n})
    assert response.status_code == 200, response.text
    return response.json()["state"]


def trained(iterations, **kwargs):
    X, Y = load_dataset("planar")
    backend = impls.get_backend("numpy", **kwargs)
    return backend.train(impls.init_params(2, 4, seed=0), X, Y, learning_rate=1.2, iterations=iterations)


def test_defaults_are_the_command_lines_and_three_steps_give_its_cost(client):
    data = start(client)
    assert data["setup"]["settings"] == {"dataset": "planar", "noise": 0.0, "test": 0, "hidden": "4",
                                         "activation": "tanh", "lr": 1.2, "dtype": "float64",
                                         "backends": ",".join(S.engines()), "seed": 0, "init": "random"}
    assert data["setup"]["data"]["m"] == 400 and data["setup"]["data"]["m_test"] == 0
    state = step(client, data["session"], 3)
    assert state["iteration"] == 3
    assert state["cost"] == pytest.approx(trained(3).final_cost, rel=BACKEND_RTOL["float64"])
    assert [k for k, _, _ in state["history"]] == [0, 1, 2, 3]  # no `since`: the whole curve


def test_equation_values_are_numpys_and_the_differences_are_rounding(client):
    data = start(client)
    state = step(client, data["session"], 2)
    params = trained(2).params
    X, Y = load_dataset("planar")
    numpy = impls.get_backend("numpy")
    rows = {row["id"]: row for row in state["equations"]}
    assert list(rows) == ["F1", "F2", "F3", "F4", "B1", "B2", "B3", "B4", "B5", "B6"]
    np.testing.assert_allclose(rows["B5"]["value"]["full"], numpy.gradients(params, X, Y)["dW1"], rtol=1e-12)
    np.testing.assert_allclose(rows["B6"]["value"]["full"], numpy.gradients(params, X, Y)["db1"], rtol=1e-12)
    assert rows["F1"]["value"]["strip"]["rows"] == 4 and rows["F1"]["value"]["shape"] == [4, 400]
    values = {**numpy.forward(params, X), **numpy.intermediates(params, X, Y), **numpy.gradients(params, X, Y)}
    scales = rounding_scales(params, X, Y, values)
    setup = {e["id"]: e for e in data["setup"]["equations"]}
    for eq, row in rows.items():
        assert set(row["diffs"]) == set(S.engines()) - {"numpy"}
        for name, diff in row["diffs"].items():
            assert diff["ok"], (eq, name, diff)
            assert diff["max_abs"] <= EXPLAIN_RTOL["float64"] * scales[setup[eq]["yields"]]


@pytest.fixture
def fresh_backends():
    sessions.backend.cache_clear()  # the sessions' shared backends, made again with the patched get_backend
    yield
    sessions.backend.cache_clear()


def test_a_backend_that_computes_something_else_is_flagged_in_its_equation(client, monkeypatch, fresh_backends):
    real = impls.get_backend

    class WrongDW2(type(real("tape"))):  # the tape with B2 off by a factor of 2
        def gradients(self, params, X, Y):
            g = super().gradients(params, X, Y)
            return {**g, "dW2": 2 * g["dW2"]}

    monkeypatch.setattr(impls, "get_backend", lambda name, **kw: WrongDW2(**kw) if name == "tape" else real(name, **kw))
    state = start(client, backends="numpy,tape")["state"]
    flagged = {row["id"]: row["diffs"]["tape"]["ok"] for row in state["equations"]}
    assert flagged == {**{eq: True for eq in flagged}, "B2": False}


def test_each_equation_row_comes_from_the_one_table(client):
    from compare import equations
    setup = start(client, hidden="7", activation="relu")["setup"]
    assert [(e["id"], e["formula"], tuple(e["shape"])) for e in setup["equations"]] == [
        (e.id, e.text("relu"), e.shape_for(2, 7, 1, 400)) for e in equations.EQUATIONS]
    assert [e["layer"] for e in setup["equations"]] == [e.layer for e in equations.EQUATIONS] == [1, 1, 2, 2, 2,
                                                                                                  2, 2, 1, 1, 1]
    assert setup["layers"] == [{"layer": 1, "units": 7, "activation": "relu"}] and setup["layer_dims"] == [2, 7, 1]
    assert setup["source"]["tags"]["B4"][-1] - setup["source"]["tags"]["B4"][0] == 1  # dA1's line and B4's


@pytest.mark.parametrize("settings, field, message", [
    ({"lr": "abc"}, "lr", "Learning rate: 'abc' is not a number"),
    ({"lr": "0"}, "lr", "Learning rate: '0' must be a finite number > 0"),
    ({"lr": "nan"}, "lr", "must be a finite number"),
    ({"hidden": "0"}, "hidden", "Hidden units: '0' must be a finite number from 1 to 64"),
    ({"hidden": "65"}, "hidden", "from 1 to 64"),
    ({"hidden": "1,2,3,4,5,6,7"}, "hidden", "Hidden units: '1,2,3,4,5,6,7' asks for 7 hidden layers; the "
                                            "playground takes at most 6"),
    ({"hidden": "20,,5"}, "hidden", "Hidden units: '20,,5' has an empty layer"),
    ({"hidden": "20,0,5"}, "hidden", "Hidden units: '0' must be a finite number from 1 to 64"),
    ({"hidden": "20,65"}, "hidden", "Hidden units: '65' must be"),
    ({"hidden": "20;7"}, "hidden", "Hidden units: '20;7' is not a whole number"),
    ({"hidden": "3,2", "backends": "numpy,torch-ddp"}, "backends", "'torch-ddp' is not one the page can run"),
    ({"hidden": [4]}, "hidden", "expected a value, got list"),
    ({"dataset": "../../../etc/passwd"}, "dataset", "unknown '../../../etc/passwd'; choose one of: planar"),
    ({"dataset": "/etc/hosts.csv"}, "dataset", "unknown"),
    ({"activation": "softmax"}, "activation", "unknown 'softmax'"),
    ({"backends": "numpy,torch-ddp"}, "backends", "'torch-ddp' is not one the page can run"),
    ({"test": "95"}, "test", "from 0 to 80"),
    ({"noise": "-1"}, "noise", "from 0 to 1"),
    ({"seed": "1.5"}, "seed", "'1.5' is not a whole number"),
    ({"init": "ones"}, "init", "unknown 'ones'"),
    ({"colour": "red"}, None, "unknown setting 'colour'"),
    ({"dataset": "csv"}, "dataset", "choose a CSV file to upload"),
])
def test_garbage_settings_get_a_400_naming_the_setting(client, settings, field, message):
    response = client.post("/api/sessions", json={"settings": settings})
    assert response.status_code == 400
    assert response.json()["field"] == field and message in response.json()["error"]


@pytest.mark.parametrize("body, status, message", [
    (b"not json", 400, "the request is not JSON"),
    (b"[1, 2]", 400, "must be a JSON object, got list"),
    (b'{"settings": 3}', 400, "the settings must be an object"),
    (b"\xff\xfe", 400, "the request is not JSON"),
    (b'{"csv": "x"}', 400, "csv must be"),
    (b"{" + b" " * (MAX_BODY + 10) + b"}", 413, "the most it may have"),
])
def test_garbage_requests_get_a_4xx_and_the_server_goes_on(client, body, status, message):
    response = client.post("/api/sessions", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == status and message in response.json()["error"]
    assert client.get("/api/options").status_code == 200


def test_garbage_steps_and_unknown_sessions(client):
    sid = start(client)["session"]
    for n in (0, S.MAX_STEPS + 1, "3", 2.5, True, None):
        response = client.post(f"/api/sessions/{sid}/step", json={"n": n})
        assert response.status_code == 400 and "n must be a whole number" in response.json()["error"]
    for path in ("/api/sessions/nope/step", "/api/sessions/nope/reset", "/api/sessions/nope/settings"):
        response = client.post(path, json={})
        assert response.status_code == 404 and "reload the page" in response.json()["error"]
    assert client.get(f"/api/sessions/{sid}/step").status_code == 405
    assert client.get("/no/such/page").status_code == 404


def test_static_files_are_a_fixed_list_and_no_path_is_read(client):
    assert client.get("/").headers["content-type"].startswith("text/html")
    assert "data-testid=\"iteration\"" in client.get("/").text
    assert client.get("/static/js/main.js").headers["content-type"].startswith("text/javascript")
    for path in ("/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2F..%2Fpyproject.toml",
                 "/static//etc/passwd", "/static/js/../../session.py"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "import" not in response.text


def test_another_host_name_is_refused_when_bound_to_loopback():
    client = TestClient(loopback_only(create_app(sessions.Store())), base_url="http://127.0.0.1:8019")
    assert client.get("/").status_code == 200
    assert client.get("/", headers={"Host": "localhost:8019"}).status_code == 200
    assert client.get("/", headers={"Host": "attacker.example:8019"}).status_code == 400


def test_two_tabs_train_independently_and_a_closed_tab_is_freed():
    store = sessions.Store()
    client = TestClient(create_app(store))
    a, b = start(client)["session"], start(client, lr="0.5")["session"]
    step(client, a, 5)
    assert step(client, b, 1)["iteration"] == 1
    assert len(store) == 2
    assert client.post(f"/api/sessions/{a}/close").status_code == 204
    assert len(store) == 1 and client.post(f"/api/sessions/{a}/step", json={}).status_code == 404


def test_sessions_are_bounded_in_number_memory_and_idle_time():
    client = TestClient(create_app(sessions.Store(max_sessions=2)))
    start(client), start(client)
    response = client.post("/api/sessions", json={})
    assert response.status_code == 503 and "its limit; close a tab" in response.json()["error"]
    small = TestClient(create_app(sessions.Store(memory=10_000)))
    assert small.post("/api/sessions", json={}).status_code == 503
    idle = sessions.Store(idle_seconds=0)
    sid = idle.add(S.parse({})).id
    with pytest.raises(sessions.SessionGone):
        idle.get(sid)


def test_changing_the_settings_keeps_the_tab_and_starts_again(client):
    sid = start(client)["session"]
    step(client, sid, 4)
    response = client.post(f"/api/sessions/{sid}/settings", json={"settings": {"hidden": "3", "test": "25"}})
    data = response.json()
    assert data["session"] == sid and data["state"]["iteration"] == 0
    assert data["setup"]["data"]["m"] == 300 and data["setup"]["data"]["m_test"] == 100
    assert data["state"]["test_cost"] is not None and data["state"]["test_accuracy"] is not None
    assert client.post(f"/api/sessions/{sid}/reset", json={}).json()["state"]["iteration"] == 0


def test_added_noise_and_the_split_are_deterministic_from_the_seed(client):
    one = start(client, noise="0.3", test="20", seed="4")["setup"]["data"]["points"]
    two = start(client, noise="0.3", test="20", seed="4")["setup"]["data"]["points"]
    plain = start(client, test="20", seed="4")["setup"]["data"]["points"]
    assert one == two and one != plain
    assert sum(p[3] for p in one) == 80  # the test points


def test_a_csv_upload_follows_the_command_lines_rules(client):
    text = "x1,x2,label\n" + "".join(f"{i % 7},{(i * 3) % 5},{i % 2}\n" for i in range(30))
    data = client.post("/api/sessions", json={"settings": {"dataset": "csv"},
                                              "csv": {"name": "C:\\Users\\me/mine.csv", "text": text}}).json()
    assert data["setup"]["data"] == {**data["setup"]["data"], "name": "mine.csv", "n_x": 2, "m": 30}
    sid = data["session"]
    # the next settings keep the uploaded data without sending it again
    again = client.post(f"/api/sessions/{sid}/settings", json={"settings": {"dataset": "csv", "hidden": "2"}})
    assert again.json()["setup"]["data"]["m"] == 30
    bad = client.post("/api/sessions", json={"settings": {"dataset": "csv"},
                                             "csv": {"name": "../bad.csv", "text": "a,b,y\n1,2,0\n3,oops,1\n"}})
    assert bad.status_code == 400 and bad.json()["field"] == "dataset"
    assert bad.json()["error"] == "bad.csv, line 3, column 2 ('b'): 'oops' is not a finite number"
    big = "a,y\n" + "1,0\n" * (S.MAX_EXAMPLES + 1)
    upload = {"settings": {"dataset": "csv"}, "csv": {"name": "big.csv", "text": big}}
    response = client.post("/api/sessions", json=upload)
    assert response.status_code == 400 and f"the playground takes at most {S.MAX_EXAMPLES}" in response.json()["error"]
    upload["csv"]["text"] = "a,y\n" + "1.00000000000000000000,0\n" * (S.MAX_UPLOAD_BYTES // 20)
    response = client.post("/api/sessions", json=upload)
    assert response.status_code == 400 and "more than the 1000000 an upload may have" in response.json()["error"]


def test_a_learning_rate_of_1e300_is_a_divergence_at_iteration_1_never_nan(client):
    sid = start(client, lr="1e300")["session"]
    response = client.post(f"/api/sessions/{sid}/step", json={"n": 5})
    state = response.json()["state"]
    assert "NaN" not in response.text and "Infinity" not in response.text
    assert state["diverged"]["iteration"] == 1
    assert "at iteration 1 with learning rate 1e+300" in state["diverged"]["message"]
    assert state["iteration"] == 0 and state["cost"] == pytest.approx(np.log(2), rel=1e-3)
    assert state["suggested_lr"] == 1.2  # the course's: 1e299 would diverge too
    assert step(client, sid, 1)["iteration"] == 0  # stays where it stopped until Reset or new settings


def test_a_learning_rate_of_50_shows_where_the_cost_blew_up(client):
    sid = start(client, lr="50")["session"]
    state = step(client, sid, 10)
    costs = {k: c for k, c, _ in state["history"]}
    first = next(k for k, c in costs.items() if c > 2 * np.log(2))
    assert state["blowup"]["iteration"] == first and state["blowup"]["cost"] == costs[first]
    assert state["suggested_lr"] == 5 and state["diverged"] is None


def test_zero_init_keeps_every_hidden_unit_identical(client):
    sid = start(client, init="zero")["session"]
    maps = step(client, sid, 20)["maps"]["units"][0]["maps"]
    assert len(maps) == 4 and len(set(maps)) == 1
    maps = step(client, start(client)["session"], 20)["maps"]["units"][0]["maps"]
    assert len(set(maps)) == 4


def test_the_graph_names_each_rule_and_what_torch_and_jax_run(client):
    data = start(client)
    nodes = data["setup"]["graph"]["nodes"]
    rules = [r["rule"] for n in nodes for r in n.get("rules", [])]
    assert "matmul: grad wrt W2 = upstream · A1ᵀ" in rules and "matmul: grad wrt W1 = upstream · Xᵀ" in rules
    values = data["state"]["graph"]
    assert len(values) == len(nodes)
    w2 = next(i for i, n in enumerate(nodes) if n["name"] == "W2")
    dW2 = impls.get_backend("numpy").gradients(impls.init_params(2, 4, seed=0), *load_dataset("planar"))["dW2"]
    np.testing.assert_allclose(values[w2]["grad"]["full"], dW2, rtol=1e-12)
    matmul = next(n for n in nodes if n["op"] == "matmul" and n["equation"] == "F3")
    if "torch" in impls.available_backends():
        assert "AddmmBackward0" in matmul["engines"]["torch"]["forward"]
    if "jax" in impls.available_backends():
        assert "dot_general" in matmul["engines"]["jax"]["forward"]
    json.dumps(data, allow_nan=False)


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_every_data_set_and_activation_steps_with_rounding_level_differences(client, dtype):
    for dataset, activation in (("moons", "relu"), ("circles", "sigmoid"), ("blobs", "leaky_relu"),
                                ("xor", "tanh"), ("spiral", "relu"), ("breast_cancer", "tanh")):
        data = start(client, dataset=dataset, activation=activation, dtype=dtype, hidden="5", test="20")
        state = step(client, data["session"], 20)
        assert state["iteration"] == 20 and np.isfinite(state["cost"]) and state["test_cost"] is not None
        assert (state["maps"] is None) == (dataset == "breast_cancer")
        bad = [(row["id"], name, d) for row in state["equations"] for name, d in row["diffs"].items() if not d["ok"]]
        assert not bad, (dataset, activation, bad)


def test_a_light_update_leaves_out_the_details_and_state_brings_them(client):
    sid = start(client)["session"]
    response = client.post(f"/api/sessions/{sid}/step", json={"n": 3, "detail": False})
    assert re.fullmatch(r"app;dur=[\d.]+, cpu;dur=[\d.]+", response.headers["server-timing"])
    light = response.json()["state"]
    assert light["equations"] is None and light["graph"] is None and light["maps"] is not None
    full = client.post(f"/api/sessions/{sid}/state", json={"since": 3}).json()["state"]
    assert full["iteration"] == 3 and len(full["equations"]) == 10 and full["history"] == []
    assert full["cost"] == light["cost"]


@pytest.mark.slow
def test_random_garbage_settings_are_a_200_or_a_400_never_a_500():
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies
    client = TestClient(create_app(sessions.Store(max_sessions=10_000)))
    values = st.one_of(st.text(max_size=12), st.integers(-10, 10 ** 6), st.floats(allow_nan=True), st.none(),
                       st.booleans(), st.lists(st.integers(), max_size=2), st.sampled_from(["planar", "relu", "1e3"]))
    names = st.sampled_from(list(S.PARSERS) + ["x", ""])

    @hypothesis.settings(max_examples=60, deadline=None)
    @hypothesis.given(st.dictionaries(names, values, max_size=4))
    def check(settings):
        # NaN and infinities go as JavaScript's literals, which json.dumps writes and the server must refuse
        response = client.post("/api/sessions", content=json.dumps({"settings": settings}),
                               headers={"content-type": "application/json"})
        assert response.status_code in (200, 400), response.text
        if response.status_code == 400:
            assert response.json()["error"]
        else:
            client.post(f"/api/sessions/{response.json()['session']}/close")

    check()
