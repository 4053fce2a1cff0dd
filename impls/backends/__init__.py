"""The one-process backends, one file each, chosen by name through `impls.get_backend`: numpy (the lecture's
equations by hand), torch (torch.autograd), jax (jax.grad) and tape (this project's own reverse mode, whose
engine is tape_engine.py). Importing this package imports none of them."""
