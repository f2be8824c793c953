"""Element activity and allelic-effect tests: mpralm's weighted linear model with limma moderation.

The method is mpralm (Myint, Avramopoulos, Goff & Hansen 2019, "Linear models enable powerful
differential activity analysis in massively parallel reporter assays", BMC Genomics 20:209):

1. Outcomes are the log2 RNA/DNA ratios of each element (or, for a variant, the alt minus ref
   difference) in each replicate.
2. Precision weights as voom's (Law et al. 2014, Genome Biology 15:R29), the way mpralm computes
   them: an unweighted fit gives each element's residual SD; a lowess curve (statsmodels) of
   sqrt(SD) against the element's mean log2 DNA count predicts, for every observation from its own
   log2 DNA count, its variance ``f(x)^4``; the weight is its inverse (for a difference, the
   inverse of the sum of the two variances).
3. A weighted least-squares fit per element (intercept only: the weighted mean) and limma's
   empirical Bayes moderation of the residual variances (Smyth 2004, Stat Appl Genet Mol Biol
   3:3; ``fitFDist`` without covariates, ``squeezeVar``): moderated t with ``d + d0`` degrees of
   freedom.
4. Benjamini-Hochberg FDR (statsmodels ``multipletests``).
5. limma's B statistic (Smyth 2004 section 6; ``eBayes`` with ``proportion = 0.01`` and
   ``stdev.coef.lim = (0.1, 4)``): the log posterior odds that an element or variant has an effect,
   its prior variance of true effects estimated by ``tmixture``; ``post_prob = 1 / (1 + e^-B)``
   is the IGVF ``postProbEffect``. Like limma's, it assumes 1% of the tests have an effect, so it
   ranks well but is conservative where effects are common.

Element test: each replicate's ratios are centred on the median of its negative controls (design
class ``element inactive control``, setting ``igvf.negative_class``), so the null is "as active as
the negative controls"; the test is two-sided. Variant test: the null is alt = ref. Both are
vectorised over elements; for one element the fit equals statsmodels' WLS (tested).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special, stats

from mpralens.config.settings import IGVFSettings

# Elements the mean-variance trend is fitted on (a seeded subsample of larger designs).
LOWESS_POINTS = 5000


def trigamma_inverse(x: np.ndarray) -> np.ndarray:
    """Solve ``trigamma(y) = x`` for ``y`` by Newton's method (limma's ``trigammaInverse``)."""
    x = np.asarray(x, dtype=np.float64)
    y = 0.5 + 1.0 / x
    for _ in range(50):
        tri = special.polygamma(1, y)
        dif = tri * (1 - tri / x) / special.polygamma(2, y)
        y = y + dif
        if np.all(-dif / y < 1e-8):
            break
    return y


def fit_f_dist(s2: np.ndarray, df: np.ndarray) -> tuple[float, float]:
    """Prior ``(s0^2, d0)`` of residual variances ``s2`` with ``df`` (limma ``fitFDist``)."""
    ok = (df > 0) & np.isfinite(s2) & (s2 > 0)
    s2, df = s2[ok], df[ok]
    if s2.size < 3:
        return float(np.median(s2)) if s2.size else 1.0, 0.0
    z = np.log(s2)
    e = z - special.digamma(df / 2) + np.log(df / 2)
    emean = float(e.mean())
    evar = float(((e - emean) ** 2).sum() / (e.size - 1) - special.polygamma(1, df / 2).mean())
    if evar > 0:
        d0 = float(2 * trigamma_inverse(np.array([evar]))[0])
        s0 = float(np.exp(emean + special.digamma(d0 / 2) - np.log(d0 / 2)))
    else:
        d0, s0 = np.inf, float(np.exp(emean))
    return s0, d0


def precision_weights(y: np.ndarray, log_dna: np.ndarray) -> np.ndarray:
    """Return mpralm / voom precision weights of ``y`` (elements x replicates, NaN = none)."""
    from statsmodels.nonparametric.smoothers_lowess import lowess

    obs = np.isfinite(y) & np.isfinite(log_dna)
    n = obs.sum(axis=1)
    mean = np.where(obs, y, 0).sum(axis=1) / np.maximum(n, 1)
    resid = np.where(obs, y - mean[:, None], 0)
    sd = np.sqrt((resid**2).sum(axis=1) / np.maximum(n - 1, 1))
    x = np.where(obs, log_dna, 0).sum(axis=1) / np.maximum(n, 1)
    fit = (n >= 2) & (sd > 0)
    weights = np.where(obs, 1.0, 0.0)
    if fit.sum() < 10:
        return weights
    xs, ys = x[fit], np.sqrt(sd[fit])
    if xs.size > LOWESS_POINTS:  # a trend of a few thousand points is as good, and fast
        keep = np.random.default_rng(0).choice(xs.size, LOWESS_POINTS, replace=False)
        xs, ys = xs[keep], ys[keep]
    delta = 0.01 * float(xs.max() - xs.min())
    curve = lowess(ys, xs, frac=0.5, delta=delta, return_sorted=True)
    lo, hi = curve[0, 0], curve[-1, 0]
    pred = np.interp(np.clip(log_dna, lo, hi), curve[:, 0], curve[:, 1])
    floor = np.quantile(curve[:, 1], 0.05)
    pred = np.maximum(pred, max(floor, 1e-6))
    return np.where(obs, 1.0 / pred**4, 0.0)


def moderated_wls(y: np.ndarray, w: np.ndarray, *, ci_level: float = 0.95) -> pd.DataFrame:
    """Intercept-only WLS per row of ``y`` (weights ``w``, 0 = missing) with limma moderation.

    Returns
    -------
    pandas.DataFrame
        ``estimate``, ``se`` (moderated), ``t``, ``df`` (d + d0), ``p_value`` (two-sided),
        ``ci_low``, ``ci_high``, ``n`` (observations), ``s2`` (residual variance), ``log_odds``
        (limma's B) and ``post_prob`` (its posterior probability), plus
        ``attrs["prior"] = (s0^2, d0)``.
    """
    w = np.where(np.isfinite(y), w, 0.0)
    yy = np.where(w > 0, y, 0.0)
    n = (w > 0).sum(axis=1)
    sw = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        est = (w * yy).sum(axis=1) / sw
        d = (n - 1).astype(np.float64)
        s2 = (w * (yy - est[:, None]) ** 2).sum(axis=1) / d
    s2 = np.where(d > 0, s2, np.nan)
    s0, d0 = fit_f_dist(s2, d)
    d0c = min(d0, 1e6)
    df = d + d0c
    with np.errstate(invalid="ignore", divide="ignore"):
        post = np.where(d > 0, (d0c * s0 + d * np.nan_to_num(s2)) / df, s0)
        se = np.sqrt(post / sw)
        t = est / se
    usable = (n > 0) & (df > 0)
    p = np.where(usable, 2 * stats.t.sf(np.abs(t), np.maximum(df, 1e-9)), np.nan)
    q = stats.t.ppf(0.5 + ci_level / 2, np.maximum(df, 1e-9))
    with np.errstate(invalid="ignore", divide="ignore"):
        b = log_odds(t, 1.0 / sw, df, s0, d0)
    out = pd.DataFrame(
        {
            "estimate": est,
            "se": se,
            "t": t,
            "df": df,
            "p_value": p,
            "ci_low": est - q * se,
            "ci_high": est + q * se,
            "n": n,
            "s2": s2,
            "log_odds": b,
            "post_prob": special.expit(b),
        }
    )
    out.attrs["prior"] = (s0, d0)
    return out


# limma eBayes defaults: prior fraction of tests with an effect, bounds on the effects' prior SD.
PROPORTION = 0.01
STDEV_COEF_LIM = (0.1, 4.0)


def tmixture(t: np.ndarray, v1: np.ndarray, df: np.ndarray, proportion: float, lim) -> float:
    """Prior variance of the true effects (limma ``tmixture.vector``), in unscaled units.

    ``t`` moderated t, ``v1`` unscaled variances (``1 / sum(w)``), ``df`` total degrees of
    freedom; ``lim`` bounds the answer. The top ``proportion / 2`` of |t| are matched to the order
    statistics a mixture with that fraction of effects would give. NaN when too few tests.
    """
    ok = np.isfinite(t) & np.isfinite(v1) & np.isfinite(df)
    t, v1, df = np.abs(t[ok]), v1[ok], df[ok]
    n = t.size
    ntarget = int(np.ceil(proportion / 2 * n))
    if ntarget < 1:
        return float("nan")
    p = max(ntarget / n, proportion)
    max_df = float(df.max())
    low = df < max_df  # put every t on the largest df (limma)
    if low.any():
        t = t.copy()
        t[low] = stats.t.isf(stats.t.sf(t[low], df[low]), max_df)
    top = np.argsort(-t, kind="stable")[:ntarget]
    t, v1 = t[top], v1[top]
    p0 = 2 * stats.t.sf(t, max_df)
    ptarget = ((np.arange(1, ntarget + 1) - 0.5) / n - (1 - p) * p0) / p
    v0 = np.zeros(ntarget)
    pos = ptarget > p0
    if pos.any():
        qtarget = stats.t.isf(ptarget[pos] / 2, max_df)
        v0[pos] = v1[pos] * ((t[pos] / qtarget) ** 2 - 1)
    return float(np.clip(v0, lim[0], lim[1]).mean())


def log_odds(t: np.ndarray, v1: np.ndarray, df: np.ndarray, s0: float, d0: float) -> np.ndarray:
    """Return limma's B statistic, the log posterior odds of an effect (eBayes' ``lods``).

    ``s0`` and ``d0`` are the variance prior of :func:`fit_f_dist`.
    """
    lim = (STDEV_COEF_LIM[0] ** 2 / s0, STDEV_COEF_LIM[1] ** 2 / s0)
    v0 = tmixture(t, v1, df, PROPORTION, lim)
    if not np.isfinite(v0):
        v0 = 1.0 / s0  # limma's fallback when too few tests
    r = (v1 + v0) / v1
    t2 = t**2
    if d0 <= 1e6:
        kernel = (1 + df) / 2 * np.log((t2 + df) / (t2 / r + df))
    else:  # limma: a normal kernel once the prior degrees of freedom pass 10^6
        kernel = t2 * (1 - 1 / r) / 2
    return np.log(PROPORTION / (1 - PROPORTION)) - np.log(r) / 2 + kernel


def bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values (statsmodels); NaN p-values stay NaN."""
    from statsmodels.stats.multitest import multipletests

    q = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        q[ok] = multipletests(p[ok], method="fdr_bh")[1]
    return q


