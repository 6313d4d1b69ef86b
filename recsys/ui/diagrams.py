"""Graphviz (DOT) diagrams that explain the model, drawn by the Home page.

They are plain DOT text, so ``st.graphviz_chart`` renders them in the browser and a test
can read them. The two-tower diagram follows a config: its embedding size, features,
MLP layers and loss options appear in the boxes.
"""
from __future__ import annotations

from recsys.config import TUTORIAL, TrainConfig

_STYLE = ('graph [rankdir=LR, fontname="Helvetica", fontsize=11, bgcolor="transparent", nodesep=0.3, ranksep=0.35];\n'
          'node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11, color="#888888", '
          'fillcolor="#f4f6fa"];\nedge [fontname="Helvetica", fontsize=10, color="#666666"];\n')


def two_stage(n_movies: int = 1664, n_retrieved: int = 100, n_shown: int = 10) -> str:
    """Retrieval then ranking: a cheap model narrows the catalog, a richer one orders the few left."""
    return (
        "digraph two_stage {\n" + _STYLE +
        f'catalog [label="Catalog\\n{n_movies:,} movies", fillcolor="#e8e8e8"];\n'
        'retrieval [label="Stage 1: retrieval\\ntwo-tower model + nearest-neighbour index\\n'
        '(BruteForce or ScaNN)", fillcolor="#dbe8f6", color="#4c78a8"];\n'
        f'candidates [label="~{n_retrieved} candidates", shape=note, fillcolor="#ffffff"];\n'
        'ranking [label="Stage 2: ranking\\na rating model predicts the user\'s stars\\nfor each candidate (Train → Ranking)", '
        'fillcolor="#fbe5d6", color="#e45756", URL="/recommend", target="_top"];\n'
        f'shown [label="Top {n_shown}\\nshown to the user", fillcolor="#e2f0d9", color="#54a24b"];\n'
        'catalog -> retrieval -> candidates -> ranking -> shown;\n'
        "}\n"
    )


def two_tower(config: TrainConfig = TUTORIAL) -> str:
    """The two-tower model of ``config``: user tower (ids, features, history), movie tower, dot product, loss."""
    d = config.embedding_dim
    mlp = " → ".join(str(h) for h in config.deep_layers)
    parts = (["user id"] if config.user_id else []) + (["age, gender, occupation"] if config.user_features else [])
    if config.history_encoder:
        parts.append("the movies they rated\\n(multi-hot, length 1"
                     + (f", {config.history_dropout:.0%} dropped" if config.history_dropout else "") + ")")
    user_in = "\\n+ ".join(parts)
    movie_in = "movie title" + ("\\n+ genres, title words" if config.movie_features else "")
    tower = f"embedding ({d})" + (f"\\n→ MLP {mlp}" if mlp else "")
    user_tower = tower if not config.history_encoder else (
        ("id/feature embedding + " if config.user_id or config.user_features else "")
        + (f"history encoder\\nx/‖x‖ → tanh MLP {mlp} → {d}" if mlp else f"history encoder\\nx/‖x‖ · W  (linear, {d})"))
    if config.multinomial:
        loss = ["multinomial log-likelihood:", "one example per user, every movie", "they rated is a target of one",
                "softmax over all titles (no sampling,", "so no log-Q needed)"]
    elif config.full_softmax:
        loss = ["full softmax:", "each rated movie vs all titles"]
    else:
        loss = ["in-batch softmax:", f"each user's movie vs the other ~{config.batch_size - 1:,}",
                "movies in the batch (negatives)"]
        if config.popularity_correction:
            loss.append("logits − log Q(movie)  (popularity correction)")
    if config.temperature != 1.0:
        loss.append(f"logits / {config.temperature:g}  (temperature)")
    if config.num_hard_negatives and not config.multinomial:
        loss.append(f"only the {config.num_hard_negatives} hardest negatives")
    if config.remove_accidental_hits and not config.multinomial:
        loss.append("accidental hits removed")
    loss_text = "\\n".join(loss)
    score = "score = u · m + b(m)" if config.movie_bias else "score = u · m"
    return (
        "digraph two_tower {\n" + _STYLE +
        f'uin [label="{user_in}", fillcolor="#ffffff"];\n'
        f'utower [label="User tower\\n{user_tower}", fillcolor="#dbe8f6", color="#4c78a8"];\n'
        f'uvec [label="user vector u\\n({d} numbers)", shape=ellipse, fillcolor="#dbe8f6"];\n'
        f'min [label="{movie_in}", fillcolor="#ffffff"];\n'
        f'mtower [label="Movie tower\\n{tower}", fillcolor="#fde4cf", color="#f58518"];\n'
        f'mvec [label="movie vector m\\n({d} numbers)", shape=ellipse, fillcolor="#fde4cf"];\n'
        f'dot [label="{score}\\n(dot product)", shape=circle, fillcolor="#ffffff"];\n'
        f'loss [label="{loss_text}", shape=note, fillcolor="#fff8dc"];\n'
        "uin -> utower -> uvec -> dot;\nmin -> mtower -> mvec -> dot;\n"
        'dot -> loss [label="training"];\n'
        "}\n"
    )
