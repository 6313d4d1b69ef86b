"""What the pages draw, without Streamlit: links (URL <-> settings), Altair charts (``charts``, the ANN lab's
``ann_charts``), Compare's tables (``tables``), what each Train tab shows of its kind
(``train_views``), Graphviz diagrams and the 2-D embedding map. Tests can read
all of it."""
