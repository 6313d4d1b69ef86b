"""Benchmarks, each measuring our path and the reference in one run and printing the ratio: training and
evaluation speed (``speed``), approximate nearest neighbours (``ann``, on the catalogs of ``catalogs``) and
the cost per dataset size (``scale``)."""
