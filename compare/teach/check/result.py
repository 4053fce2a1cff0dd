"""A file's grade: each equation's status, what is wrong and why, the other functions' verdicts, points."""
from dataclasses import dataclass, field

from compare.equations import IDS


@dataclass
class Grade:
    """The outcome: `.ok`, or every wrong equation (`.wrong`, in order), the first with its hint; `.error` when
    the file could not be graded at all."""

    status: dict = field(default_factory=lambda: {eq: "not checked" for eq in IDS})  # "ok", "WRONG", "not ..."
    seen: dict = field(default_factory=dict)       # B1, B4 -> the gradients through which they were seen right
    wrong: list = field(default_factory=list)      # dicts: name (equation or what), problem, hint, reached
    where: str = ""                                # which random problem showed it
    also: list = field(default_factory=list)       # other gradients that differ too
    errors: list = field(default_factory=list)     # the relative error of every array compared
    problems: list = field(default_factory=list)   # (n_x, n_h, m) of each problem tried
    functions: dict = field(default_factory=dict)  # the assignment's other functions: name -> verdict
    notes: list = field(default_factory=list)      # what is worth knowing and is no mistake
    version: str = ""                              # the course version the file follows, where it shows
    output: str = ""                               # what the student's code printed (not part of the grade)
    error: str = ""                                # why the file could not be graded ("" when it was)
    name: str = ""                                 # the file's name, for the report
    assignment: str = "week 3"                     # "week 4": its functions graded, no equations (status {})

    def __str__(self):
        from .report import format_grade
        return format_grade(self, self.name)

    def _repr_pretty_(self, printer, cycle):  # a notebook shows the report, as check prints it
        printer.text(str(self))

    @property
    def ok(self):
        return not self.error and not self.wrong and not any(v.startswith("WRONG") for v in self.functions.values())

    @property
    def verdict(self):
        return "error" if self.error else "pass" if self.ok else "fail"

    @property
    def equation(self):
        return self.wrong[0]["name"] if self.wrong else None

    @property
    def problem(self):
        return self.wrong[0]["problem"] if self.wrong else ""

    @property
    def hint(self):
        return self.wrong[0]["hint"] if self.wrong else ""

    @property
    def reached(self):
        return self.wrong[0].get("reached", True) if self.wrong else True

    @property
    def largest_error(self):
        """The largest relative error of what was compared (None when nothing could be)."""
        return max(self.errors) if self.errors else None

    @property
    def points(self):
        """One per equation found right, one per other function that passes."""
        return sum(v == "ok" for v in self.status.values()) + sum(v == "ok" for v in self.functions.values())

    @property
    def max_points(self):
        return len(self.status) + sum(not v.startswith("not graded") for v in self.functions.values())

    @property
    def first(self):
        """The first wrong equation or function, as the gradebook names it ("" when none)."""
        if self.wrong:
            return self.wrong[0]["name"]
        return next((n for n, v in self.functions.items() if v.startswith("WRONG")), "")

    def compared(self, error):
        self.errors.append(float(error))

    def fail(self, name, problem, hint="", reached=True):
        if name in self.status:
            self.status[name] = "WRONG" if reached else "not reached"
            self.seen.pop(name, None)
        if not any(w["name"] == name for w in self.wrong):
            self.wrong.append({"name": name, "problem": str(problem), "hint": hint or "", "reached": reached})
        return True

    def to_dict(self):
        """The same keys for every file, a file that could not be graded included."""
        return {"verdict": self.verdict, "assignment": self.assignment, "error": self.error, "points": self.points,
                "max_points": self.max_points,
                "equations": self.status, "functions": self.functions, "first": self.first,
                "hint": self.hint if self.wrong else self.functions.get(self.first, "")[7:],
                "wrong": self.wrong, "also": self.also, "where": self.where,
                "problems": [list(p) for p in self.problems],
                "largest_error": self.largest_error, "version": self.version, "notes": self.notes,
                "output": self.output}
