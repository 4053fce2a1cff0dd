"""Compare the backends: the command line (`python -m compare`)."""
