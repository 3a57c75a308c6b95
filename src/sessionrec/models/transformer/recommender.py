"""`SessionTransformer`: the network fitted, scored and saved as a `Recommender`.

Fitting trains the network with early stopping on validation cases (and, with `refit`,
again on training + validation events), then chooses the boost of items never trained
on (`models.exposure`). Scoring and the embedding space live in `space.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Self

import numpy as np
import torch

from sessionrec.data.schema import ITEM_ID, Catalogue, Interactions
from sessionrec.data.vocab import Vocabulary
from sessionrec.errors import ConfigError
from sessionrec.metrics import ndcg, target_ranks
from sessionrec.models.base import Recommender, SessionBatch
from sessionrec.models.exposure import (
    HIT_K,
    NEIGHBOUR_CHOICES,
    NEIGHBOURS,
    PROBE_SHARE,
    BoostSearch,
    borrowed_vectors,
    choose_probes,
)
from sessionrec.models.neural import load_module_arrays, module_arrays
from sessionrec.models.sequences import (
    split_sequences,
    training_windows,
    validation_score,
    validation_split,
    with_validation,
    without_leading_padding,
)
from sessionrec.models.transformer.net import (
    CausalTransformer,
    ItemEncoder,
    TransformerConfig,
    current_name,
    warm_start,
)
from sessionrec.models.transformer.space import EmbeddingSpace, SessionEncoder
from sessionrec.text.features import item_text_vectors
from sessionrec.train import distributed
from sessionrec.train.trainer import Trainer, TrainResult

logger = logging.getLogger(__name__)

MAX_BOOST_CASES = 5000
"""Validation cases (a seeded sample) the new-item boost is chosen on."""


class SessionTransformer(EmbeddingSpace, Recommender):
    """The core model: a causal transformer over text-fused item vectors."""

    name = "transformer"
    trains_in_parallel = True
    config_class = TransformerConfig
    config: TransformerConfig

    def __init__(
        self,
        config: TransformerConfig | None = None,
        text_vectors: dict[str, np.ndarray] | None = None,
    ) -> None:
        super().__init__(config)
        self.text_vectors = text_vectors
        self.net: CausalTransformer | None = None
        self.training_result = TrainResult()
        self._session_encoder = SessionEncoder()
        self._warm_start: SessionTransformer | None = None

    # -- fitting ------------------------------------------------------------------------

    def warm_start_from(self, previous: Recommender | None) -> None:
        """Start every later `fit` from a fitted transformer's weights (`models.warm`).

        The vocabulary is still this fit's own (its data and catalogue): items `previous`
        trained on start from its ID vectors, new items as a fresh network's; every other
        weight is `previous`'s (`net.warm_start`), so the architecture must be the same.
        None: from a fresh initialisation again.
        """
        if previous is None:
            self._warm_start = None
            return
        if not isinstance(previous, SessionTransformer):
            raise ConfigError(
                f"a transformer warm-starts from a fitted transformer, not from {previous.name!r}"
            )
        if previous.net is None:
            raise ConfigError(
                "a transformer warm-starts from a fitted transformer, not an unfitted one"
            )
        self._warm_start = previous

    def _item_text(self) -> torch.Tensor | None:
        if not self.config.use_text or not self.text_vectors:
            return None
        dim = len(next(iter(self.text_vectors.values())))
        table = np.zeros((len(self.vocab), dim), dtype=np.float32)
        for index, item in enumerate(self.vocab.ids):
            vector = self.text_vectors.get(item)
            if vector is not None:
                table[index] = vector
        return torch.from_numpy(table)

    def fit(
        self,
        train: Interactions,
        catalogue: Catalogue | None = None,
        valid: Interactions | None = None,
    ) -> Self:
        self.fit_early_stopped(train, catalogue, valid)
        if self.refits(valid):
            self.refit(train, valid)
        return self

    def refits(self, valid: Interactions | None) -> bool:
        """Whether `fit` with this validation ends with a `refit` (`TransformerConfig.refit`)."""
        return self.config.refit if self.config.refit is not None else valid is None

    def fit_early_stopped(
        self,
        train: Interactions,
        catalogue: Catalogue | None = None,
        valid: Interactions | None = None,
    ) -> Self:
        """`fit` up to its refit: the model validation chose, while the validation cases
        are still unseen (the hybrid chooses its blend on them before it refits)."""
        cfg = self.config
        if self.text_vectors is None and cfg.use_text and catalogue is not None:
            self.text_vectors = item_text_vectors(
                catalogue, cfg.text_encoder, cfg.text_template, show_progress=cfg.progress
            )
        extra = list(self.text_vectors) if self.text_vectors and cfg.use_text else []
        refit_items = valid.item_ids() if valid is not None and self.refits(valid) else []
        self.vocab = Vocabulary(train.item_ids() + refit_items + extra)
        fit_data, valid_batch, valid_targets = validation_split(
            train, valid, self.vocab, cfg.validation_share, cfg.max_length, cfg.seed
        )

        def validate() -> float:
            if cfg.validation_metric == "NDCG":
                return whole_ranking_ndcg(self, valid_batch, valid_targets)
            return validation_score(self, valid_batch, valid_targets)

        net = self.net = self._new_net(fit_data)
        self.training_result = Trainer(cfg.train_options()).fit(
            net,
            self._epoch_losses(distributed.parallel(net, net.generator), fit_data),
            validate,
            "transformer",
            net.generator,
        )
        self._choose_new_item_boost(valid_batch, valid_targets)
        return self

    def refit(self, train: Interactions, valid: Interactions | None = None) -> Self:
        """Train a fresh network on training + validation events for the epochs early
        stopping chose (after `fit_early_stopped` on the same data): the events it held out
        are not test data, and in a log split by time they are the most recent ones."""
        chosen_on_validation = self._fitted_net().items
        epochs = self.training_result.best_epoch
        if epochs <= 0:
            return self
        everything = with_validation(train, valid)
        net = self.net = self._new_net(everything)
        # What validation chose for new items carries over: the refit has no validation.
        net.items.new_item_boost.copy_(chosen_on_validation.new_item_boost)
        net.items.new_item_neighbours.copy_(chosen_on_validation.new_item_neighbours)
        options = replace(self.config.train_options(), epochs=epochs)
        refit = Trainer(options).fit(
            net,
            self._epoch_losses(distributed.parallel(net, net.generator), everything),
            None,
            "transformer, refit",
            net.generator,
        )
        self.training_result.seconds += refit.seconds
        self.training_result.peak_memory_mb = refit.peak_memory_mb
        return self

    def _choose_new_item_boost(self, batch: SessionBatch, targets: np.ndarray) -> None:
        """Set the boost of items never trained on, and how many neighbours they borrow
        their vectors from, by the probes' validation hit rates (`models.exposure`)."""
        net = self._fitted_net()
        probes = net.items.probes.numpy()
        if not probes.any() or len(targets) == 0:
            return
        chosen = np.random.default_rng(self.config.seed).permutation(len(targets))
        chosen = np.sort(chosen[:MAX_BOOST_CASES])
        sessions, case_targets = batch.take(chosen), targets[chosen]
        best: tuple[float, int, float] | None = None  # hit rate, neighbours, boost
        for neighbours in NEIGHBOUR_CHOICES:
            search = self._boost_search(sessions, case_targets, neighbours)
            boost = search.smallest_boost(self.config.new_item_exposure)
            rate = search.hit_rate(boost)
            logger.debug(
                "new items from %d neighbours: boost %.2f, hit rate %.4f", neighbours, boost, rate
            )
            if best is None or rate > best[0]:
                best = (rate, neighbours, boost)
        assert best is not None
        _, neighbours, boost = best
        net.items.new_item_neighbours.fill_(neighbours)
        net.items.new_item_boost.fill_(boost)
        logger.info(
            "new items: vectors borrowed from %d trained neighbours, boost %.2f "
            "(validation hit rate @%d %.4f)",
            neighbours,
            boost,
            HIT_K,
            best[0],
        )

    def _boost_search(
        self, batch: SessionBatch, targets: np.ndarray, neighbours: int
    ) -> BoostSearch:
        """The probes' and known targets' hits at every boost, new items (and each probe
        target as one) borrowing from `neighbours` trained items."""
        net = self._fitted_net()
        trained = net.items.trained.numpy()
        probe_rows = np.flatnonzero(net.items.probes.numpy() & trained)
        search = BoostSearch(net.items.probes.numpy(), trained)
        item_vectors, text_parts = self._item_tables(neighbours)
        assert text_parts is not None  # probes exist only with text
        # Each probe as a new item: borrowed from its nearest trained items, never itself.
        as_new = borrowed_vectors(item_vectors, text_parts, trained, probe_rows, neighbours)
        for start in range(0, len(targets), 512):
            sessions = batch.rows(start, start + 512)
            case_targets = targets[start : start + 512]
            histories = [sessions.known(i) for i in range(len(sessions))]
            queries = self.session_vectors(sessions, item_vectors)
            scores = self._head_scores(queries, item_vectors, histories)
            at = np.minimum(np.searchsorted(probe_rows, case_targets), len(probe_rows) - 1)
            probe_scores = np.einsum("bc,bc->b", queries, as_new[at]).astype(np.float64)
            search.add(scores, probe_scores, case_targets)
        return search

    def _new_net(self, data: Interactions) -> CausalTransformer:
        """A freshly initialised network for items as they occur in `data`, with its own
        generator seeded from the config (initialisation, then every draw in training)."""
        cfg = self.config
        generator = torch.Generator().manual_seed(cfg.seed)
        items = ItemEncoder(
            len(self.vocab),
            cfg.embedding_size,
            self._item_text(),
            cfg.use_ids,
            cfg.dropout,
            generator,
        )
        trained = np.zeros(len(self.vocab), dtype=bool)
        trained[self.vocab.lookup(data.item_ids())] = True
        items.trained.copy_(torch.from_numpy(trained))
        items.log_q.copy_(torch.from_numpy(negative_log_probabilities(data, self.vocab)))
        if cfg.text_head > 0 and cfg.new_item_exposure > 0 and cfg.use_ids and items.adapter:
            has_text = (items.text != 0).any(dim=1).numpy()
            probes = choose_probes(trained & has_text, PROBE_SHARE, cfg.seed)
            items.probes.copy_(torch.from_numpy(probes))
        net = CausalTransformer(cfg, items, generator)
        previous = self._warm_start
        if previous is not None and previous.net is not None:
            # Initialised as from scratch first, so every later draw is a cold start's.
            copied = warm_start(net, previous.net, previous.vocab.lookup(self.vocab.ids))
            logger.info(
                "transformer warm-started from the previous model: every weight and the ID "
                "vectors of %d of its %d items (new to it or never trained: %d)",
                copied,
                len(self.vocab),
                len(self.vocab) - copied,
            )
        return net

    def _epoch_losses(
        self, net: torch.nn.Module, data: Interactions
    ) -> Callable[[np.random.Generator], Iterator[torch.Tensor]]:
        """One epoch over `data`'s training windows in shuffled mini-batches.

        `net` is the network, or its DDP wrapper: then every process draws the same
        shuffle and trains on its own part of each batch.
        """
        cfg = self.config
        workers = distributed.current()
        seqs, types = split_sequences(data, self.vocab)
        fixed = training_windows(seqs, types, cfg.max_length, cfg.window_stride)

        def losses(rng: np.random.Generator) -> Iterator[torch.Tensor]:
            inputs, input_types, targets = (
                training_windows(seqs, types, cfg.max_length, cfg.window_stride, rng)
                if cfg.random_windows
                else fixed
            )
            order = rng.permutation(len(inputs))
            for start in range(0, len(order), cfg.batch_size):
                rows = workers.shard(order[start : start + cfg.batch_size])
                if rows is None:
                    continue
                batch = without_leading_padding(inputs[rows], input_types[rows], targets[rows])
                _, loss = net(*(torch.from_numpy(array) for array in batch))
                assert loss is not None
                yield loss

        return losses

    # -- scoring (the embedding space's scores, `EmbeddingSpace._scores`) -----------------

    def score(self, sessions: SessionBatch) -> np.ndarray:
        item_vectors, _ = self._item_tables()
        trained = self._fitted_net().items.trained.numpy() if self._has_text_head else None
        histories = [sessions.known(i) for i in range(len(sessions))]
        queries = self.session_vectors(sessions, item_vectors)
        return self._scores(queries, item_vectors, trained, histories)

    # -- persistence ----------------------------------------------------------------------

    def _to_arrays(self) -> dict[str, np.ndarray]:
        if self.net is None:
            raise ConfigError("the transformer is not fitted")
        return module_arrays(self.net)

    def _from_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        cfg = self.config
        text = arrays.get("items.text")
        text_tensor = torch.from_numpy(text) if text is not None and text.shape[1] > 0 else None
        generator = torch.Generator().manual_seed(cfg.seed)
        items = ItemEncoder(
            len(self.vocab), cfg.embedding_size, text_tensor, cfg.use_ids, cfg.dropout, generator
        )
        self.net = CausalTransformer(cfg, items, generator)
        state = {current_name(k): v for k, v in arrays.items()}
        # Saved before new items borrowed their vectors: the number used until it was chosen.
        state.setdefault("items.new_item_neighbours", np.array(NEIGHBOURS))
        load_module_arrays(self.net, state)


def negative_log_probabilities(train: Interactions, vocab: Vocabulary) -> np.ndarray:
    """log q(item) ∝ 0.75 · log count (items never seen in training are never drawn)."""
    indices = vocab.lookup(train.frame[ITEM_ID].to_numpy())
    counts = np.bincount(indices[indices >= 0], minlength=len(vocab)).astype(np.float64)
    weights = counts**0.75
    with np.errstate(divide="ignore"):
        return np.log(weights / weights.sum()).astype(np.float32)


def whole_ranking_ndcg(
    model: Recommender, batch: SessionBatch, targets: np.ndarray, chunk: int = 1024
) -> float:
    """Mean 1 / log2(1 + rank) of the validation targets over the whole ranking."""
    total = 0.0
    for start in range(0, len(targets), chunk):
        stop = start + chunk
        scores = model.score(batch.rows(start, stop))
        ranks = target_ranks(scores, targets[start:stop])
        total += float(ndcg(ranks, scores.shape[1]).sum())
    return total / max(len(targets), 1)
