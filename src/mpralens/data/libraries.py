"""The library sheet: which count file is which molecule, cell, promoter and replicate.

Columns: ``library, molecule (DNA|RNA), cell, promoter, replicate, path``. A DNA (plasmid)
library shared by all cells leaves ``cell`` empty. Relative paths resolve against the sheet's own
directory, so a sheet travels with its data. RNA replicate r of a (cell, promoter) pairs with DNA
replicate r of that promoter when the DNA has replicates, else with the single DNA library.
A task is ``<cell>_<promoter>``; tasks may have different numbers of RNA replicates (3 in one cell,
2 in another), and each task is normalised and weighed over its own replicates.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from mpralens.io.errors import InputError
from mpralens.io.tables import check_unique, read_tsv, to_int

SHEET_COLUMNS = ["library", "molecule", "cell", "promoter", "replicate", "path"]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplicatePair:
    """One RNA library and the DNA library it is normalised against."""

    task: str
    replicate: int
    rna: str
    dna: str


def is_url(path: str) -> bool:
    """Whether a sheet ``path`` is a URL (downloaded by the workflow) rather than a file."""
    return path.split("://", 1)[0] in ("http", "https", "ftp", "file") and "://" in path


def url_basename(url: str) -> str:
    """File name a downloaded count file gets: the URL's last path component."""
    return url.rstrip("/").rsplit("/", 1)[-1]


def read_library_sheet(
    path: str | PathLike[str],
    *,
    downloads: str | PathLike[str] | None = None,
    check_files: bool = True,
) -> pd.DataFrame:
    """Read and check a library sheet.

    A ``path`` may be a URL (with an optional ``sha256`` column holding its checksum): it then
    names the file of that basename in ``downloads``, where the workflow's download rule puts it.

    Returns
    -------
    pandas.DataFrame
        Columns as in :data:`SHEET_COLUMNS` plus ``url`` and ``sha256`` (empty for local files);
        ``replicate`` is ``int64``; ``path`` is absolute.
    """
    path = Path(path)
    df = read_tsv(
        path, columns=["library", "molecule", "promoter", "replicate", "path"], header=True
    )
    if "cell" not in df.columns:
        raise InputError("missing column cell (may be empty for DNA libraries)", path=path, line=1)
    extra = [c for c in df.columns if c not in (*SHEET_COLUMNS, "sha256")]
    if extra:
        raise InputError(
            f"unknown column(s) {', '.join(extra)}; expected {', '.join(SHEET_COLUMNS)}",
            path=path,
            line=1,
        )
    first = df.attrs["first_line"]
    mol_ok = df["molecule"].isin(["DNA", "RNA"]).to_numpy()
    if not mol_ok.all():
        i = int(np.flatnonzero(~mol_ok)[0])
        raise InputError(
            f"molecule must be DNA or RNA, found {df['molecule'].iloc[i]!r}",
            path=path,
            line=first + i,
        )
    no_cell = ((df["molecule"] == "RNA") & (df["cell"] == "")).to_numpy()
    if no_cell.any():
        i = int(np.flatnonzero(no_cell)[0])
        raise InputError("an RNA library needs a cell", path=path, line=first + i)
    replicate = to_int(df, "replicate", what="replicate")
    if (replicate < 1).any():
        i = int(np.flatnonzero(replicate < 1)[0])
        raise InputError("replicate must be 1 or more", path=path, line=first + i)
    check_unique(df, "library", what="library")
    urls = [p if is_url(p) else "" for p in df["path"]]
    if any(urls) and downloads is None and check_files:
        i = next(i for i, u in enumerate(urls) if u)
        raise InputError(
            "a URL count file needs the downloads folder (run it through the workflow)",
            path=path,
            line=first + i,
        )
    resolved = [
        str(Path(downloads or ".") / url_basename(u))
        if u
        else (p if Path(p).is_absolute() else str((path.parent / p).resolve()))
        for p, u in zip(df["path"], urls, strict=True)
    ]
    if check_files:
        for i, p in enumerate(resolved):
            if not Path(p).is_file():
                raise InputError(f"count file {p} does not exist", path=path, line=first + i)
    _warn_shared_files(df, [u or os.path.realpath(p) for p, u in zip(resolved, urls, strict=True)])
    out = df[SHEET_COLUMNS].copy()
    out["replicate"] = replicate
    out["path"] = resolved
    out["url"] = urls
    out["sha256"] = df["sha256"].to_numpy() if "sha256" in df.columns else ""
    out.attrs.update(df.attrs)
    pair_libraries(out, sheet_path=path)  # fail early on unpairable sheets
    return out


