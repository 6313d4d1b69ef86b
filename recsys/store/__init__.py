"""What is kept: saved runs (``runs``: atomic, id = hash of config and data) and the training queue that
every browser session of one server shares (``jobs``)."""
