"""Many runs at once: hyperparameter grids (``sweep``) and the tutorial-vs-ours report (``report``)."""
