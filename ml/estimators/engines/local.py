"""The local engine: the meta-learner's boosters trained with `lightgbm.train` in this process.

Every training row of a fit is binned once (`lightgbm.Dataset.construct`, LightGBM's histogram bins from the
fit's own training rows); each booster trains on a subset of that dataset, which copies binned rows instead
of binning the raw features again (on the real 379-ticker set, binning took a third of a fit). The device
(CPU, or a GPU through LightGBM's OpenCL or CUDA learner) is in the parameters (`ml.estimators.engines.device`).
"""

from __future__ import annotations

import lightgbm
import numpy as np

from ml.errors import StateError


class LocalBoosters:
    """Boosters for one fit of the meta-learner, trained here (`with LocalBoosters() as boosters:`)."""

    def __init__(self) -> None:
        self._binned: lightgbm.Dataset | None = None

    def __enter__(self) -> LocalBoosters:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._binned = None

    def load(self, binned: lightgbm.Dataset, positions: np.ndarray | None = None) -> None:
        """Keep the fit's binned training rows (`positions` is for engines that read an export; unused)."""
        self._binned = binned

    def train(self, params: dict, rows: np.ndarray | None, rounds: int) -> lightgbm.Booster:
        """A booster of `rounds` rounds on `rows` of the loaded rows (increasing positions; None: all)."""
        return lightgbm.train(params, self._rows(params, rows), num_boost_round=rounds)

    def train_early_stopping(
        self, params: dict, rows: np.ndarray | None, rounds: int, stop: tuple[np.ndarray, np.ndarray], patience: int
    ) -> lightgbm.Booster:
        """At most `rounds` rounds on `rows`, stopped by `lightgbm.early_stopping(patience)` on the first metric
        of the `stop` rows (features, labels), binned with the training rows' bins."""
        stop_set = lightgbm.Dataset(stop[0], label=stop[1], reference=self._loaded())
        callbacks = [lightgbm.early_stopping(patience, first_metric_only=True, verbose=False)]
        return lightgbm.train(
            params,
            self._rows(params, rows),
            num_boost_round=rounds,
            valid_sets=[stop_set],
            valid_names=["stop"],
            callbacks=callbacks,
        )

    def _rows(self, params: dict, rows: np.ndarray | None) -> lightgbm.Dataset:
        binned = self._loaded()
        return binned if rows is None else binned.subset(rows, params=params)

    def _loaded(self) -> lightgbm.Dataset:
        if self._binned is None:
            raise StateError("LocalBoosters: load the fit's training rows before training a booster")
        return self._binned
