"""How good a retrieval model is: exact top-K accuracy (``topk``) and the baselines it must beat (``baselines``)."""
