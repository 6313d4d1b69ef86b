"""What the pages draw, without Streamlit: links (URL <-> settings), Altair charts, Graphviz diagrams and the
2-D embedding map. Tests can read all of it."""
