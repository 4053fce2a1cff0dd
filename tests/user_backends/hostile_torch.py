"""Users' torch backends written as porting engineers write them (issue 15): an nn.Module whose gradients pile up
without zero_grad(), gradients returned as tensors that still require grad, a dtype given as torch.float64."""
import numpy as np
import torch


class Net(torch.nn.Module):
    """The course's network as an nn.Module; the parameters are copied in before every call."""
    name = "net"

    def __init__(self, *, activation="tanh", dtype="float64", device=None):
        super().__init__()
        self.activation, self.device = activation, device
        self.dtype = dtype
        self._dtype = getattr(torch, str(dtype).removeprefix("torch."))
        self.theta = None

    def _load(self, params):
        values = {k: torch.tensor(np.asarray(v), dtype=self._dtype) for k, v in params.items()}
        if self.theta is None:  # nn.Parameters, as a Module holds them: their .grad persists between calls
            self.theta = torch.nn.ParameterDict({k: torch.nn.Parameter(v) for k, v in values.items()})
        with torch.no_grad():
            for k, v in values.items():
                self.theta[k].copy_(v)
        return self.theta

    def _cost(self, p, X, Y):
        X, Y = torch.tensor(np.asarray(X), dtype=self._dtype), torch.tensor(np.asarray(Y), dtype=self._dtype)
        Z2 = p["W2"] @ torch.tanh(p["W1"] @ X + p["b1"]) + p["b2"]
        return torch.mean(torch.nn.functional.softplus(Z2) - Y * Z2)

    def cost(self, params, X, Y):
        return float(self._cost(self._load(params), X, Y))

    def gradients(self, params, X, Y):
        p = self._load(params)
        self._cost(p, X, Y).backward()  # no zero_grad(): .grad adds up over the calls
        return {"d" + k: p[k].grad.detach().numpy().copy() for k in p}


class GradTensors(Net):
    """Returns its gradients as torch tensors that still require grad (create_graph=True)."""
    name = "grad_tensors"

    def gradients(self, params, X, Y):
        p = {k: torch.tensor(np.asarray(v), dtype=self._dtype, requires_grad=True) for k, v in params.items()}
        grads = torch.autograd.grad(self._cost(p, X, Y), list(p.values()), create_graph=True)
        return {"d" + k: g for k, g in zip(p, grads)}


class TorchDtype(GradTensors):
    """Declares its dtype as torch.float64, not as a string; its gradients are right."""
    name = "torch_dtype"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dtype = self._dtype

    def gradients(self, params, X, Y):
        return {k: g.detach().numpy() for k, g in super().gradients(params, X, Y).items()}
