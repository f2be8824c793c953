"""Prediction for new sequences with any trained model of the project.

Input: FASTA, or a TSV with columns ``id, sequence`` and, for CNNs trained on the positional
frame, ``offset`` (bases from the frame start). Output: ``id`` then one column per task (log2
activity).
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from mpralens.io.errors import InputError
from mpralens.io.sequences import check_bases
from mpralens.io.tables import check_unique, read_tsv


def read_sequences_any(path: str | PathLike[str]) -> pd.DataFrame:
    """Read ``id, sequence[, offset]`` from FASTA (``>`` first) or TSV with a header."""
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path=path)
    with path.open() as fh:
        first = fh.read(1)
    if first == ">":
        import pyfaidx

        fa = pyfaidx.Fasta(str(path), sequence_always_upper=True)
        df = pd.DataFrame({"id": list(fa.keys()), "sequence": [str(fa[k]) for k in fa.keys()]})
        df.attrs.update(path=str(path), first_line=1)
    else:
        df = read_tsv(path, columns=["id", "sequence"], header=True)
        df["sequence"] = df["sequence"].str.upper()
    check_bases(df["sequence"], path=path, first_line=df.attrs.get("first_line", 1))
    check_unique(df, "id", what="sequence ID")
    return df


def predict_file(model: str | PathLike[str], sequences: str | PathLike[str]) -> pd.DataFrame:
    """Predict every sequence of ``sequences`` with ``model`` (``.ckpt`` CNN or ``.npz`` k-mer)."""
    return predict_frame(model, read_sequences_any(sequences), path=sequences)


def predict_frame(
    model: str | PathLike[str],
    df: pd.DataFrame,
    *,
    path: str | PathLike[str] | None = None,
) -> pd.DataFrame:
    """Predict the sequences of ``df`` (``id, sequence[, offset]``); ``path`` names them."""
    sequences = path
    seqs = list(df["sequence"])
    if str(model).endswith(".npz"):
        from mpralens.models.kmer import load_kmer_model

        km = load_kmer_model(model)
        pred, tasks = km.predict(seqs), km.tasks
    else:
        from mpralens.models.cnn.network import encode, load_network, predict_array

        net, spec = load_network(model)
        lengths = df["sequence"].str.len()
        bad = np.flatnonzero(lengths.to_numpy() != spec["tile_length"])
        if bad.size:
            raise InputError(
                f"sequence {df['id'].iloc[bad[0]]!r} has length {lengths.iloc[bad[0]]}; the model "
                f"was trained on {spec['tile_length']}-bp tiles",
                path=sequences,
            )
        offsets = None
        if spec["layout"] == "positional":
            if "offset" not in df.columns:
                raise InputError(
                    "this CNN reads the positional frame: give an 'offset' column (TSV input)",
                    path=sequences,
                )
            offsets = pd.to_numeric(df["offset"], errors="raise").to_numpy(dtype=np.int64)
        pred = predict_array(net, encode(seqs, offsets, spec["layout"], spec["frame_length"]))
        tasks = spec["tasks"]
    out = pd.DataFrame(pred, columns=tasks)
    out.insert(0, "id", df["id"].to_numpy())
    return out
