"""Using what was learned: nearest-neighbour indexes (``index``: BruteForce, ScaNN), recommendations per
user and per movie (``recommend``), a visitor's picks (``for_me``), stars and both stages (``ranking``,
``two_stage``), timed latency (``latency``) and the SavedModel exports (``export``, ``export_two_stage``)."""
