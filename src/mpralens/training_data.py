"""The model-ready view of a data set: tile sequences with activity, weights and split per task.

Both sequence models (k-mer and CNN) read the same three workflow tables through this module, so
they train and are evaluated on exactly the same tiles.
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike

import numpy as np
import pandas as pd

from mpralens.errors import InputError
from mpralens.tables import member


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


def load_training_data(
    tiles: str | PathLike[str], activity: str | PathLike[str], splits: str | PathLike[str]
) -> TrainingData:
    """Join ``tiles.tsv.gz``, ``activity.tsv.gz`` and ``splits.tsv`` of one data set."""
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
    return TrainingData(
        frame.drop(columns="start"),
        y.to_numpy(dtype=np.float64),
        np.nan_to_num(w.to_numpy(dtype=np.float64)),
        tasks,
    )


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
