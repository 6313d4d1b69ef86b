"""What is learned: the two towers and the in-batch softmax loss (``two_tower``)."""
