"""The playground's server in deep mode (hidden layers 20,7,5 and the like), without a browser: the command line's
defaults per depth, the week-4 rows per layer with their values and every backend's differences, the unit maps per
layer, the tape's graph of L layers, and its refusals."""
import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx2", reason="Starlette's TestClient needs httpx2 (the test extra)")

import impls  # noqa: E402
from compare import equations  # noqa: E402
from compare.playground import settings as S  # noqa: E402
from compare.playground import table  # noqa: E402
from compare.tolerances import BACKEND_RTOL, EXPLAIN_RTOL  # noqa: E402
from impls.io.datasets import load_dataset  # noqa: E402
from impls.memory import layers_memory  # noqa: E402
from test_playground_api import client, fresh_backends, start, step  # noqa: E402, F401


def deep_trained(dims, iterations, lr=0.0075, scale="sqrt", seed=0):
    X, Y = load_dataset("planar")
    numpy = impls.get_backend("numpy")
    params = numpy.train(impls.init_deep_params(dims, seed=seed, scale=scale), X, Y, learning_rate=lr,
                         iterations=iterations).params
    return numpy, params, X, Y


def test_20_7_5_takes_the_command_lines_deep_defaults_and_its_rows_per_layer(client):
    data = start(client, hidden="20,7,5")
    setup = data["setup"]
    assert setup["settings"]["lr"] == 0.0075 and setup["settings"]["init"] == "sqrt"  # as train --hidden 20,7,5
    assert setup["layer_dims"] == [2, 20, 7, 5, 1]
    assert [(l["layer"], l["units"]) for l in setup["layers"]] == [(1, 20), (2, 7), (3, 5)]
    rows = [(e["id"], e["layer"], tuple(e["shape"])) for e in setup["equations"]]
    assert rows == [(e.id, e.layer, e.shape_in([2, 20, 7, 5, 1], 400)) for e in equations.deep_equations(4)]
    assert rows[:3] == [("F1", 1, (20, 400)), ("F2", 1, (20, 400)), ("F1", 2, (7, 400))] and len(rows) == 20
    assert ("B5", 2, (7, 20)) in rows  # dW2 = (1/m) dZ2 A1ᵀ
    assert setup["source"]["file"] == "backends/numpy_deep.py"
    assert set(setup["source"]["tags"]) == {f"F{i}" for i in range(1, 5)} | {f"B{i}" for i in range(1, 7)}
    assert setup["caps"]["layers"] == S.MAX_LAYERS and setup["memory"] > 0
    # an explicit learning rate or initialisation is kept at any depth
    assert start(client, hidden="3,2", lr="0.1", init="random")["setup"]["settings"]["lr"] == 0.1


def test_steps_give_the_numpy_deep_networks_cost_and_rows(client):
    data = start(client, hidden="3,2")
    state = step(client, data["session"], 5)
    numpy, params, X, Y = deep_trained([2, 3, 2, 1], 5)
    assert state["cost"] == pytest.approx(numpy.cost(params, X, Y), rel=BACKEND_RTOL["float64"])
    values = {**numpy.forward(params, X), **numpy.intermediates(params, X, Y), **numpy.gradients(params, X, Y)}
    rows = {(r["id"], r["layer"]): r for r in state["equations"]}
    np.testing.assert_allclose(rows[("B5", 2)]["value"]["full"], values["dW2"], rtol=1e-12)
    np.testing.assert_allclose(rows[("B2", 3)]["value"]["full"], values["dW3"], rtol=1e-12)
    scales = table.rounding_scales(params, X, Y, values)
    for (eq, layer), row in rows.items():
        assert set(row["diffs"]) == set(S.engines()) - {"numpy"}
        result = equations.deep_by_row(3)[(eq, layer)].yields
        for name, diff in row["diffs"].items():
            assert diff["ok"] and diff["max_abs"] <= EXPLAIN_RTOL["float64"] * scales[result], (eq, layer, name)


