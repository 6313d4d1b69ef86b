"""The training server every browser session of one app shares: a queue (``jobs``: identical settings
train once, one training at a time) and the worker processes that train what it sends (``worker``)."""
