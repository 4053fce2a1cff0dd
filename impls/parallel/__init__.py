"""The data-parallel backends, chosen by name through `impls.get_backend(..., workers=N)`: torch-ddp (N worker
processes in one torch.distributed group, process_group.py) and jax-sharded (a JAX device mesh). Each computes
what its single-process twin in impls/backends/ computes, with the examples split N ways."""
