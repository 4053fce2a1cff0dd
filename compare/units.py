"""Why a ReLU network can end with a low accuracy (`run --activation relu`: 63.5% on planar): hidden units it
has lost. A dead unit has Z ≤ 0 on every example: its output is 0 everywhere and ReLU's
derivative there is 0, so no gradient reaches it again. Two units whose (w, b) rows point the same way are
one unit: with ReLU, c·max(0, z) = max(0, c·z) for c > 0, so they compute one feature, scaled."""
import numpy as np

SAME_DIRECTION = 1 - 1e-4  # the cosine between two units' (w, b) rows above which they are one unit


def hidden_units(params, X, activation):
    """[(layer, units, dead, distinct)] for each hidden layer of a ReLU network at `params`; [] for the other
    activations (leaky_relu's units keep a 0.01 slope; tanh's and sigmoid's never stop). `distinct` counts the
    live units that no other live unit of the layer duplicates."""
    if activation != "relu":
        return []
    L, A, out = len(params) // 2, np.asarray(X, dtype=np.float64), []
    for l in range(1, L):
        W, b = (np.asarray(params[f"{k}{l}"], dtype=np.float64) for k in "Wb")
        Z = W @ A + b
        alive = ~np.all(Z <= 0, axis=1)
        rows = np.hstack([W, b])[alive]
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        rows = rows / np.where(norms > 0, norms, 1)
        same = rows @ rows.T > SAME_DIRECTION
        distinct = sum(1 for i in range(len(rows)) if not same[i, :i].any())  # the first of each group
        out.append((l, Z.shape[0], int(np.sum(~alive)), distinct))
        A = np.maximum(Z, 0)
    return out


def units_note(params, X, activation, where="at the end"):
    """One sentence when some hidden layer has lost most of its units, dead or duplicated, with the counts;
    '' otherwise."""
    counts = [c for c in hidden_units(params, X, activation) if c[3] <= c[1] / 2]  # half or fewer left
    if not counts:
        return ""
    deep = len(params) > 4
    parts = []
    for l, units, dead, distinct in counts:
        of = f"layer {l}'s {units}" if deep else f"the {units}"
        twins = units - dead - distinct
        lost = ([f"{dead} dead (Z ≤ 0 on every example, so ReLU passes them no gradient again)"] if dead else []) + \
            ([f"{twins} duplicating another unit's direction (the same feature, scaled)"] if twins else [])
        if distinct == 0:
            parts.append(f"all of {of} hidden ReLU units are dead (Z ≤ 0 on every example, so ReLU passes them no "
                         "gradient again)")
        else:
            parts.append(f"of {of} hidden ReLU units only {distinct} are distinct: {' and '.join(lost)}")
    if any(c[3] == 0 for c in counts):
        return (f"Lost units {where}: {'; '.join(parts)}. Nothing passes that layer: the output is the same for "
                "every example, which is why the accuracy is that of one class.")
    return (f"Lost units {where}: {'; '.join(parts)}. The network draws its boundary with what is left, which is "
            "why its accuracy stays low.")
