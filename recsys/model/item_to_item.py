"""The item-to-item two-tower model: the retrieval recipe with a movie on both sides.

The TFRS tutorial's last section: "an item-to-item recommender ... would use the same
two-tower recipe, with two movie towers". Training examples are pairs (q, c) of movies the
same user rated (``recsys/training/item_to_item.py`` builds them from the training split);
the loss is the in-batch softmax of ``InBatchSoftmax`` (the other pairs' candidates are the
negatives) with the log-Q correction, exactly as for users and movies:

    loss_i = -s(q_i, c_i) + log sum_c n_c exp(s(q_i, c) - log Q(c))

With ``shared_towers`` one ``Tower`` maps both movies (the similarity is symmetric: "watched
together"); without, the query tower and the candidate tower differ ("watched after").
Serving is a nearest-neighbour search of the query's vector among the candidate vectors by
**cosine**, as for the retrieval model's movie tower. The trained score itself (the dot
product, an estimate of log P(c | q) up to a constant) ranks popular follow-ups higher: its
held-out hit rate @10 is a little better (0.131 against 0.116 on the random split, seed 42,
consecutive pairs), but its lists fill with the same blockbusters (*Sense and Sensibility*
-> *Fargo*, *Star Wars*, *Return of the Jedi*), where cosine finds films of its kind
(*A Close Shave*, *Lone Star*, *Dead Man Walking*). Both beat item-kNN's hit rate.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf
import tensorflow_recommenders as tfrs

from recsys.config import ItemToItemConfig
from recsys.model.two_tower import InBatchSoftmax, Tower


class ItemToItemModel(tfrs.Model):
    """Two movie towers (or one shared) and the in-batch softmax over distinct query and candidate movies."""

    def __init__(self, config: ItemToItemConfig, n_titles: int, candidate_probability=None, movie_tables=None):
        super().__init__()
        self.config = config
        tables = movie_tables if config.movie_features else None
        self.query_model = Tower(n_titles, config.embedding_dim, tables, name="query_movie_model")
        self.candidate_model = self.query_model if config.shared_towers else Tower(
            n_titles, config.embedding_dim, tables, name="candidate_movie_model")
        self.task = InBatchSoftmax()
        self.candidate_probability = (tf.constant(candidate_probability, tf.float32)
                                      if config.popularity_correction and candidate_probability is not None else None)

    def compute_loss(self, features, training=False):
        queries, query_index = tf.unique(features["query"])
        candidates, candidate_index = tf.unique(features["candidate"])
        q = self.query_model(queries, training=training)
        c = self.candidate_model(candidates, training=training)
        probability = None if self.candidate_probability is None else tf.gather(self.candidate_probability, candidates)
        loss = self.task(q, c, query_index, candidate_index, probability)
        if self.config.l2:
            loss += self.config.l2 * (tf.reduce_sum(tf.square(q)) + tf.reduce_sum(tf.square(c)))
        return loss

    def vectors(self, n_titles: int) -> tuple[np.ndarray, np.ndarray]:
        """Every movie's query vector [C, d] and candidate vector [C, d]."""
        ids = tf.range(n_titles)
        return self.query_model(ids).numpy(), self.candidate_model(ids).numpy()
