"""What is kept: saved runs (``runs``: atomic, id = hash of config and data) and the kinds of run they
can be (``kinds``: one table). The training server that fills the store is ``recsys.server``."""
