"""Many runs at once: hyperparameter grids (``sweep``), the tutorial-vs-ours report (``report``), the
second stage's report (``stages_report``) and the multitask trade-off (``multitask``)."""
