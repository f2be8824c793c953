"""The model-ready view of a data set: tile sequences with activity, weights and split per task.

Both sequence models (k-mer and CNN) read the same three workflow tables through this module, so
they train and are evaluated on exactly the same tiles, and both refuse, here, data with nothing to
learn: a task without a usable tile (valid, with a positive weight) in a split the model needs, or a
split with no tile at all. A model is never trained, nor its metrics written, on zero tiles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike

import numpy as np
import pandas as pd

from mpralens.io.errors import InputError
from mpralens.io.tables import member


@dataclass
class TrainingData:
    """Tiles with per-task targets.

    Attributes
    ----------
    tiles
        ``tile_id, region_id, tile_pos, sequence, split`` (one row per tile).
    y
        Activity, ``shape=(n_tiles, n_tasks)``, log2 units; NaN where the tile is invalid.
    w
        Replicate weights, same shape; 0 where invalid.
    tasks
        Task names (column order of ``y`` and ``w``).
    """

    tiles: pd.DataFrame
    y: np.ndarray
    w: np.ndarray
    tasks: list[str]

    def subset(self, split: str) -> TrainingData:
        """Rows of one split (``train``, ``valid`` or ``test``)."""
        m = (self.tiles["split"] == split).to_numpy()
        return TrainingData(self.tiles[m].reset_index(drop=True), self.y[m], self.w[m], self.tasks)

    @property
    def frame_length(self) -> int:
        """Length of the positional frame: last tile's offset plus tile length (295 for Sharpr)."""
        return int(self.tiles["offset"].max() + self.tiles["sequence"].str.len().max())


# Per split: what a model needs it for, its tiles' use, the config key and setting that fill it.
_SPLIT_ROLE = {
    "train": (
        "fitting",
        "to fit on",
        "split.valid_fraction",
        "lower split.valid_fraction + split.test_fraction",
    ),
    "valid": (
        "early stopping",
        "to stop early on",
        "split.valid_fraction",
        "set split.valid_fraction above 0 (by chromosome: split.valid_chromosomes)",
    ),
    "test": (
        "evaluation",
        "to evaluate on",
        "split.test_fraction",
        "set split.test_fraction above 0 (by chromosome: split.test_chromosomes)",
    ),
}


def require_tiles(
    data: TrainingData,
    splits: Sequence[str],
    *,
    activity: str | PathLike[str] | None = None,
    split_table: str | PathLike[str] | None = None,
) -> None:
    """Refuse data with nothing to fit on, to stop early on or to evaluate on.

    Parameters
    ----------
    data
        The model-ready tiles.
    splits
        Splits (``train``, ``valid``, ``test``) that must hold, for every task, at least one usable
        tile: finite activity and a positive weight.
    activity, split_table
        Files named in the error (the activity table and the splits table).

    Raises
    ------
    InputError
        A split has no tile at all (key ``split.valid_fraction`` or ``split.test_fraction``), or a
        task has no usable tile in a split (key ``normalize.min_dna``, the threshold that makes
        tiles invalid).
    """
    split = data.tiles["split"].to_numpy()
    usable = np.isfinite(data.y) & (data.w > 0)  # (n_tiles, n_tasks)
    for name in splits:
        need_for, use, key, fix = _SPLIT_ROLE[name]
        rows = split == name
        if not rows.any():
            raise InputError(
                f"the {name} split has no tile (all {data.tiles['region_id'].nunique()} regions "
                f"are in other splits) and {need_for} needs it; {fix}",
                path=split_table,
                key=key,
            )
        n_valid = np.isfinite(data.y[rows]).sum(axis=0)
        for task, n, v in zip(data.tasks, usable[rows].sum(axis=0), n_valid, strict=True):
            if n == 0:
                raise InputError(
                    f"task {task} has no valid tile with a positive weight in the {name} split "
                    f"({rows.sum()} tiles, {v} valid): nothing {use}; tiles with fewer DNA reads "
                    "than normalize.min_dna are invalid: lower it, or give the split more regions",
                    path=activity,
                    key="normalize.min_dna",
                )


def load_training_data(
    tiles: str | PathLike[str],
    activity: str | PathLike[str],
    splits: str | PathLike[str],
    *,
    need: Sequence[str] = ("train", "test"),
) -> TrainingData:
    """Join ``tiles.tsv.gz``, ``activity.tsv.gz`` and ``splits.tsv`` of one data set.

    Every task must have a usable tile in each split of ``need`` (:func:`require_tiles`); the CNN
    needs ``("train", "valid", "test")``.
    """
    t = pd.read_csv(tiles, sep="\t")
    a = pd.read_csv(activity, sep="\t")
    s = pd.read_csv(splits, sep="\t")
    if len(s) != len(t) or not member(s["tile_id"], t["tile_id"]).all():
        raise InputError("splits and tiles list different tiles", path=splits)
    unknown = ~member(a["tile_id"], t["tile_id"])
    if unknown.any():
        raise InputError(
            f"tile {a['tile_id'].iloc[int(np.flatnonzero(unknown)[0])]!r} is not in {tiles}",
            path=activity,
        )
    tasks = sorted(a["task"].unique())
    y = a.pivot(index="tile_id", columns="task", values="activity").reindex(t["tile_id"])[tasks]
    w = a.pivot(index="tile_id", columns="task", values="weight").reindex(t["tile_id"])[tasks]
    frame = t[["tile_id", "region_id", "tile_pos", "start", "sequence"]].copy()
    frame["offset"] = frame["start"] - frame.groupby("region_id")["start"].transform("min")
    frame["split"] = s.set_index("tile_id").loc[t["tile_id"], "split"].to_numpy()
    data = TrainingData(
        frame.drop(columns="start"),
        y.to_numpy(dtype=np.float64),
        np.nan_to_num(w.to_numpy(dtype=np.float64)),
        tasks,
    )
    require_tiles(data, need, activity=activity, split_table=splits)
    return data


def prediction_table(data: TrainingData, pred: np.ndarray) -> pd.DataFrame:
    """Long table ``tile_id, region_id, tile_pos, task, activity, weight, prediction``."""
    n, t = pred.shape
    return pd.DataFrame(
        {
            "tile_id": np.repeat(data.tiles["tile_id"].to_numpy(), t),
            "region_id": np.repeat(data.tiles["region_id"].to_numpy(), t),
            "tile_pos": np.repeat(data.tiles["tile_pos"].to_numpy(), t),
            "task": np.tile(data.tasks, n),
            "activity": data.y.reshape(-1),
            "weight": data.w.reshape(-1),
            "prediction": pred.reshape(-1),
        }
    )
