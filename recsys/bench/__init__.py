"""Benchmarks, each measuring our path and the reference in one run: training and evaluation speed
(``speed``), approximate nearest neighbours (``ann``, on the catalogs of ``catalogs``), ScaNN against faiss
and hnswlib (``peers``: the indexes, ``field``: their frontiers), the cost per dataset size (``scale``) and
the generated notebooks run in a fresh kernel (``notebook``). Their charts are in ``recsys/ui/ann_charts.py``,
their terminal text in ``recsys/cli/bench.py``."""
