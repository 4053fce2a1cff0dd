"""Week 4's assignments ("Building your Deep Neural Network: Step by Step", W4A1, and the application, W4A2):
which file is one, the problems its functions are graded on, and the calls the grading child makes.

Each function is called on its own, on inputs computed here (never on the student's other functions' outputs),
at depth L = 1, 2, 3 and 4 with layer widths that all differ (a transpose or a wrong layer cannot fit by
accident), weights of order 1 and non-zero biases (at the course's 0.01 every ReLU is near-linear and the
mistakes hide), and caches that are consistent: AL = σ(ZL), so dZL = AL − Y is right. A "square" problem,
every layer three wide, is only for naming a mistake whose shapes do not fit on the others (the top layer's
dA fed to every layer, caches[-l], parameters['W3']): there it gives numbers to compare.
"""
import numpy as np

import impls
from impls.backends import numpy_deep as ref

FUNCTIONS = ("initialize_parameters", "initialize_parameters_deep", "linear_forward", "linear_activation_forward",
             "L_model_forward", "compute_cost", "linear_backward", "linear_activation_backward", "L_model_backward",
             "update_parameters")
MODELS = ("two_layer_model", "L_layer_model")  # W4A2's: they call the course's dnn_app_utils_v3
# functions only week 4 defines: a file defining any of them (and not week 3's pair) is a week-4 file
MARKERS = frozenset(FUNCTIONS[1:5] + FUNCTIONS[6:9] + MODELS)
DEPTHS = (1, 2, 3, 4)
SQUARE = 3             # the square problem's width, every layer
LEARNING_RATE = 0.1    # update_parameters' learning rate here (the course's signature has no default)
MODEL_RATE = 0.05      # the models' learning rate: 0.0075 over a few steps would hide a wrong update
MODEL_STEPS = 12
DEEP_SEED, TWO_SEED, OTHER_SEED = 3, 1, 7  # initialize_parameters_deep seeds 3 (W4A1), initialize_parameters 1


def is_week4(names):
    """Whether a file that defines the functions `names` is a week-4 one (week 3 defines forward_propagation
    and backward_propagation)."""
    names = set(names)
    return bool(names & MARKERS) and not {"forward_propagation", "backward_propagation"} <= names


def defined_functions(program):
    """The functions a notebook.Program's statements define, read from the code (before it runs)."""
    return {n for u in program.units for s in u.statements if s.text.startswith(("def ", "async def "))
            for n in s.names}


def problem(rng, L, square=False):
    """A problem of depth L (see _draw) in which every hidden unit is active on some examples and not on others:
    no layer's gradient is zero, so no mistake multiplies into an answer that happens to be right."""
    while True:
        p = _draw(rng, L, square)
        if all(0 < np.mean(Z > 0, axis=1).min() and np.mean(Z > 0, axis=1).max() < 1 for _, Z in p["caches"][:-1]):
            return p


