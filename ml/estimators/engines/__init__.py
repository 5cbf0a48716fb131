"""Where the meta-learner's LightGBM boosters train, behind one small interface.

`HierarchicalMetaLearner(engine=...)` opens one engine per fit (`open_engine`), gives it the fit's training
rows once (`load`) and then asks it for boosters on subsets of those rows (`train`, `train_early_stopping`);
everything else in the learner (the regimes, the out-of-fold stacking, the rounds) is the same whichever
engine trains.

- `ml.estimators.engines.local`: `LocalBoosters`, `lightgbm.train` in this process on subsets of one binned
  dataset, on the CPU or a GPU (`ml.estimators.engines.device` resolves the device asked for);
- `ml.estimators.engines.dask`: `DaskBoosters`, `lightgbm.dask` on a Dask cluster (the scale extra), with
  LightGBM's early-stopping rule replayed in the driver.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

from ml.errors import InvalidInputError

if TYPE_CHECKING:  # the package is imported for its names too (ROW_POSITION), without LightGBM
    import lightgbm
    import numpy as np

    from ml.estimators.engines.device import DeviceChoice

LOCAL, DASK = "local", "dask"
ENGINES = (LOCAL, DASK)
#: The column of the Parquet export of the training examples (`ml.train.data.export_training_examples`)
#: holding each row's position in the training frame: how a Dask worker finds the rows it trains on.
ROW_POSITION = "row_position"


class BoosterEngine(Protocol):
    """Trains the LightGBM boosters of one fit of the meta-learner (used as a context manager)."""

    def load(self, binned: lightgbm.Dataset, positions: np.ndarray | None = None) -> None:
        """Take the fit's training rows, once: `binned` holds every row (features, labels, histogram bins);
        `positions` are the rows' positions in the Parquet export of the examples, when there is one."""

    def train(self, params: dict, rows: np.ndarray | None, rounds: int) -> lightgbm.Booster:
        """A booster of `rounds` rounds on `rows` of the loaded rows (increasing positions; None: all)."""

    def train_early_stopping(
        self, params: dict, rows: np.ndarray | None, rounds: int, stop: tuple[np.ndarray, np.ndarray], patience: int
    ) -> lightgbm.Booster:
        """As `train`, stopped early on `stop` (features, labels): its `best_iteration` is the round
        `lightgbm.early_stopping(patience, first_metric_only=True)` keeps."""


def device_for(engine: str, requested: str) -> DeviceChoice:
    """The device the boosters of `engine` train on when `requested` ('auto', 'cpu', 'gpu' or 'cuda') is asked.

    The local engine probes this machine (`resolve_device`); the Dask engine trains on the workers' CPUs (the
    driver cannot probe the workers' accelerators).

    Raises
    ------
    InvalidInputError
        A GPU is asked for with the Dask engine.
    """
    from ml.estimators.engines.device import DeviceChoice, resolve_device

    if engine == LOCAL:
        return resolve_device(requested)
    if requested not in ("cpu", "auto"):
        raise InvalidInputError(
            f"HierarchicalMetaLearner: the Dask engine trains on the workers' CPUs; device {requested!r} is not "
            "available with it: use device 'cpu' or 'auto'"
        )
    return DeviceChoice(requested, "cpu", "the Dask engine trains on the workers' CPUs")


def open_engine(
    engine: str, *, scheduler: str | None = None, examples: str | None = None
) -> AbstractContextManager[BoosterEngine]:
    """The engine named `engine` for one fit: `LocalBoosters`, or `DaskBoosters` on the cluster at `scheduler`
    whose workers read the features from the Parquet export at `examples` (when given)."""
    if engine == LOCAL:
        from ml.estimators.engines.local import LocalBoosters

        return LocalBoosters()
    from ml.estimators.engines.dask import DaskBoosters  # the scale extra: imported only when asked for

    return DaskBoosters(scheduler, examples=examples)
