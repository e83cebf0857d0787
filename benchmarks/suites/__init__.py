"""The benchmark suites: one module each, all run by ``benchmarks/run.py <suite>``.

A suite module has ``NAME``; ``MEASURED`` (the package sources it measures,
under ``marketing360/``); ``DEFAULTS`` (``repeats``, ``quick_repeats``,
``seed``, ``wait_quiet``); ``OK_TEXT`` (what its passing checks mean);
``WORKERS`` (spec kind -> function run in a measured subprocess, see
:func:`harness.run_case`); ``run(args) -> (payload, ok)``; and optionally
``add_arguments(parser)``, ``check_arguments(args)`` and ``report(payload)``
(extra lines printed after its table). Modules import only the standard
library at the top: the parent process stays light, and workers may run
under another interpreter (ChannelAttribution's venv).
"""

from __future__ import annotations

from types import ModuleType

from suites import (
    accuracy,
    assets,
    attribution,
    attribution_heldout,
    groupby,
    incrementality,
    incrementality_accuracy,
    mmm,
    mmm_accuracy,
    paths,
    simulator,
)

#: name -> module, in the order ``all`` runs them
SUITES: dict[str, ModuleType] = {m.NAME: m for m in (simulator, groupby, assets, attribution, accuracy, incrementality,
                                                     incrementality_accuracy, mmm, mmm_accuracy,
                                                     attribution_heldout, paths)}

#: spec kind -> worker function, over every suite
WORKERS = {kind: fn for m in SUITES.values() for kind, fn in m.WORKERS.items()}