def _draw(rng, L, square):
    """One problem of depth L: dims [n_x, n_1, …, n_L = 1] all different (or all SQUARE wide), X, Y, the
    parameters, and every reference value of the course's functions on them (ReLU hidden layers)."""
    if square:
        dims = [SQUARE] * (L + 1)
    else:
        dims = [int(n) for n in rng.choice(np.arange(2, 9), size=L, replace=False)] + [1]
    m = int(rng.randint(9, 14))  # more than any width: a transposed (m, n) never passes for (n, m)
    X = rng.randn(dims[0], m)
    Y = np.zeros((dims[-1], m))
    for row in Y:
        row[rng.choice(m, size=m // 2, replace=False)] = 1  # both classes present
    params = {}
    for l in range(1, L + 1):
        params[f"W{l}"] = rng.randn(dims[l], dims[l - 1]) * 1.5 / np.sqrt(dims[l - 1])
        params[f"b{l}"] = rng.uniform(0.3, 1.0, (dims[l], 1)) * rng.choice([-1, 1], (dims[l], 1))
    AL, caches = ref.L_model_forward(X, params, "relu")
    grads = ref.L_model_backward(AL, Y, caches, "relu")
    grads["dA0"] = params["W1"].T @ grads["dZ1"]  # ∂J/∂X (times m): the 2021+ course's dA0
    return {"L": L, "dims": dims, "m": m, "X": X, "Y": Y, "params": params, "AL": AL, "caches": caches,
            "grads": grads, "dAL": -(Y / AL - (1 - Y) / (1 - AL)),
            "cost": float(np.sum(-Y * np.log(AL) - (1 - Y) * np.log(1 - AL)) / m)}


def _arrays(p, tag, inputs):
    """Register the problem's arrays as inputs; {name: spec} to pass them."""
    L = p["L"]
    named = {"X": p["X"], "Y": p["Y"], "AL": p["AL"], "dAL": p["dAL"], **p["params"],
             **{f"g.{k}": v for k, v in p["grads"].items()}}
    for l, ((A_prev, W, b), Z) in enumerate(p["caches"], start=1):
        named[f"A{l - 1}"], named[f"Z{l}"] = A_prev, Z
    for k, v in named.items():
        inputs[f"{tag}.{k}"] = v
    spec = {k: {"array": f"{tag}.{k}"} for k in named}
    spec["params"] = {"dict": {k: spec[k] for k in impls.param_names(L)}}
    spec["grads"] = {"dict": {f"d{k}": spec[f"g.d{k}"] for k in impls.param_names(L)}}
    spec["linear"] = [{"tuple": [spec[f"A{l - 1}"], spec[f"W{l}"], spec[f"b{l}"]]} for l in range(1, L + 1)]
    spec["caches"] = {"list": [{"tuple": [spec["linear"][l - 1], spec[f"Z{l}"]]} for l in range(1, L + 1)]}
    return spec


def build(seed, names):
    """(calls, inputs, problems): the calls of the functions in `names` on every problem (each call's id
    "<function>.<tag>", tag "L1" … "L4" or "square", or a variant), and the problems by tag."""
    rng = np.random.RandomState((seed + 2000) % 2**32)
    problems = {f"L{L}": problem(rng, L) for L in DEPTHS}
    problems["square"] = problem(rng, 4, square=True)
    calls, inputs = [], {}
    for tag, p in problems.items():
        a, L = _arrays(p, tag, inputs), p["L"]
        top = {"value": "sigmoid"}
        every = {
            "linear_forward": [[a[f"A{L - 1}"], a[f"W{L}"], a[f"b{L}"]]],
            "linear_activation_forward": [[a[f"A{L - 1}"], a[f"W{L}"], a[f"b{L}"], top]],
            "L_model_forward": [[a["X"], a["params"]]],
            "compute_cost": [[a["AL"], a["Y"]]],
            "linear_backward": [[a[f"g.dZ{L}"], a["linear"][L - 1]]],
            "linear_activation_backward": [[a["dAL"], {"tuple": [a["linear"][L - 1], a[f"Z{L}"]]}, top]],
            "L_model_backward": [[a["AL"], a["Y"], a["caches"]]],
            "update_parameters": [[a["params"], a["grads"], {"value": LEARNING_RATE}]],
        }
        if L > 1:  # a hidden layer: ReLU, db of several rows
            every["linear_activation_forward.relu"] = [[a["A0"], a["W1"], a["b1"], {"value": "relu"}]]
            every["linear_backward.hidden"] = [[a["g.dZ1"], a["linear"][0]]]
            every["linear_activation_backward.relu"] = [[a["g.dA1"], {"tuple": [a["linear"][0], a["Z1"]]},
                                                         {"value": "relu"}]]
        if tag == "square":
            every = {k: v for k, v in every.items() if k in ("L_model_forward", "L_model_backward")}
        for key, args in every.items():
            name = key.split(".")[0]
            if name in names:
                calls.append({"id": f"{key}.{tag}", "function": name, "args": args,
                              "after": name == "update_parameters"})
        dims = {"value": p["dims"]}
        if "initialize_parameters_deep" in names and tag != "square":
            calls.append({"id": f"initialize_parameters_deep.{tag}", "function": "initialize_parameters_deep",
                          "seed": DEEP_SEED, "args": [[dims]]})
        if tag == "L4":
            calls += [{"id": f"{n}.seed", "function": n, "seed": OTHER_SEED, "args": args}
                      for n, args in (("initialize_parameters_deep", [[dims]]),
                                      ("initialize_parameters", [[{"value": d} for d in (5, 4, 1)]]))
                      if n in names]
            calls += [{"id": f"initialize_parameters.{t}", "function": "initialize_parameters", "seed": TWO_SEED,
                       "args": [[{"value": d} for d in sizes]]} for t, sizes in (("a", (5, 4, 1)), ("b", (3, 7, 1)))
                      if "initialize_parameters" in names]
        if tag == "L3":
            for model, layers in (("two_layer_model", p["dims"][:2] + [1]), ("L_layer_model", p["dims"])):
                if model in names:
                    calls.append({"id": f"{model}.L3", "function": model, "seed": OTHER_SEED, "args": [
                        [a["X"], a["Y"], {"value": layers}, {"value": MODEL_RATE}, {"value": MODEL_STEPS},
                         {"value": False}]]})
    return calls, inputs, problems


def trained(p, two_layer):
    """What the course's W4A2 model gives after MODEL_STEPS steps: np.random.seed(1), then dnn_app_utils_v3's
    initialize_parameters (0.01 · randn after seed 1) or initialize_parameters_deep (randn / √n_{l−1} after
    seed 1), then forward, backward, update. (parameters, costs before each step)."""
    dims = p["dims"][:2] + [1] if two_layer else p["dims"]
    params = impls.init_deep_params(dims, seed=TWO_SEED, scale=0.01 if two_layer else "sqrt")
    costs = []
    for _ in range(MODEL_STEPS):
        AL, caches = ref.L_model_forward(p["X"], params, "relu")
        costs.append(float(np.sum(-p["Y"] * np.log(AL) - (1 - p["Y"]) * np.log(1 - AL)) / p["m"]))
        params = ref.update_parameters(params, ref.L_model_backward(AL, p["Y"], caches, "relu"), MODEL_RATE)
    return params, costs
