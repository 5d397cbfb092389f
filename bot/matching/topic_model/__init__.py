"""Learned topic models: a classifier over an article's title and lead.

A topic may carry a model trained from labelled articles (JSON Lines of
``{"id", "title", "summary"|"text", "label"}``).  The model reads the title and
the lead (the first ``LEAD_CHARS`` characters of the summary, else of the
content) and decides with logistic regression over three blocks of features:

* hashed words, word pairs and character n-grams (``2**HASH_BITS`` buckets),
  the words in canonical form (:mod:`bot.normalize_text`: folded, singular,
  American spelling, Korean particles removed);
* the topic's query: for every alias group the query names, whether a member
  is in the title and whether one is anywhere in the text, the same crossed
  with the query's first group, and whether the whole query matched.  These
  carry the hand-written knowledge (aliases in several languages) across
  languages and sources the training data does not cover;
* optionally a sentence embedding (:mod:`bot.matching.embed`), when the model names one;
* optionally the topic's rubric: the article's cosine, in the embedding's space, to each
  prototype (a rubric's bullet lines, :func:`parse_rubric`) and the highest per class
  (positive, negative, borderline); the prototypes' vectors are stored in the model.

``anchor`` is a query for what the topic is about (for korea-diplomacy: a
Korea term in the text, or North Korean state media as the source); with
``gate`` on it is also a cheap first stage: an article without it is ruled out
without running the classifier.

A model whose embedding block joins e5 to another embedder (``use-m3+e5-small``) is a
*cascade*: the e5 vector costs tens of milliseconds an article, everything else about one.
The same ``topics train`` run fits a second, cheap head (:class:`CascadeHead`) over the
model's features without the e5 block (:func:`cheap_spec`: hashed n-grams, query block,
the USE vector, the rubric's prototypes in USE's space, cut from their stored vectors).
Past the gate the first head decides alone when its probability is below ``lo`` (out) or
at ``hi`` or above (in); only in between is the e5 vector made and the full model decides.
``lo`` and ``hi`` come from training, never from a held-out group, by
:data:`CASCADE_RULE`: on the leave-one-source-out predictions of both heads over the
training groups, the band that leaves the fewest articles past the gate to the full model
such that the cascade's decisions differ from the full model's on at most 1% of the
non-borderline articles past the gate and its pooled F1 is not below the full model's
(``CASCADE_F1_DROP``; measured for korea-diplomacy: allowing a drop of 0.005 left 2.7% of
the articles to e5 instead of 7.1% and cost 0.004 of pooled F1); ``lo <= threshold <=
hi``, so a score at or above the threshold is always a match.  The file's ``cascade`` entry states the band, the rule, what it measured
(``needed_e5``: the share of articles past the gate that needed e5) and the cascade's
scores.  A model with one embedder, or trained with ``--no-evaluate``, has no cascade.

Training is deterministic (no randomness at all: full-batch L-BFGS from
zero weights, a fixed number of iterations at most), and the saved file is
the same bytes for the same data and options.  The file is one line of JSON
(what the model is, the data it came from with sha256, its measured scores)
followed by the weights as little-endian float32 (``newsalert-topic-model/1``); with a
cascade (``/2``) the first head's weights follow the model's.  A ``/1`` file (written
before the cascade) loads and decides as it always did.

The package, in the order the data flows: :mod:`.spec` (what a model reads and how its
features are laid out), :mod:`.embedding` (the embedding block's vectors),
:mod:`.features` (an article's feature row), :mod:`.logistic` (the fit), :mod:`.model`
(a trained model, its file and its decisions), :mod:`.labelled` (labelled articles), and
:mod:`.training` (training and leave-one-source-out evaluation, ``topics train``).
"""

from __future__ import annotations

from bot.matching.topic_model.embedding import (
    article_embedding,
    embedding_input,
    embedding_of,
)
from bot.matching.topic_model.features import (
    Featurizer,
    SparseRows,
    document_of,
)
from bot.matching.topic_model.labelled import (
    LABELLED_EXAMPLE,
    SHORT_LEAD_CHARS,
    VIEWS,
    Labelled,
    embed_text,
    featurize_all,
    load_labelled,
    sha256_of,
    spread_over_views,
    text_views,
    view_rows,
)
from bot.matching.topic_model.logistic import (
    fit_logistic,
)
from bot.matching.topic_model.model import (
    CascadeHead,
    Decision,
    TopicModel,
    builtin_model,
    check_model_ref,
    model_for,
)
from bot.matching.topic_model.spec import (
    CASCADE_SKIPS,
    FORMAT,
    FORMAT_CASCADE,
    HASH_BITS,
    LEAD_CHARS,
    RUBRIC_CLASSES,
    FeatureSpec,
    centered,
    cheap_spec,
    check_center,
    embed_columns,
    model_text,
    parse_rubric,
    query_groups,
    unit_parts,
    with_center,
    with_prototype_vectors,
)
from bot.matching.topic_model.training import (
    CASCADE_RULE,
    WEIGHTINGS,
    cascade_decisions,
    choose_band,
    class_weights,
    group_scores,
    out_of_fold,
    prf,
    sample_weights,
    train_model,
    train_topic,
)

__all__ = [
    "CASCADE_RULE",
    "CASCADE_SKIPS",
    "FORMAT",
    "FORMAT_CASCADE",
    "HASH_BITS",
    "LABELLED_EXAMPLE",
    "LEAD_CHARS",
    "RUBRIC_CLASSES",
    "SHORT_LEAD_CHARS",
    "VIEWS",
    "WEIGHTINGS",
    "CascadeHead",
    "Decision",
    "FeatureSpec",
    "Featurizer",
    "Labelled",
    "SparseRows",
    "TopicModel",
    "article_embedding",
    "builtin_model",
    "cascade_decisions",
    "centered",
    "cheap_spec",
    "check_center",
    "check_model_ref",
    "choose_band",
    "class_weights",
    "document_of",
    "embed_columns",
    "embed_text",
    "embedding_input",
    "embedding_of",
    "featurize_all",
    "fit_logistic",
    "group_scores",
    "load_labelled",
    "model_for",
    "model_text",
    "out_of_fold",
    "parse_rubric",
    "prf",
    "query_groups",
    "sample_weights",
    "sha256_of",
    "spread_over_views",
    "text_views",
    "train_model",
    "train_topic",
    "unit_parts",
    "view_rows",
    "with_center",
    "with_prototype_vectors",
]
