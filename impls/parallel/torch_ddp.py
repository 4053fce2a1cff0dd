"""torch.distributed: the m examples split over N processes, each gradient from torch.autograd on its own
shard, combined by one all-reduce per step into the gradient of the mean over all m examples."""
import functools
import os

import numpy as np
import torch
import torch.distributed as dist

from impls.base import Backend
from impls.parallel.process_group import local_group
from impls.backends.torch import TorchBackend, cross_entropy, resolve_device


def shard_bounds(m, world):
    """(start, stop) of each rank's examples; when world does not divide m the first m % world get one more."""
    q, r = divmod(m, world)
    stops = np.cumsum([q + 1] * r + [q] * (world - r))
    return [(int(stop - size), int(stop)) for stop, size in zip(stops, [q + 1] * r + [q] * (world - r))]


@functools.lru_cache(maxsize=8)
def _model(activation, dtype, device, rank):
    # The single-process torch backend's forward pass, on this rank's GPU when there are GPUs: under
    # torchrun the one LOCAL_RANK names on this machine.
    if device == "cuda":
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', rank)) % torch.cuda.device_count()}"
    return TorchBackend(activation=activation, dtype=dtype, device=device)


def per_example(cost):
    """cost(Z2, Y) of each column alone: the mean over one example is its own term."""
    return torch.func.vmap(lambda z, y: cost(z[:, None], y[:, None]), in_dims=1)


class Replica:
    """What each worker does with its shard, inside the process group (the tests plant porting bugs here)."""

    @classmethod
    def start(cls, p, rank):
        # Each process may hold its own initial weights (a script under torchrun initialises in every process):
        # all start from rank 0's, as DDP's constructor does.
        for w in p.values():
            dist.broadcast(w, src=0)
        return p

    @classmethod
    def shard_cost(cls, model, p, X, Y, m):
        # This shard's terms of J over the m of ALL shards, so that the sum over workers is J itself;
        # each shard's own mean, averaged over workers, would weigh a short shard's examples more.
        ZL = model._hook("_forward", p)(p, X)[f"Z{len(p) // 2}"]  # Z2 for two layers, ZL at any depth
        if ZL.shape[1] == 0:  # more workers than examples: nothing here, but still part of the graph
            return ZL.sum()
        return torch.sum(per_example(cross_entropy)(ZL, Y)) / m

    @classmethod
    def all_reduce(cls, grads):
        # One all-reduce (a sum) for every layer's gradients, flattened into one buffer.
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        return [v.view_as(g) for v, g in zip(flat.split([g.numel() for g in grads]), grads)]

    @classmethod
    def gradients(cls, model, p, X, Y, m):
        p = {k: w.detach().requires_grad_() for k, w in p.items()}
        local = torch.autograd.grad(cls.shard_cost(model, p, X, Y, m), list(p.values()))
        return dict(zip(p, cls.all_reduce(list(local))))

    @classmethod
    def run(cls, op, model, p, X, Y, m, *args):
        if op == "forward":
            return model._hook("_forward", p)(p, X)
        if op == "intermediates":  # per example, m·∂J/∂(·): nothing to reduce
            return model._hook("_intermediates", p)(p, X, Y)
        if op == "cost":
            J = cls.shard_cost(model, p, X, Y, m).detach()
            dist.all_reduce(J)
            return J
        if op == "gradients":
            return {"d" + k: g for k, g in cls.gradients(model, p, X, Y, m).items()}
        learning_rate, n = args  # op == "train": the whole loop here, one all-reduce per step
        params = list(p.values())
        for _ in range(n):
            grads = cls.gradients(model, p, X, Y, m)
            with torch.no_grad():
                torch._foreach_add_(params, [grads[k] for k in p], alpha=-learning_rate)  # θ := θ − α·dθ
        return p


_HELD = {}  # in a worker: the last shard sent, so that train's chunks do not send the data again


