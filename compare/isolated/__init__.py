"""Users' backends in processes of their own: `IsolatedBackend` stands in for one here (proxy.py), `host.py`
is the process it talks to."""
from compare.isolated.proxy import TIMEOUT, BackendFailed, IsolatedBackend

__all__ = ["TIMEOUT", "BackendFailed", "IsolatedBackend"]
