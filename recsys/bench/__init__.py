"""Benchmarks, each measuring our path and the reference in one run and printing the ratio: training and
evaluation speed (``speed``), approximate nearest neighbours (``ann``, on the catalogs of ``catalogs``), ScaNN
against faiss and hnswlib (``peers``: the indexes, ``field``: their frontiers) and the cost per dataset size
(``scale``)."""