def _matrices(per_rep: pd.DataFrame, pc: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    y = per_rep.pivot(index="oligo_name", columns="replicate", values="log2_ratio")
    x = per_rep.pivot(index="oligo_name", columns="replicate", values="dna_counts")
    return y, np.log2(x.astype(np.float64) + pc)


def element_test(
    per_rep: pd.DataFrame, design: pd.DataFrame, settings: IGVFSettings
) -> pd.DataFrame:
    """Test every element against the negative controls (mpralm WLS + moderation + BH).

    Returns
    -------
    pandas.DataFrame
        One row per oligo: ``oligo_name``, ``class``, ``effect`` (log2, relative to the negative
        controls), ``se``, ``ci_low``, ``ci_high``, ``t``, ``df``, ``p_value``, ``q_value``,
        ``significant``, ``n_replicates``.
    """
    y, x = _matrices(per_rep, settings.pseudocount)
    classes = design.set_index("name")["class"].reindex(y.index)
    neg = (classes == settings.negative_class).to_numpy()
    centre = np.nanmedian(y.to_numpy()[neg], axis=0) if neg.any() else np.zeros(y.shape[1])
    yc = y.to_numpy() - centre[None, :]
    w = precision_weights(yc, x.to_numpy())
    fit = moderated_wls(yc, w, ci_level=settings.ci_level)
    q = bh(fit["p_value"].to_numpy())
    return pd.DataFrame(
        {
            "oligo_name": y.index.to_numpy(),
            "class": classes.to_numpy(),
            "effect": fit["estimate"].to_numpy(),
            "se": fit["se"].to_numpy(),
            "ci_low": fit["ci_low"].to_numpy(),
            "ci_high": fit["ci_high"].to_numpy(),
            "t": fit["t"].to_numpy(),
            "df": fit["df"].to_numpy(),
            "p_value": fit["p_value"].to_numpy(),
            "q_value": q,
            "significant": q < settings.fdr,
            "n_replicates": fit["n"].to_numpy(),
        }
    )


def variant_test(
    per_rep: pd.DataFrame, pairs: pd.DataFrame, settings: IGVFSettings
) -> pd.DataFrame:
    """Test alt minus ref per variant (paired by replicate; mpralm allelic mode, moderated).

    Returns
    -------
    pandas.DataFrame
        One row per variant of ``pairs`` (from :func:`mpralens.io.igvf.allelic_pairs`) measured
        in at least one replicate: the pair's columns, ``effect`` (alt - ref, log2), ``se``,
        ``ci_low``, ``ci_high`` (``igvf.ci_level``), ``ci_low_95``, ``ci_high_95``, ``t``, ``df``,
        ``p_value``, ``log_odds``, ``post_prob`` (limma's B and its posterior), ``q_value``,
        ``significant``, ``n_replicates``.
    """
    y, x = _matrices(per_rep, settings.pseudocount)
    w_all = pd.DataFrame(
        precision_weights(y.to_numpy(), x.to_numpy()), index=y.index, columns=y.columns
    )
    pairs = pairs[pairs["ref"].isin(y.index) & pairs["alt"].isin(y.index)].reset_index(drop=True)
    ya = y.loc[pairs["alt"]].to_numpy()
    yr = y.loc[pairs["ref"]].to_numpy()
    wa = w_all.loc[pairs["alt"]].to_numpy()
    wr = w_all.loc[pairs["ref"]].to_numpy()
    diff = ya - yr
    with np.errstate(divide="ignore"):
        w = np.where((wa > 0) & (wr > 0), 1.0 / (1.0 / wa + 1.0 / wr), 0.0)
    fit = moderated_wls(diff, w, ci_level=settings.ci_level)
    fit95 = moderated_wls(diff, w, ci_level=0.95)
    out = pairs.copy()
    out["effect"] = fit["estimate"].to_numpy()
    for col in ("se", "ci_low", "ci_high", "t", "df", "p_value", "log_odds", "post_prob"):
        out[col] = fit[col].to_numpy()
    out["ci_low_95"] = fit95["ci_low"].to_numpy()
    out["ci_high_95"] = fit95["ci_high"].to_numpy()
    out["q_value"] = bh(out["p_value"].to_numpy())
    out["significant"] = out["q_value"] < settings.fdr
    out["n_replicates"] = fit["n"].to_numpy()
    return out[out["n_replicates"] > 0].reset_index(drop=True)