def work(replica, op, config, rank, params, shard, m, *args):
    """One rank's part of `op`, in a worker (or in this process when it is one rank of a torchrun group)."""
    model = _model(*config, rank)
    if shard is not None:
        _HELD.clear()
        _HELD["data"] = [None if a is None else model._asarray(a) for a in shard]
    X, Y = _HELD["data"]
    if isinstance(next(iter(params.values())), tuple):  # shapes only: this worker's own initial weights
        gen = torch.Generator(device="cpu").manual_seed(rank)
        params = {k: torch.randn(s, generator=gen, dtype=torch.float64).numpy() * 0.01 for k, s in params.items()}
    p = replica.start({k: model._asarray(np.array(w)) for k, w in params.items()}, rank)
    out = replica.run(op, model, p, X, Y, m, *args)
    return out.item() if torch.is_tensor(out) else {k: model._numpy(v) for k, v in out.items()}


class TorchDDPBackend(Backend):
    name = "torch-ddp"
    data_parallel = True
    _replica = Replica  # the workers' code; the tests plant porting bugs in subclasses of it

    def __init__(self, *, activation="tanh", dtype="float64", device=None, workers=1):
        super().__init__(activation=activation, dtype=dtype, device=device, workers=workers)
        self._device = resolve_device(device)
        self._in_group = dist.is_available() and dist.is_initialized()
        if self._in_group:  # launched by torchrun: this process is one rank, the group is given
            world = dist.get_world_size()
            if workers not in (1, world):
                raise ValueError(f"this process is one of a torch.distributed group of {world}; "
                                 f"workers={workers} must be 1 or {world}")
            self.workers = world
        elif self._device.type == "cuda" and workers > torch.cuda.device_count():
            raise ValueError(f"workers={workers} on {device!r}: NCCL needs a GPU per worker, torch finds "
                             f"{torch.cuda.device_count()}")
        self._config = (activation, dtype, "cuda" if self._device.type == "cuda" else None)

    def _asarray(self, a):
        return np.array(a, dtype=self.dtype)  # a copy: the workers may hold it across train's chunks

    def _numpy(self, a):
        return a

    def _run(self, op, p, X, Y=None, *args):
        m, bounds = X.shape[1], shard_bounds(X.shape[1], self.workers)
        shards = [[X[:, a:b], None if Y is None else Y[:, a:b]] for a, b in bounds]
        if self._in_group:
            rank = dist.get_rank()
            out = work(self._replica, op, self._config, rank, p, shards[rank], m, *args)
            if op in ("forward", "intermediates"):
                gathered = [None] * self.workers
                dist.all_gather_object(gathered, out)
                return _concatenate(gathered)
            return out
        group = local_group(self.workers, self._device.type)
        with group.lock:
            if group.data_key is not None and group.data_key[0] is X and group.data_key[1] is Y:
                shards = [None] * self.workers  # the workers hold this data already
            group.data_key = None
            shapes = {k: w.shape for k, w in p.items()}
            results = group.run([(work, (self._replica, op, self._config, rank, p if rank == 0 else shapes,
                                         shards[rank], m, *args)) for rank in range(self.workers)])
            group.data_key = (X, Y)
        if op in ("forward", "intermediates"):
            return _concatenate(results)
        same = lambda r: all(np.array_equal(r[k], results[0][k], equal_nan=True) for k in p)  # NaN: diverged
        if op == "train" and not all(map(same, results)):
            raise RuntimeError("torch-ddp: the workers' parameters differ after training")
        return results[0]

    def _forward(self, p, X):
        return self._run("forward", p, X)

    def _cost(self, p, X, Y):
        return self._run("cost", p, X, Y)

    def _gradients(self, p, X, Y):
        return self._run("gradients", p, X, Y)

    def _intermediates(self, p, X, Y):
        return self._run("intermediates", p, X, Y)

    def _train(self, p, X, Y, learning_rate, n):
        return self._run("train", p, X, Y, learning_rate, n)

    # Any depth: the workers run the torch backend's two-layer or deep hooks, as the parameters say.
    _deep_forward, _deep_cost, _deep_gradients = _forward, _cost, _gradients
    _deep_intermediates, _deep_train = _intermediates, _train


def _concatenate(results):
    return {k: np.concatenate([r[k] for r in results], axis=1) for k in results[0]}
