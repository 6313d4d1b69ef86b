"""Train: pick hyperparameters, watch the model learn, read its result against the baselines.

Three models, one tab each (one module each): the two-tower retrieval model (``train_retrieval``:
top-K against popularity and the strong baselines), the item-to-item model (``train_item_to_item``:
held-out hit rate against item-kNN and popularity) and the ranking model (``train_ranking``: test
RMSE against the global mean and the user/movie bias baseline). Their widgets are drawn from the
lever registries (``app_pages/levers.py``), their training followed by ``app_pages/follow.py``.
"""
import streamlit as st

from app_pages import train_item_to_item, train_ranking, train_retrieval


def main() -> None:
    st.title("🏋️ Train a two-tower model")
    st.caption("Pick the settings (a copied link keeps them), press **Train**, and watch the test top-K grow "
               "against the popularity baseline (dashed).")
    retrieval, item, ranking = st.tabs(["Retrieval: user → movie", "Item-to-item: movie → movie",
                                        "Ranking: predicted stars"])
    with retrieval:
        train_retrieval.draw()
    with item:
        train_item_to_item.draw()
    with ranking:
        train_ranking.draw()


main()
