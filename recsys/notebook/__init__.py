"""Every retrieval run as a runnable TensorFlow Recommenders notebook, in the tutorial's order.

``slots`` (the holes a cell is written from), ``sections`` (the tutorial's sections and their
code), ``levers`` (each lever's few lines of TFRS/Keras), ``writer`` (the notebook, the
script, the lines that differ from the tutorial preset). ``python -m recsys notebook`` and
the Train and Compare pages write it; ``python -m recsys bench notebook`` runs it.
"""
