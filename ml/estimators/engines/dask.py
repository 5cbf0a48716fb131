"""Training the meta-learner's LightGBM boosters on a Dask cluster (`python -m ml.train --engine dask`).

`HierarchicalMetaLearner(engine='dask', scheduler=ADDRESS)` hands every booster it trains (the global and
regime models, their out-of-fold copies, and those of the walk-forward settings search, which clones the
learner) to `DaskBoosters.train`, which trains it with `lightgbm.dask.DaskLGBMClassifier` on the cluster at
ADDRESS. Everything else (splits, selection, stacking, calibration, the registry) runs in the driver process
as with the local engine. `cluster` gives the CLI that address: the scheduler the user named, or a
`LocalCluster` started for the run and closed after it.

How the data travels: once per fit of the learner, its training rows are dealt out to the workers (with K
workers, worker k holds rows k, k + K, ...: every subset is split evenly and each share spans the whole
period) and stay there for the fit. With `examples=` (the Parquet files `ml.train.data.export_training_examples`
wrote), the driver sends each worker only its rows' positions and labels, and the worker reads the features
from those files itself (`DaskBoosters.load_parquet`); without, the driver scatters each worker its share
of the arrays (`DaskBoosters.load_arrays`). For each booster only its row positions travel; each worker takes its
rows out of its share, and those become the partitions of the Dask arrays LightGBM trains on. Each worker
builds a LightGBM dataset from its own partition (and, in LightGBM's data-parallel learner, the histogram
bins of a share of the features from its rows) and the workers train one model together over LightGBM's
own sockets. The driver keeps the training window in memory, as it does for the local engine: the
selection, stacking and calibration read it.

Early stopping: `lightgbm.dask` has none (LightGBM #3712, #4189), and its `evals_result_` holds the metric
of one worker's share of an evaluation set only. So `DaskBoosters.train_early_stopping` trains a booster
that should stop early in two steps: first `FIRST_ROUNDS` rounds, after which `best_iteration` replays
LightGBM's own rule (`lightgbm.early_stopping` with `first_metric_only`: the first metric, stop after
`patience` rounds without a strict improvement) on the whole stopping set in the driver; only when the rule
has not stopped yet are the remaining rounds trained, continuing that booster (`init_model`), and the rule
replayed on all of them. The learner then keeps the best round's trees, as the local engine does. Each
`lightgbm.dask` fit has a fixed cost (the workers' datasets, LightGBM's network), so two steps rather than
one per round: most boosters on weak signals stop within the first step.

Reproducibility: two runs on the same cluster give the same model only when `lightgbm.dask` ranks the
workers in the same order. It orders them through a Python set of Dask keys, whose order changes from one
process to the next, and the rank decides which worker's rows choose each feature's histogram bins. Two
runs can therefore differ slightly (docs/scale.md gives the measured spread); the local engine is
bit-reproducible.
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
import warnings
from collections.abc import Iterator

import lightgbm
import numpy as np
import pyarrow
import pyarrow.compute
import pyarrow.dataset
from sklearn.metrics import roc_auc_score

from ml.errors import InvalidInputError, MLError
from ml.estimators.engines import ROW_POSITION

try:
    import dask.array as dask_array
    import distributed
    from distributed.client import FuturesCancelledError
    from distributed.scheduler import KilledWorker
    from lightgbm.dask import DaskLGBMClassifier
except ModuleNotFoundError as missing:  # the scale extra is optional
    raise MLError(
        f"the Dask engine needs the scale extra ({missing.name} is not installed): pip install -e '.[scale]'"
    ) from missing

#: Seconds to wait for a scheduler named with --scheduler before saying it cannot be reached.
CONNECT_TIMEOUT_S = 20
#: LightGBM parameters the Dask module sets itself (threads per worker; the network between workers).
_SET_BY_LIGHTGBM_DASK = ("num_threads", "n_jobs", "machines", "local_listen_port", "num_machines")
# The early-stopping metrics the replay computes, with whether a larger value is better.
_METRICS = {"binary_logloss": False, "binary": False, "auc": True}
#: Rounds of the first step of a booster that stops early (`DaskBoosters.train_early_stopping`).
FIRST_ROUNDS = 100
# Rounds whose leaves are predicted in one pass over the stopping rows (memory: rows x this many int32).
_ROUNDS_PER_PASS = 50
# LightGBM clips probabilities to this distance from 0 and 1 in its binary log loss.
_LOG_LOSS_EPSILON = 1e-15


@contextlib.contextmanager
def cluster(scheduler: str | None = None, *, workers: int | None = None) -> Iterator[str]:
    """The address of a Dask scheduler to train on, for the duration of the `with` block.

    Parameters
    ----------
    scheduler
        the address of a running scheduler (for example `tcp://10.0.0.5:8786`), checked by
        connecting to it; None starts a `LocalCluster` of worker processes on this machine and closes it
        on exit.
    workers
        worker processes of the local cluster (default: one per CPU core, at most 4, each with the
        remaining cores as threads); ignored with `scheduler`.

    Raises
    ------
    MLError
        the scheduler cannot be reached, or has no workers.
    """
    if scheduler is not None:
        hint = (
            "start one with `dask scheduler` and `dask worker ADDRESS`, or leave out --scheduler to train on a "
            "local cluster"
        )
        with _connect(scheduler, hint) as client:
            if not client.scheduler_info()["workers"]:
                raise MLError(f"the Dask scheduler at {scheduler} has no workers: start some with `dask worker`")
        yield scheduler
        return
    cores = os.cpu_count() or 1
    count = workers or min(cores, 4)
    with distributed.LocalCluster(
        n_workers=count,
        threads_per_worker=max(1, cores // count),
        processes=True,
        # The scheduler serves HTTP (health checks) even without a dashboard, on port 8787 unless told
        # otherwise, with a warning when that port is taken: any free port instead.
        dashboard_address=":0",
        silence_logs=40,  # logging.ERROR: the workers' start-up chatter is not the user's business
    ) as local:
        with distributed.Client(local.scheduler_address, set_as_default=False) as client:
            client.run(_silence_native_output)
        yield local.scheduler_address


def _connect(scheduler: str, hint: str = "") -> distributed.Client:
    """A client of the scheduler at `scheduler` (not Dask's default one), or MLError (one line, with `hint`).

    An address where nothing listens is said at once: Dask's client retries a refused connection until its
    timeout (`CONNECT_TIMEOUT_S`), which is for a scheduler that is slow to answer, not for one that is not there."""
    try:
        _refuse_early(scheduler)
        return distributed.Client(scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        raise MLError(
            f"cannot reach the Dask scheduler at {scheduler} ({type(error).__name__}: {error})"
            + (f"; {hint}" if hint else "")
        ) from error


def _refuse_early(scheduler: str) -> None:
    """ConnectionRefusedError when `scheduler` is a TCP address (tcp:// or tls://) where nothing listens, and
    TimeoutError when it did not answer within `CONNECT_TIMEOUT_S` (the client would wait that long again)."""
    scheme, location = distributed.comm.parse_address(scheduler)
    if scheme not in ("tcp", "tls"):
        return
    host, port = distributed.comm.parse_host_port(location, 8786)  # Dask's default scheduler port
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
    except (ConnectionRefusedError, TimeoutError):
        raise
    except OSError:
        pass  # anything else (e.g. a name that does not resolve) is the client's to judge, within its timeout


def _silence_native_output() -> None:
    """Run in each worker of a local cluster: LightGBM's network layer prints its set-up ("Listening...",
    "Connected to rank 1") to file descriptor 1 whatever `verbose` says, which the workers share with the
    user's terminal. Their logging goes to stderr and is unaffected."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)


class DaskBoosters:
    """A connection to a Dask cluster that trains LightGBM boosters for one fit of the meta-learner.

    Use it as a context manager (`with DaskBoosters(address) as boosters:`); it closes its client on exit.
    """

    def __init__(self, scheduler: str, *, examples: str | None = None) -> None:
        self.scheduler = scheduler
        # The Parquet export of the training examples the workers read their features from (None: the driver
        # sends them the arrays).
        self.examples = examples
        self._client: distributed.Client | None = None
        # Set by `load`: each worker's share of the training rows (worker, its row count, features future,
        # labels future), and the features' width and the two dtypes (the shapes of the Dask arrays).
        self._shares: list[tuple[str, int, distributed.Future, distributed.Future]] = []
        self._width = 0
        self._dtypes: tuple[np.dtype, np.dtype] = (np.dtype("float64"), np.dtype("float64"))

    def __enter__(self) -> DaskBoosters:
        self._client = _connect(self.scheduler)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._shares = []  # releases the rows on the workers
        if self._client is not None:
            self._client.close()
            self._client = None

    @property
    def workers(self) -> list[str]:
        """The workers' addresses, sorted (worker k holds the loaded rows k, k + K, k + 2K...)."""
        return sorted(self._connected().scheduler_info()["workers"])

    def load(self, binned: lightgbm.Dataset, positions: np.ndarray | None = None) -> None:
        """Give the workers the fit's training rows, once: from the Parquet export at `examples` when it was
        given with the rows' `positions` in it (`load_parquet`), else as arrays from the driver (`load_arrays`)."""
        if self.examples is not None and positions is not None:
            features = binned.get_data()
            self.load_parquet(self.examples, binned.get_feature_name(), positions, binned.get_label(), features)
        else:
            self.load_arrays(binned.get_data(), binned.get_label())

    def load_arrays(self, features: np.ndarray, labels: np.ndarray) -> None:
        """Send the fit's training rows to the workers, once: with K workers, worker k holds rows k, k + K,
        k + 2K... (interleaved, so any subset of rows, a regime's or a fold's, is split evenly among them,
        and each worker's share spans the whole period). `train` then sends row positions only.

        Parameters
        ----------
        features, labels
            every training row of the fit, in time order.
        """
        client = self._connected()
        workers = self.workers[: len(labels)]  # with fewer rows than workers, the first ones take them
        self._shares = []
        for index, worker in enumerate(workers):
            rows = slice(index, None, len(workers))
            x_future, y_future = client.scatter([features[rows], labels[rows]], workers=[worker], hash=False)
            self._shares.append((worker, len(labels[rows]), x_future, y_future))
        self._width = features.shape[1]
        self._dtypes = (features.dtype, labels.dtype)

    def load_parquet(
        self,
        dataset: str,
        columns: list[str],
        positions: np.ndarray,
        labels: np.ndarray,
        features: np.ndarray | None = None,
    ) -> None:
        """As `load`, but each worker reads its share of the features itself from the Parquet files of
        `dataset` (written by `ml.train.data.export_training_examples`): the driver sends the workers only row
        positions and labels, never the feature matrix.

        Parameters
        ----------
        dataset
            the folder of the Parquet files, at a path every worker can read.
        columns
            the feature columns to read, in the order the boosters use them.
        positions
            the `row_position` of each training row of the fit in `dataset`, increasing.
        labels
            the label of each of those rows.
        features
            optionally, the driver's features of those rows: the first and last row each worker
            read are compared with them (NaN equal to NaN), which catches files written for other data.

        Raises
        ------
        MLError
            a worker cannot read `dataset`, or it lacks some of the rows or columns, or holds other
            values than `features` (it was written for other data: export it again).
        """
        client = self._connected()
        positions = np.asarray(positions, dtype=np.int64)
        workers = self.workers[: len(labels)]
        reads = []
        for index, worker in enumerate(workers):
            rows = slice(index, None, len(workers))
            share = client.scatter(positions[rows], workers=[worker], hash=False)
            x_future = client.submit(_read_share, dataset, list(columns), share, workers=[worker], pure=False)
            (y_future,) = client.scatter([labels[rows]], workers=[worker], hash=False)
            reads.append((worker, len(labels[rows]), x_future, y_future))
        # Wait for the reads here, so that a missing file or row is reported once, as the user's error.
        ends = client.gather([client.submit(_ends, future, workers=[worker]) for worker, _, future, _ in reads])
        if features is not None:
            for index, (first, last) in enumerate(ends):
                mine = np.arange(index, len(labels), len(workers))
                for row, values in ((mine[0], first), (mine[-1], last)):
                    if not np.array_equal(values, features[row], equal_nan=True):
                        raise MLError(
                            f"the training examples at {dataset} hold other values than the rows trained on "
                            f"(row_position {positions[row]}): they were written for other data; train again to "
                            "export them anew"
                        )
        self._shares = reads
        self._width = len(columns)
        self._dtypes = (np.dtype("float64"), np.asarray(labels).dtype)

    def train(
        self, params: dict, rows: np.ndarray | None, rounds: int, init_model: lightgbm.Booster | None = None
    ) -> lightgbm.Booster:
        """A booster of `rounds` rounds trained with `lightgbm.dask` on `rows` of the loaded training rows.

        Parameters
        ----------
        params
            LightGBM parameters (objective, seed, learning rate...); the thread count and the network
            settings are the Dask module's own and are left out.
        rows
            positions in the rows given to `load`, increasing (None: all of them). Each worker takes
            its own share of them, so only these positions travel.
        rounds
            boosting rounds (LightGBM may end earlier when no split is left to make).
        init_model
            a booster trained on the same rows with the same parameters, to continue: the result
            holds its trees followed by `rounds` new ones. The seed is moved on by its rounds, so that
            the new rounds draw other bagging and feature samples than its first ones did.

        Returns
        -------
        A plain `lightgbm.Booster`, as the local engine's.
        """
        client = self._connected()
        features, labels = self.partitions(rows)
        settings = {key: value for key, value in params.items() if key not in _SET_BY_LIGHTGBM_DASK}
        if init_model is not None and "seed" in settings:
            settings["seed"] = int(settings["seed"]) + init_model.current_iteration()
        model = DaskLGBMClassifier(client=client, n_estimators=rounds, **settings)
        # lightgbm.dask waits on its parts through Dask's current client: this one, for this call only.
        with client.as_current(), warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            # "Parameter n_jobs will be ignored" and "Finding random open ports for workers": the thread count
            # and the ports are the Dask module's business, as intended.
            warnings.filterwarnings("ignore", message="Parameter .* will be ignored", category=UserWarning)
            try:
                model.fit(features, labels, init_model=init_model)
            except (OSError, KilledWorker, FuturesCancelledError, lightgbm.basic.LightGBMError) as error:
                raise MLError(
                    f"training a booster on the Dask cluster at {self.scheduler} failed ({type(error).__name__}: "
                    f"{error}); check that its workers are running and can reach each other"
                ) from error
        return model.booster_

    def train_early_stopping(
        self,
        params: dict,
        rows: np.ndarray | None,
        rounds: int,
        stop: tuple[np.ndarray, np.ndarray],
        patience: int,
    ) -> lightgbm.Booster:
        """A booster trained as LightGBM's early stopping would train it: at most `rounds` rounds, its
        `best_iteration` the round `lightgbm.early_stopping(patience, first_metric_only=True)` keeps on `stop`.

        First `FIRST_ROUNDS` rounds (at most `rounds`) are trained and the rule replayed on them
        (`best_iteration`); when it has not stopped there, the remaining rounds are trained continuing that
        booster and the rule is replayed on all of them. The booster may hold rounds past the best one (up
        to `patience` of them, or to the end of a step); `best_iteration` says how many to keep.

        Parameters
        ----------
        params, rows, rounds
            as for `train`.
        stop
            features and labels of the stopping rows (in the driver).
        patience
            rounds without a strict improvement of the first metric before stopping.
        """
        first = min(rounds, FIRST_ROUNDS)
        booster = self.train(params, rows, first)
        best = best_iteration(booster, params, stop[0], stop[1], patience)
        # Not stopped: rounds are left, LightGBM had splits left to make, fewer than `patience` since the best.
        if first < rounds and booster.current_iteration() == first and first - best < patience:
            booster = self.train(params, rows, rounds - first, init_model=booster)
            best = best_iteration(booster, params, stop[0], stop[1], patience)
        booster.best_iteration = best
        return booster

    def partitions(self, rows: np.ndarray | None) -> tuple[dask_array.Array, dask_array.Array]:
        """(features, labels) of `rows` of the loaded training rows (increasing positions; None: all) as Dask
        arrays with one partition per worker that holds some of them, computed on that worker from its share."""
        client = self._connected()
        if not self._shares:
            raise RuntimeError("DaskBoosters.load must come before train")
        count = len(self._shares)
        positions = None if rows is None else np.asarray(rows, dtype=np.int64)
        owners = None if positions is None else positions % count
        x_parts, y_parts = [], []
        for index, (worker, size, x_share, y_share) in enumerate(self._shares):
            if positions is None:  # all rows: the shares themselves, nothing to take or send
                x_part, y_part = x_share, y_share
            else:
                # Worker `index` holds rows index, index + count, ...: its j-th row is row index + count * j.
                local = (positions[owners == index] - index) // count
                size = len(local)
                if size == 0:
                    continue
                local_future = client.scatter(local, workers=[worker], hash=False)
                x_part = client.submit(_take, x_share, local_future, workers=[worker], pure=False)
                y_part = client.submit(_take, y_share, local_future, workers=[worker], pure=False)
            x_parts.append(dask_array.from_delayed(x_part, shape=(size, self._width), dtype=self._dtypes[0]))
            y_parts.append(dask_array.from_delayed(y_part, shape=(size,), dtype=self._dtypes[1]))
        return dask_array.concatenate(x_parts), dask_array.concatenate(y_parts)

    def _connected(self) -> distributed.Client:
        if self._client is None:
            raise RuntimeError("DaskBoosters is used outside its `with` block")
        return self._client


def _read_share(dataset: str, columns: list[str], positions: np.ndarray) -> np.ndarray:
    """Run on a worker: the rows of the Parquet files of `dataset` whose `row_position` is in `positions`
    (increasing), their `columns` as a float64 matrix in that order (NULL as NaN). Only the files and row
    groups whose positions overlap the range are read (the partitions are years, the positions increase
    with the date)."""
    try:
        files = pyarrow.dataset.dataset(dataset, format="parquet", partitioning="hive")
        wanted = pyarrow.compute.field(ROW_POSITION)
        condition = (
            (wanted >= int(positions[0]))
            & (wanted <= int(positions[-1]))
            & wanted.isin(pyarrow.array(positions, type=pyarrow.int64()))
        )
        table = files.to_table(columns=[*columns, ROW_POSITION], filter=condition).sort_by(ROW_POSITION)
    except (OSError, pyarrow.ArrowInvalid) as error:
        raise MLError(
            f"a Dask worker cannot read the training examples at {dataset} ({type(error).__name__}: {error}); "
            "they must be at a path every worker can read (python -m ml.train --examples DIR)"
        ) from error
    found = table[ROW_POSITION].to_numpy()
    if len(found) != len(positions) or not np.array_equal(found, positions):
        absent = np.setdiff1d(positions, found)
        problem = (
            f"lack rows asked for (row_position {absent[0]}, among {len(absent):,})" if len(absent) else "repeat rows"
        )
        raise MLError(
            f"the training examples at {dataset} {problem}: they were written for other data; train again to "
            "export them anew"
        )
    matrix = np.empty((len(positions), len(columns)), dtype=np.float64)
    for index, name in enumerate(columns):
        matrix[:, index] = table[name].to_numpy(zero_copy_only=False)
    del table, found
    pyarrow.default_memory_pool().release_unused()  # the Arrow buffers: only the matrix stays for the fit
    return matrix


def _ends(share: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run on a worker: the first and last rows of its share (for the driver to compare with its own)."""
    return share[0], share[-1]


def _take(share: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Run on a worker: the rows of its share at `positions`."""
    return share[positions]


def best_iteration(
    booster: lightgbm.Booster, params: dict, features: np.ndarray, labels: np.ndarray, patience: int
) -> int:
    """The round LightGBM's early stopping would have kept, replayed on a booster trained for all its rounds.

    The rule of `lightgbm.early_stopping(patience, first_metric_only=True)`: the first metric of `params`
    ('binary_logloss' or 'auc') is computed on the stopping rows after every round; a round is the best when
    its score is strictly better than every earlier one; training stops `patience` rounds after the best, or
    at the last round. Returns the best round, counted from 1.

    Raises
    ------
    InvalidInputError
        the first metric is not one this replay computes.
    """
    metric = params.get("metric", "binary_logloss")
    metric = (metric.split(",") if isinstance(metric, str) else list(metric))[0].strip()
    if metric not in _METRICS:
        raise InvalidInputError(
            f"the Dask engine replays early stopping on {' or '.join(sorted(_METRICS))}; the first metric is "
            f"{metric!r}: put one of them first in lgbm_params['metric']"
        )
    higher_is_better = _METRICS[metric]
    best_round, best_score = 0, None
    for round_index, raw in enumerate(_raw_scores_by_round(booster, features)):
        score = _score(metric, labels, raw)
        if best_score is None or (score > best_score if higher_is_better else score < best_score):
            best_round, best_score = round_index, score
        elif round_index - best_round >= patience:
            break
    return best_round + 1


def _raw_scores_by_round(booster: lightgbm.Booster, features: np.ndarray) -> Iterator[np.ndarray]:
    """The raw score of every row after each round, in order: each tree's leaf per row (`pred_leaf`, a few
    rounds at a time to bound memory) and that leaf's output, summed. One prediction per round would cost
    a pass over the rows per round (five times the time on 300,000 rows x 300 rounds)."""
    rounds = booster.current_iteration()
    leaves_per_tree = [tree["num_leaves"] for tree in booster.dump_model()["tree_info"]]
    raw = np.zeros(len(features))
    for start in range(0, rounds, _ROUNDS_PER_PASS):
        count = min(_ROUNDS_PER_PASS, rounds - start)
        leaves = booster.predict(features, start_iteration=start, num_iteration=count, pred_leaf=True)
        leaves = np.asarray(leaves).reshape(len(features), count)
        for offset in range(count):
            tree = start + offset
            outputs = np.array([booster.get_leaf_output(tree, leaf) for leaf in range(leaves_per_tree[tree])])
            raw = raw + outputs[leaves[:, offset]]
            yield raw


def _score(metric: str, labels: np.ndarray, raw: np.ndarray) -> float:
    if _METRICS[metric]:
        return float(roc_auc_score(labels, raw))
    probability = np.clip(1.0 / (1.0 + np.exp(-raw)), _LOG_LOSS_EPSILON, 1.0 - _LOG_LOSS_EPSILON)
    return float(-np.mean(np.where(labels > 0, np.log(probability), np.log(1.0 - probability))))
