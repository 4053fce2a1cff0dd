"""The teaching commands: `explain` (the equations against autograd), `check` (grade a student's file),
`demo` (the lecture's experiments). The comparison library in `compare/` (compare.comparison, compare.isolated,
the report, compare.testing, the diagnosis) does not depend on them (tests/test_compare.py checks): only the
command line, which lists them, and the playground, which draws the lecture's graph with them, import them."""
