"""How it is learned: ``train.fit`` trains a ``TrainConfig`` and scores it after every epoch; ``distributed`` runs
the same training on several devices or workers (``tf.distribute``)."""
