"""How good a model is: exact top-K accuracy (``topk``) and the baselines it must beat (``baselines``),
"movies like this" hit rates (``item_to_item``), predicted stars (``ranking``: RMSE) and both stages together
(``two_stage``: NDCG@10)."""