def test_a_backend_wrong_in_one_layer_is_flagged_in_that_layers_row_only(client, monkeypatch, fresh_backends):
    real = impls.get_backend

    class WrongDW2(type(real("tape"))):  # the tape with layer 2's dW off by a factor of 2
        def gradients(self, params, X, Y):
            g = super().gradients(params, X, Y)
            return {**g, "dW2": 2 * g["dW2"]}

    monkeypatch.setattr(impls, "get_backend", lambda name, **kw: WrongDW2(**kw) if name == "tape" else real(name, **kw))
    state = start(client, hidden="5,4,3", backends="numpy,tape")["state"]
    flagged = {(r["id"], r["layer"]) for r in state["equations"] if not r["diffs"]["tape"]["ok"]}
    assert flagged == {("B5", 2)}


def test_unit_maps_per_layer_and_zero_init_symmetry_in_each(client):
    state = start(client, hidden="6,3")["state"]
    assert [(u["layer"], len(u["maps"])) for u in state["maps"]["units"]] == [(1, 6), (2, 3)]
    assert len(set(state["maps"]["units"][0]["maps"])) > 1  # random weights: units differ
    # a test split leaves the training labels unbalanced, so that dZ3 = A3 − Y is not zero and gradients flow
    data = start(client, hidden="6,3", init="zero", activation="sigmoid", lr="0.5", test="30")
    state = step(client, data["session"], 20)
    for layer in state["maps"]["units"]:
        assert len(set(layer["maps"])) == 1, layer["layer"]  # every unit of the layer the same function
    assert state["cost"] < data["state"]["cost"]  # and yet it learns (sigmoid: g(0) = ½)


def test_the_graph_grows_by_columns_and_names_each_layers_rows(client):
    shallow = start(client, hidden="4")["setup"]["graph"]
    deep = start(client, hidden="20,7,5")["setup"]["graph"]
    assert shallow["depth"] == 2 and deep["depth"] == 4
    width = {name: max(n["x"] for n in g["nodes"]) - min(n["x"] for n in g["nodes"])
             for name, g in (("shallow", shallow), ("deep", deep))}
    assert width["deep"] >= width["shallow"] + 2 * 2  # two more layers, two or more columns each
    ops = {(n["equation"], n["layer"]): n for n in deep["nodes"] if n["op"] in ("matmul", "tanh", "sigmoid")}
    assert {k for k in ops} >= {("F1", 1), ("F2", 1), ("F1", 2), ("F2", 3), ("F3", 4), ("F4", 4)}
    w2a1 = next(n for n in deep["nodes"] if n["name"] == "W2·A1")
    assert (w2a1["equation"], w2a1["layer"]) == ("F1", 2)
    assert {(r["yields"], r["equation"], r["layer"]) for r in w2a1["rules"]} == {("dW2", "B5", 2),
                                                                                ("dA1/m", "B4", 1)}
    W4 = next(n for n in deep["nodes"] if n["name"] == "W4")
    assert W4["gradient"] == ["dW4", "B2", 4]
    assert not next(n for n in deep["nodes"] if n["name"] == "A4")["on_path"]  # the cost is computed from Z4
    if "torch" in S.engines():
        assert "Addmm" in w2a1["engines"]["torch"]["forward"] or "Mm" in w2a1["engines"]["torch"]["forward"]


def test_a_divergent_deep_run_suggests_a_smaller_rate_and_sessions_hold_their_memory(client):
    data = start(client, hidden="20,7,5", lr="1e300")
    state = step(client, data["session"], 1)
    assert state["diverged"] and state["suggested_lr"] == 0.0075  # the deep default, as train's
    assert state["cost"] == pytest.approx(data["state"]["cost"])  # the last finite state
    # the command line's estimate of one run, for each backend and the table's reference values
    engines = len(S.engines())
    assert data["setup"]["memory"] == (engines + 1) * layers_memory([2, 20, 7, 5, 1], 400, "float64")
    assert start(client, hidden="3")["setup"]["memory"] < data["setup"]["memory"] / 4


def test_deep_garbage_steps_get_a_400_and_the_session_goes_on(client):
    sid = start(client, hidden="3,2")["session"]
    for n in (0, S.MAX_STEPS + 1, "2", None):
        assert client.post(f"/api/sessions/{sid}/step", json={"n": n}).status_code == 400
    response = client.post(f"/api/sessions/{sid}/settings", json={"settings": {"hidden": "3,2,1,1,1,1,1"}})
    assert response.status_code == 400 and response.json()["field"] == "hidden"
    assert step(client, sid, 2)["iteration"] == 2
