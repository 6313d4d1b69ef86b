"""Using what was learned: nearest-neighbour indexes (``index``: BruteForce, ScaNN), recommendations per
user and per movie (``recommend``) and the SavedModel export (``export``)."""
