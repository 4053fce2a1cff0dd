"""`python -m compare playground`: a page in the browser to train the network step by step, watch each of
the ten equations with its live value, and see every backend's difference from the hand-written one.

The package, one file per part (the web libraries are imported only when the command runs):
  cli       register(subparsers) and the command: the server, its address, Ctrl-C
  app       the Starlette app: the page, its assets, the JSON API, its error messages
  settings  the set-up the URL holds, each setting checked, and the caps
  session   one tab's run (data, a parameter set per backend, history) and the bounded store of them
  views     the JSON the page gets: the set-up, and the state after each step
  graph     the tape's computational graph, with torch's and JAX's names for each equation
  arrays    arrays as JSON: matrices in full or as heat strips, heat maps as bytes
  loadtest  20 users stepping at once against 127.0.0.1, for the docs' figures
  measure   the page's Step latency and Play rate in Chromium, and the docs' screenshots
"""
from compare.playground.cli import register  # noqa: F401
