"""How it is learned: ``train.fit`` trains a ``TrainConfig`` and scores it after every epoch; ``item_to_item``
and ``ranking`` do the same for the other kinds of run; ``baselines`` tunes the strong baselines of a split;
``distributed`` runs a training on several devices or workers (``tf.distribute``)."""
