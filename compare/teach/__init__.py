"""The teaching commands: `explain` (the equations against autograd), `check` (grade a student's file),
`demo` (the lecture's experiments). The comparison library in `compare/` does not depend on them."""