def _warn_shared_files(df: pd.DataFrame, files: list[str]) -> None:
    """Warn (one line) when two libraries of the sheet read the same count file.

    A copy-paste slip, not an error the reader can prove: the run still works, but two
    replicates of one file agree perfectly (replicate Pearson 1.0, weights that trust them) and a
    DNA and an RNA library of one file give log ratios of 0.
    """
    keys = pd.Series(files)
    shared = keys.duplicated(keep=False).to_numpy()
    if not shared.any():
        return
    first = df.attrs["first_line"]
    file = keys[shared].iloc[0]
    rows = np.flatnonzero((keys == file).to_numpy())
    names = " and ".join(f"{df['library'].iloc[i]!r} (line {first + i})" for i in rows)
    molecules = set(df["molecule"].iloc[rows])
    effect = (
        "their replicate Pearson will be 1.0"
        if len(molecules) == 1
        else "their RNA/DNA log ratios will be 0"
    )
    others = keys[shared].nunique() - 1
    more = f" ({others} more count file(s) are listed twice)" if others else ""
    log.warning(
        "%s:%d: libraries %s read the same count file %s; %s. Check the sheet's paths%s",
        df.attrs["path"],
        first + int(rows[1]),
        names,
        file,
        effect,
        more,
    )


def pair_libraries(sheet: pd.DataFrame, *, sheet_path: str | PathLike[str] = "library sheet"):
    """Pair every RNA library with its DNA library.

    Returns
    -------
    list of ReplicatePair
        Sorted by task then replicate.
    """
    first = sheet.attrs.get("first_line", 2)
    pairs: list[ReplicatePair] = []
    lines: dict[tuple[str, int], int] = {}
    dna = sheet[sheet["molecule"] == "DNA"]
    rna = sheet[sheet["molecule"] == "RNA"]
    if rna.empty:
        raise InputError("the sheet has no RNA library", path=sheet_path)
    for idx, row in rna.iterrows():
        cands = dna[(dna["promoter"] == row["promoter"]) & dna["cell"].isin(["", row["cell"]])]
        cell_specific = cands[cands["cell"] == row["cell"]]
        if not cell_specific.empty:
            cands = cell_specific
        if cands.empty:
            raise InputError(
                f"RNA library {row['library']!r} has no DNA library with promoter "
                f"{row['promoter']!r}",
                path=sheet_path,
                line=first + int(idx),
            )
        if len(cands) > 1:
            same_rep = cands[cands["replicate"] == row["replicate"]]
            if len(same_rep) != 1:
                raise InputError(
                    f"RNA library {row['library']!r} (replicate {row['replicate']}): DNA has "
                    f"replicates {sorted(cands['replicate'].tolist())} but not exactly one "
                    f"replicate {row['replicate']}",
                    path=sheet_path,
                    line=first + int(idx),
                )
            cands = same_rep
        task = f"{row['cell']}_{row['promoter']}"
        key = (task, int(row["replicate"]))
        if key in lines:
            raise InputError(
                f"two RNA libraries for task {task} replicate {key[1]} (the other is on line "
                f"{lines[key]})",
                path=sheet_path,
                line=first + int(idx),
            )
        lines[key] = first + int(idx)
        pairs.append(ReplicatePair(task, key[1], row["library"], cands["library"].iloc[0]))
    return sorted(pairs, key=lambda p: (p.task, p.replicate))


def tasks_of(pairs: list[ReplicatePair]) -> list[str]:
    """Task names in a stable order (sorted)."""
    return sorted({p.task for p in pairs})
