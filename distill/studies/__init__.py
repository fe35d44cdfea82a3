"""The research runs built on the distillation library: the distillation benchmarks
(:mod:`.experiment`, ``make experiment-fashion`` and ``make experiment-digits``), the batch-norm study (:mod:`.bn`, ``unnatural
study bn``) and the dynamic-PTQ study (:mod:`.ptq`, ``unnatural study ptq``), with what they share:
the teacher and shader shards of a run folder (:mod:`.workspace`) and the paired t-tests, tables,
plots and ``docs/RESULTS.md`` sections of their reports (:mod:`.report`). Studies sit above the
library: they import :mod:`unnatural.distill` modules, never the other way round (docs/DESIGN.md
"Layers")."""
