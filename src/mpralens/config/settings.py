"""The typed settings model: every config key's type, default, bounds and description, once.

The Snakefile validates ``config`` with :class:`Config` (:func:`validate_config`); each command's
options are generated from the section it takes (:mod:`mpralens.cli._args`); the key tables of
``config/README.md`` are generated from these classes (:mod:`mpralens.config.reference`). The
computations take the same classes as their settings, so a default is written here and nowhere
else.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from mpralens.io.errors import InputError

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
Name = Annotated[str, Field(pattern=NAME_PATTERN)]


class Settings(BaseModel):
    """A settings section: unknown keys are errors, values are checked on assignment too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


# ----------------------------------------------------------------------------- data stage


class NormalizeSettings(Settings):
    """Counts to log2 RNA/DNA activity."""

    pseudocount: float = Field(
        1.0, gt=0, description="Pseudocount added to RNA and DNA counts before the log ratio."
    )
    min_dna: int = Field(
        20,
        ge=0,
        description="Tiles with fewer DNA reads than this (in any DNA library a task uses) are "
        "invalid.",
    )
    method: Literal["summed", "per_barcode"] = Field(
        "summed",
        description="summed = one ratio of barcode-summed counts; per_barcode = median of "
        "per-barcode ratios (needs barcodes: keep).",
    )


class WeightsSettings(Settings):
    """Replicate-consistency weights."""

    method: Literal["diagonal", "inverse_variance"] = Field(
        "diagonal",
        description="diagonal = Paggi et al. distance from the rep1 = rep2 line, min-max scaled; "
        "inverse_variance = 1 / kNN-predicted replicate variance.",
    )
    neighbors: int = Field(50, ge=1, description="Neighbours for inverse_variance.")


class SplitSettings(Settings):
    """Train/validation/test split, always by region or chromosome, never by tile."""

    by: Literal["region", "chromosome"] = Field(
        "region", description="region = random regions (seeded); chromosome = held-out chromosomes."
    )
    valid_fraction: float = Field(
        0.1, ge=0, le=1, description="Fraction of regions for validation (by region)."
    )
    test_fraction: float = Field(
        0.1, ge=0, le=1, description="Fraction of regions for test (by region)."
    )
    valid_chromosomes: list[str] = Field(
        default_factory=lambda: ["chr8"],
        description="Validation chromosomes (by chromosome; MPRA-DragoNN uses chr8).",
    )
    test_chromosomes: list[str] = Field(
        default_factory=lambda: ["chr18"],
        description="Test chromosomes (by chromosome; MPRA-DragoNN uses chr18).",
    )


# ----------------------------------------------------------------------------- models


class KmerSettings(Settings):
    """k-mer regression baseline (Paggi et al.)."""

    k: int = Field(6, ge=1, le=12, description="k-mer length.")
    method: Literal["sgd", "ridge"] = Field("sgd", description="SGDRegressor (the paper) or ridge.")
    alpha: float = Field(1e-4, ge=0, description="L2 penalty.")


class CNNSettings(Settings):
    """Multitask CNN trained with Lightning."""

    arch: Literal["paggi", "dragonn", "residual", "legnet"] = Field(
        "paggi",
        description="paggi = Paggi et al. best model; dragonn = MPRA-DragoNN ConvModel; "
        "residual = dilated residual network; legnet = LegNet (Penzar et al. 2023; paper size "
        "unless arch_kwargs scale it, e.g. {stages: [64, 32, 32, 16], mapper: 32}).",
    )
    arch_kwargs: dict[str, Any] = Field(
        default_factory=dict,
        description="Architecture settings, e.g. {filters: 64} (see "
        "mpralens.models.cnn.architectures).",
    )
    layout: Literal["tile", "positional"] = Field(
        "tile",
        description="tile = the 145-bp tile; positional = the tile placed at its offset in the "
        "zero-padded region frame (295 bp).",
    )
    batch_size: int = Field(128, ge=1, description="Training batch size.")
    lr: float = Field(1e-3, gt=0, description="Learning rate (the peak of the one-cycle schedule).")
    max_epochs: int = Field(30, ge=1, description="Epoch limit.")
    patience: int = Field(
        4, ge=1, description="Early-stopping patience (epochs without a better validation loss)."
    )
    rc_augment: bool = Field(False, description="Reverse-complement training batches at random.")
    rc: Literal["none", "tied", "average"] = Field(
        "none",
        description="Reverse-complement equivariance: none; tied = one set of weights reads both "
        "strands, outputs averaged in training and prediction (exactly strand-invariant); "
        "average = trained on one strand, predictions averaged over both strands.",
    )
    first_activation: Literal["relu", "exp"] = Field(
        "relu",
        description="Activation after the first convolution: relu = the architecture's own (ReLU, "
        "SiLU for legnet); exp = exponential (Koo & Ploenzke 2021).",
    )
    optimizer: Literal["adam", "adamw"] = Field(
        "adam", description="adam, or adamw (decoupled weight decay; LegNet's recipe)."
    )
    weight_decay: float = Field(
        0.0, ge=0, description="Weight decay (LegNet's recipe: 0.01 with adamw)."
    )
    schedule: Literal["constant", "onecycle"] = Field(
        "constant",
        description="Learning rate: constant lr, or one-cycle (LegNet's recipe) peaking at lr over "
        "max_epochs.",
    )
    ensemble: int = Field(
        1,
        ge=1,
        description="Train this many models and predict with their mean (1 = the single model).",
    )
    ensemble_by: Literal["seeds", "folds"] = Field(
        "seeds",
        description="Ensemble members differ by seed (seed, seed+1, ...), or each also leaves out "
        "one of `ensemble` folds of the training regions.",
    )
    devices: int | str = Field(
        "auto", description="Lightning devices: auto, or a number (GPUs when present)."
    )

    @field_validator("devices")
    @classmethod
    def _devices(cls, value: int | str) -> int | str:
        if isinstance(value, str) and value != "auto":
            if not value.isdigit():
                raise ValueError("devices is 'auto' or a number")
            return int(value)
        return value


class ModelsSettings(Settings):
    """Sequence models trained on every data set and compared on its test split."""

    kmer: KmerSettings = Field(default_factory=KmerSettings)
    cnn: CNNSettings = Field(default_factory=CNNSettings)


# ----------------------------------------------------------------------------- ISM, evaluation


class ISMSettings(Settings):
    """Tiled in-silico mutagenesis (Paggi et al. 4.3.1) of every data set with its models."""

    models: list[Literal["cnn", "kmer"]] = Field(
        default_factory=lambda: ["cnn"],  # type: ignore[arg-type]
        description="Trained models to score (cnn, kmer); an empty list skips ISM.",
    )
    regions: Literal["all", "train", "valid", "test"] = Field(
        "all", description="Regions to score (all, or one split's)."
    )
    max_regions: int | None = Field(
        None,
        ge=1,
        description="Score at most this many regions (the first in region order); null = no limit.",
    )
    method: Literal["fast", "plain"] = Field(
        "fast",
        description="fast = exact incremental ISM; plain = one forward pass per mutated window "
        "(the slow reference).",
    )
    stride: int = Field(
        29,
        ge=1,
        description="Window stride in bp; must divide the tile length (145 / 29 = 5 windows per "
        "base).",
    )
    batch_size: int = Field(1024, ge=1, description="Mutations (or patches) per batch.")
    top_regions: int = Field(6, ge=1, description="Regions drawn in the score-track figure.")
    chunks: int = Field(
        1,
        ge=1,
        description="Contiguous region shards scored as separate jobs, then merged (more on a "
        "cluster; 1 scores everything in one job).",
    )

    @field_validator("models")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"models listed twice in {value}")
        return value


class EvaluationSettings(Settings):
    """Evaluation of ISM maps against the data set's annotations (Paggi et al. Figs 7-9)."""

    bins: int = Field(
        5000, ge=3, description="Quantile bins of the ISM-score curves (the paper's 5000)."
    )
    conservation_threshold: float = Field(
        2.0,
        description="A base is conserved when its bigWig score is at least this (element BEDs: "
        "when it lies in an element).",
    )


AttributionMethod = Literal[
    "ism",
    "saliency",
    "gradxinput",
    "integrated_gradients",
    "smoothgrad",
    "deepshap",
    "kmer_weights",
]


class InterpretSettings(Settings):
    """Attribution maps of the trained models, graded against the simulator's planted sites."""

    methods: list[AttributionMethod] = Field(
        default_factory=list,
        description="Attribution methods to run (ism, saliency, gradxinput, integrated_gradients, "
        "smoothgrad, deepshap for CNNs; ism, kmer_weights for the k-mer model); an empty list "
        "skips the stage.",
    )
    models: list[Literal["cnn", "kmer"]] = Field(
        default_factory=lambda: ["cnn"],  # type: ignore[arg-type]
        description="Trained models to attribute (cnn, kmer); each must give every listed method.",
    )
    regions: Literal["all", "train", "valid", "test"] = Field(
        "test", description="Regions to attribute (all, or one split's); grading uses these."
    )
    max_regions: int | None = Field(
        None,
        ge=1,
        description="Attribute at most this many regions (the first in region order); null = no "
        "limit.",
    )
    correction: bool = Field(
        True,
        description="Majdandzic et al. 2023 gradient correction: subtract the per-position mean "
        "over the four bases before multiplying by the input.",
    )
    n_shuffles: int = Field(
        20, ge=1, description="Dinucleotide-shuffled references per sequence (deepshap)."
    )
    ig_steps: int = Field(
        20, ge=2, description="Integration steps of integrated gradients (Gauss-Legendre)."
    )
    smoothgrad_samples: int = Field(25, ge=1, description="Noisy copies per input (smoothgrad).")
    smoothgrad_noise: float = Field(
        0.1, ge=0, description="Standard deviation of smoothgrad's Gaussian noise (one-hot units)."
    )
    windows_per_batch: int = Field(
        64, ge=1, description="Windows attributed together (regions are not split)."
    )
    top_regions: int = Field(6, ge=1, description="Regions drawn as sequence logos.")

    @field_validator("methods", "models")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"listed twice in {value}")
        return value


class MotifSettings(Settings):
    """First-layer filters and TF-MoDISco patterns as motifs, matched to JASPAR 2024 with Tomtom.

    Filters: Koo & Ploenzke's activation-based alignment on the CNNs of ``interpret.models``;
    patterns: TF-MoDISco on the attribution maps of every model there (docs/interpret.md).
    """

    enabled: bool = Field(
        False,
        description="Run the filters (CNNs of interpret.models) and patterns (every model of "
        "interpret.models with attribution maps) rules.",
    )
    regions: Literal["all", "train", "valid", "test"] = Field(
        "test", description="Tiles whose first-layer activations align the filters (a split's)."
    )
    max_tiles: int | None = Field(
        None,
        ge=1,
        description="Align filters on at most this many tiles (the first in tile order); null = "
        "no limit.",
    )
    activation_threshold: float = Field(
        0.5,
        gt=0,
        le=1,
        description="A filter's site is a window whose activation exceeds this fraction of the "
        "filter's largest activation over the tiles (Koo & Ploenzke 2021: 0.5).",
    )
    pseudocount: float = Field(
        0.5,
        ge=0,
        description="Added to each base count of a filter's or pattern's position frequency "
        "matrix before normalising.",
    )
    q_cutoff: float = Field(
        0.05,
        gt=0,
        le=1,
        description="Tomtom q-value (Benjamini-Hochberg over the targets of a query) below which "
        "a JASPAR matrix is a significant match.",
    )
    min_information_content: float = Field(
        6.0,
        ge=0,
        description="Filters and patterns whose matrix holds fewer bits are not compared with "
        "JASPAR (near-uniform matrices get spurious Tomtom matches to long motifs such as CTCF).",
    )
    sources: list[str] = Field(
        default_factory=lambda: ["best", "ism"],
        description="Attribution maps MoDISco reads (methods of interpret.methods; `best` = the "
        "method of highest mean AUROC in attribution_grading.tsv, else best_method; `ism` also "
        "reads the ISM stage's maps).",
    )
    best_method: str | None = Field(
        None,
        description="The method `best` means when there is no grading (real data); null = the "
        "first of interpret.methods.",
    )
    max_seqlets: int = Field(
        2000,
        ge=10,
        description="TF-MoDISco: seqlets per metacluster (sign) at most.",
    )
    window_size: int = Field(
        15, ge=5, description="TF-MoDISco: sliding window of seqlet calling (bp)."
    )
    flank_size: int = Field(5, ge=0, description="TF-MoDISco: flank added to each seqlet (bp).")
    min_metacluster_size: int = Field(
        20, ge=1, description="TF-MoDISco: fewest seqlets of one sign to cluster them."
    )
    final_min_cluster_size: int = Field(
        10, ge=1, description="TF-MoDISco: fewest seqlets a reported pattern has."
    )
    target_seqlet_fdr: float = Field(
        0.2, gt=0, lt=1, description="TF-MoDISco: FDR of seqlet calling against the null."
    )
    n_leiden_runs: int = Field(
        10, ge=1, description="TF-MoDISco: Leiden clusterings (different seeds) kept the best of."
    )
    logo_columns: int = Field(4, ge=1, description="Logos per row of the logo grids.")

    @field_validator("sources")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        allowed = {"best", *AttributionMethod.__args__}  # type: ignore[attr-defined]
        bad = [v for v in value if v not in allowed]
        if bad:
            raise ValueError(f"unknown source {bad[0]!r}; expected best or a method")
        if len(set(value)) != len(value):
            raise ValueError(f"listed twice in {value}")
        return value


GIAAnalysis = Literal["marginal", "position", "spacing", "number"]


class GIASettings(Settings):
    """Global importance analysis of the trained models (Koo et al. 2021): docs/interpret.md."""

    models: list[Literal["cnn", "kmer"]] = Field(
        default_factory=lambda: ["cnn"],  # type: ignore[arg-type]
        description="Trained models to analyse (cnn: tile layout only; kmer); an empty list "
        "skips GIA.",
    )
    motifs: dict[str, str] = Field(
        default_factory=dict,
        description="Motifs by name: an A/C/G/T consensus, a JASPAR 2024 matrix ID or a "
        "simulator catalogue factor. Empty: simulated data sets use the catalogue's 10 "
        "consensus strings (planted and decoys); other data sets get no GIA.",
    )
    pair: list[str] | None = Field(
        None,
        min_length=2,
        max_length=2,
        description="Two motif names (from motifs) for the spacing analysis; null: the planted "
        "cooperative pair (truth/syntax.json) on simulated data sets, no spacing analysis on "
        "others.",
    )
    analyses: list[GIAAnalysis] = Field(
        default_factory=lambda: ["marginal", "position", "spacing", "number"],  # type: ignore[arg-type]
        description="Analyses to run (marginal, position, spacing, number).",
    )
    null: Literal["shuffle", "profile"] = Field(
        "shuffle",
        description="Null sequences: shuffle = dinucleotide-shuffled test tiles; profile = each "
        "base drawn from the tiles' per-position base frequencies.",
    )
    regions: Literal["all", "train", "valid", "test"] = Field(
        "test", description="Tiles the null sequences are drawn from (all, or one split's)."
    )
    n_null: int = Field(200, ge=2, description="Null sequences (effects average over them).")
    n_boot: int = Field(1000, ge=10, description="Bootstrap resamples of the null sequences.")
    ci_level: float = Field(0.95, gt=0, lt=1, description="Level of the bootstrap intervals.")
    position_step: int = Field(
        10, ge=1, description="Step (bp) between motif starts of the position analysis."
    )
    max_spacing: int = Field(
        20, ge=0, description="Spacers 0..max_spacing bp of the spacing analysis."
    )
    max_copies: int = Field(4, ge=1, description="Copies 1..max_copies of the number analysis.")
    batch_size: int = Field(1024, ge=1, description="Sequences predicted per batch.")

    @field_validator("models", "analyses")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"listed twice in {value}")
        return value


class GIAHypothesis(Settings):
    """A hypothesis file of ``mpralens gia --hypothesis`` (YAML); unset keys take the settings'."""

    motifs: dict[str, str] = Field(
        description="Motifs by name: A/C/G/T consensus, JASPAR 2024 ID or catalogue factor."
    )
    analyses: list[GIAAnalysis] | None = Field(None, description="Analyses to run.")
    pair: list[str] | None = Field(
        None, min_length=2, max_length=2, description="Two motif names (spacing analysis)."
    )
    positions: list[Annotated[int, Field(ge=0)]] | None = Field(
        None, description="Motif starts of the position analysis (default: every step)."
    )
    spacings: list[Annotated[int, Field(ge=0)]] | None = Field(
        None, description="Spacers (bp) of the spacing analysis (default 0..max_spacing)."
    )
    copies: list[Annotated[int, Field(ge=1)]] | None = Field(
        None, description="Copy numbers of the number analysis (default 1..max_copies)."
    )


# ----------------------------------------------------------------------------- what commands take
# A command that draws random numbers takes its section plus a seed; the workflow passes the
# config's global ``seed`` (so the seed is one config key, not one per section).

SEED = Field(0, description="Random seed (the workflow passes the config's `seed`).")


class SplitRun(SplitSettings):
    """``split`` settings of one run of ``mpralens split``."""

    seed: int = SEED


class KmerRun(KmerSettings):
    """``models.kmer`` settings of one run of ``mpralens train-kmer``."""

    seed: int = SEED


class CNNRun(CNNSettings):
    """``models.cnn`` settings of one run of ``mpralens train-cnn``."""

    seed: int = SEED


class EvaluationRun(EvaluationSettings):
    """``evaluation`` settings of one run of ``mpralens evaluate-ism`` (seed: shuffled control)."""

    seed: int = SEED


class GIARun(GIASettings):
    """``gia`` settings of one run of ``mpralens gia`` (seed: null sequences, bootstrap)."""

    seed: int = SEED


class InterpretRun(InterpretSettings):
    """``interpret`` settings of one run of ``mpralens attribute`` (plus ISM's stride, a seed)."""

    stride: int = Field(
        ISMSettings.model_fields["stride"].default,
        ge=1,
        description="Window stride in bp (the workflow passes ism.stride).",
    )
    seed: int = SEED


# ----------------------------------------------------------------------------- simulators


class TiledSimulation(Settings):
    """Simulator of a tiled MPRA (lengths in bp, effects in log2 units)."""

    n_regions: int = Field(800, ge=1, description="Regions to simulate.")
    region_length: int = Field(295, ge=1, description="Region length (bp).")
    tile_length: int = Field(145, ge=1, description="Tile length (bp).")
    tile_step: int = Field(5, ge=1, description="Step between tiles (bp).")
    cells: list[str] = Field(
        default_factory=lambda: ["HepG2", "K562"],
        description="Cell types (tasks: cell x promoter).",
    )
    promoters: list[str] = Field(
        default_factory=lambda: ["minP", "SV40P"], description="Promoters of the reporter."
    )
    n_replicates: int = Field(2, ge=1, description="mRNA replicates per task.")
    replicates: dict[str, Annotated[int, Field(ge=1)]] = Field(
        default_factory=dict,
        description="mRNA replicates per task of a cell, e.g. {HepG2: 3, K562: 2}; cells not "
        "listed get n_replicates.",
    )
    n_barcodes: int = Field(1, ge=1, description="Barcodes per tile.")
    n_chromosomes: int = Field(22, ge=1, description="Synthetic chromosomes (chr1..chrN).")
    seed: int = Field(0, description="Simulator seed.")
    gc: float = Field(0.42, gt=0, lt=1, description="GC content of the background sequence.")
    sites_per_region: float = Field(3.0, ge=0, description="Mean planted TF sites per region.")
    pwm_temperature: float = Field(
        0.6,
        gt=0,
        description="Sites are drawn base by base from their JASPAR 2024 matrix columns raised to "
        "1/T and renormalised: 1 samples the matrix itself, lower values sharpen it (0.6 lifts "
        "every factor to >= 12.5 bits; mpralens.simulate.catalog).",
    )
    syntax_bonus: float = Field(
        0.7,
        description="Cooperative bonus (log2, added after saturation) of a tile holding GATA1 "
        "then SP1 on the same strand 4-8 bp apart, in the tasks where both activate.",
    )
    syntax_fraction: float = Field(
        0.15,
        ge=0,
        le=1,
        description="Fraction of regions given a deliberately planted cooperative GATA1-SP1 pair.",
    )
    syntax_control_fraction: float = Field(
        0.15,
        ge=0,
        le=1,
        description="Fraction of regions given a control GATA1-SP1 pair (wrong spacing, opposite "
        "strands or swapped order), which earns no bonus.",
    )
    cooperativity: float = Field(
        0.4, description="Bonus (log2) per extra activating site in a tile."
    )
    saturation: float = Field(
        2.5, gt=0, description="S of the saturating sum S * tanh(raw / S) (log2)."
    )
    region_sd: float = Field(0.15, ge=0, description="SD of the per-region activity offset (log2).")
    abundance_sd: float = Field(
        0.8, ge=0, description="Plasmid abundance a ~ LogNormal(0, abundance_sd)."
    )
    dna_depth: float = Field(100.0, gt=0, description="Mean DNA reads per tile.")
    rna_depth: float = Field(4.0, gt=0, description="Mean RNA reads per tile at activity 0.")
    dispersion: float = Field(
        8.0, gt=0, description="Gamma-Poisson shape (lower = more overdispersed)."
    )
    replicate_sd: float = Field(0.9, ge=0, description="Per-replicate biological noise (log2).")
    conserved_fraction: float = Field(
        0.7, ge=0, le=1, description="Fraction of functional sites that are conserved."
    )
    bed_recall: float = Field(
        0.8,
        ge=0,
        le=1,
        description="Fraction of active cells' planted sites listed in their TF-site BEDs.",
    )
    decoys_per_region: float = Field(
        0.6,
        ge=0,
        description="Mean decoy sites (CEBPB, FOXA2, NRF1, YY1: in the sequence, no effect) per "
        "region, listed in every cell's TF-site BED.",
    )

    @model_validator(mode="after")
    def _geometry(self) -> TiledSimulation:
        if self.tile_length > self.region_length:
            raise ValueError("tile_length must not exceed region_length")
        if (self.region_length - self.tile_length) % self.tile_step:
            raise ValueError("region_length - tile_length must be a multiple of tile_step")
        unknown = sorted(set(self.replicates) - set(self.cells))
        if unknown:
            raise ValueError(f"replicates names cells {unknown} that are not in cells {self.cells}")
        if self.syntax_fraction + self.syntax_control_fraction > 1:
            raise ValueError("syntax_fraction + syntax_control_fraction must not exceed 1")
        return self

    def replicates_of(self, cell: str) -> int:
        """Return the number of RNA replicates of every task of ``cell``."""
        return int(self.replicates.get(cell, self.n_replicates))

    @property
    def n_tiles(self) -> int:
        """Tiles per region."""
        return (self.region_length - self.tile_length) // self.tile_step + 1

    @property
    def tasks(self) -> list[tuple[str, str]]:
        """(cell, promoter) pairs in task-name order."""
        return sorted(
            ((c, p) for c in self.cells for p in self.promoters), key=lambda t: f"{t[0]}_{t[1]}"
        )


class SortSeqSimulation(Settings):
    """Simulator of a lac-like sort-seq experiment (energies in kT)."""

    n_variants: int = Field(50000, ge=1, description="Variants (sequences) to simulate.")
    mutation_rate: float = Field(0.12, ge=0, le=1, description="Per-base mutation rate.")
    cells_per_variant: float = Field(4.0, gt=0, description="Mean sorted cells per variant.")
    n_bins: int = Field(10, ge=2, description="Fluorescence bins.")
    noise_sd: float = Field(0.3, ge=0, description="Expression noise (log).")
    crp_sd: float = Field(0.7, ge=0, description="Spread of the true CRP energy matrix (kT).")
    rnap_sd: float = Field(0.45, ge=0, description="Spread of the true RNAP energy matrix (kT).")
    wt_crp_energy: float = Field(0.0, description="Wild-type CRP binding energy (kT).")
    wt_rnap_energy: float = Field(0.5, description="Wild-type RNAP binding energy (kT).")
    dG_I: float = Field(-4.0, description="True CRP-RNAP interaction energy (kT).")
    seed: int = Field(0, description="Simulator seed.")


# ----------------------------------------------------------------------------- biophysics


class FitSettings(Settings):
    """Fitting settings shared by all biophysical fits."""

    restarts: int = Field(
        3, ge=1, description="Random restarts; the best validation likelihood wins."
    )
    optimizer: Literal["auto", "adam", "lbfgs"] = Field(
        "auto",
        description="lbfgs = maximum penalised likelihood: full-batch L-BFGS-B in float64 of "
        "every parameter, interaction energies included, to a gradient tolerance; each "
        "interaction energy then gets a 95% profile-likelihood interval. adam = mini-batch Adam "
        "under Lightning with early stopping, interaction energies profiled over "
        "interaction_grid (slower, and its restarts disagree on dG_I: docs/limits.md). auto = "
        "lbfgs for thermodynamic models, adam for kinetic ones (whose rates run away under "
        "lbfgs: on the lac data mu_RNAP reached 53 kT and log rates 18 without converging).",
    )

    def optimizer_for(self, kind: str) -> Literal["adam", "lbfgs"]:
        """Return the optimiser a fit of a ``kind`` (thermodynamic, kinetic) model uses."""
        if self.optimizer != "auto":
            return self.optimizer
        return "lbfgs" if kind == "thermodynamic" else "adam"

    lbfgs_iterations: int = Field(
        5000, ge=1, description="Iteration limit of one L-BFGS fit (lbfgs)."
    )
    lbfgs_tolerance: float = Field(
        1e-5,
        gt=0,
        description="lbfgs: a fit has converged when no component of the objective's gradient "
        "exceeds this (nats per read per parameter unit); otherwise it stops at "
        "lbfgs_iterations with a warning.",
    )
    measurement_l2: float = Field(
        1.0,
        ge=0,
        description="lbfgs: Gaussian prior (L2 penalty) on the measurement network's parameters, "
        "in nats for the whole training set (the same prior whatever its size). Weaker (0.3 on "
        "the lac data) the network's weights grow, the fit does not converge and overfits; "
        "stronger (3 to 7) biases dG_I (simulated set: -2.77 against the true -2.46 kcal/mol; "
        "at 1: -2.49). docs/limits.md.",
    )
    workers: int = Field(
        1,
        ge=1,
        description="lbfgs: processes that run the restarts, then the two sides of each "
        "interval, side by side (one thread each; the workflow's fit jobs ask for this many "
        "threads). The results do not depend on it. Worth it only on separate physical cores: "
        "on the 2-vCPU development machine two processes ran at half speed each.",
    )
    interval_step: float = Field(
        0.5,
        gt=0,
        description="lbfgs: step (kT) of the profile that gives each interaction energy's 95% "
        "interval.",
    )
    interval_points: int = Field(
        4,
        ge=0,
        description="lbfgs: profile points at most on each side of the estimate (0: no "
        "interval); a side stops once twice the log-likelihood ratio passes 3.84.",
    )
    lr: float = Field(0.005, gt=0, description="Adam learning rate (optimizer adam).")
    batch_size: int = Field(512, ge=1, description="Variants per batch (optimizer adam).")
    max_epochs: int = Field(200, ge=1, description="Epoch limit per fit (optimizer adam).")
    patience: int = Field(
        10,
        ge=1,
        description="Early-stopping patience (adam): epochs without a better validation "
        "likelihood.",
    )
    hidden: int = Field(
        12,
        ge=1,
        description="Hidden units of the sort-seq measurement network (12: as good on validation "
        "as 20 on the lac data and its simulation, and the lbfgs fit converges in half the "
        "iterations; docs/limits.md).",
    )
    l2: float = Field(
        0.0, ge=0, description="L2 penalty on energy matrices and chemical potentials."
    )
    polish_steps: int = Field(
        5,
        ge=0,
        description="Full-batch L-BFGS steps after Adam (optimizer adam; kept only if "
        "validation improves).",
    )
    profile_half_width: int = Field(
        2,
        ge=1,
        description="optimizer adam: the profile's minimum is the vertex of a quadratic fitted to "
        "the grid points within this many steps of its lowest point (3 averages more of the "
        "fits' own noise out).",
    )
    seed: int = Field(0, description="Seed of the first restart (restart r uses seed + r).")
    interaction_grid: list[float] = Field(
        default_factory=lambda: [-1.0, -2.0, -3.0, -4.0, -5.0, -6.0, -7.0],
        description="optimizer adam: interaction energies (kT) at which thermodynamic models are "
        "profiled: one fit per point (per restart, and the Cartesian product with several "
        "interactions) plus one at the profile's minimum. Empty: fit them freely.",
    )


class SortSeqDataset(Settings):
    """A sort-seq data set: a CSV, or simulated."""

    path: str | None = Field(None, description="Sort-seq CSV (set, ct_0.., x).")
    source: Literal["files", "simulate"] = Field(
        "files", description="files = path; simulate = written to resources/<name>/."
    )
    simulate: SortSeqSimulation = Field(default_factory=SortSeqSimulation)

    @model_validator(mode="after")
    def _path(self) -> SortSeqDataset:
        if self.source == "files" and not self.path:
            raise ValueError("a sort-seq data set with source 'files' needs 'path'")
        return self


class BiophysicsSettings(Settings):
    """Biophysical models fitted to sort-seq data (Tareen & Kinney 2019)."""

    datasets: dict[Name, SortSeqDataset] = Field(
        default_factory=dict,
        description="Sort-seq data sets by name: {path: <csv>} or {source: simulate, simulate: "
        "{...}}.",
    )
    models: dict[Name, str] = Field(
        default_factory=dict,
        description="Model specs by name: path to a YAML spec (see config/biophysics/).",
    )
    fits: list[tuple[str, str]] = Field(
        default_factory=list, description="Fits to run, each [dataset, model]."
    )
    fit: FitSettings = Field(default_factory=FitSettings)


# ----------------------------------------------------------------------------- data sets


class Download(Settings):
    """A file downloaded by the workflow and checked against its SHA-256."""

    url: str = Field(description="https://, ftp:// or file:// URL.")
    sha256: str | None = Field(
        None,
        pattern="^[0-9a-fA-F]{64}$",
        description="SHA-256 of the downloaded bytes; a mismatch stops the run; when missing, "
        "the checksum is printed to the download's log.",
    )
    gunzip: bool = Field(
        False, description="Decompress the (checked) download, e.g. a genome .fa.gz for indexing."
    )


FileEntry = str | Download


class TiledDataset(Settings):
    """A tiled MPRA data set (Sharpr layout), from files or simulated."""

    type: Literal["tiled_mpra"] = Field(description="Kind of data set.")
    source: Literal["files", "simulate"] = Field(
        "files",
        description="files = the paths below; simulate = written by the simulator to "
        "resources/<name>/.",
    )
    layout: Literal["ernst", "geo"] = Field(
        "ernst",
        description="ernst: *.counts files with a barcode-number header line, plus a sequences "
        "file; geo: gzipped `ID Sequence Tags Counts` files.",
    )
    sequences: FileEntry | None = Field(
        None, description="Ernst layout: `ID<TAB>sequence`, no header."
    )
    coords: FileEntry | None = Field(
        None,
        description="`ID chrom start end`, 0-based half-open, no header; one row per tile (pilot) "
        "or per region (scale-up); or from_ids: region coordinates from scale-up tile IDs "
        "(CELLTYPE_STATE_REGIONID_TILEPOS_CHR_CENTER, the region centred on CENTER).",
    )
    libraries: str | None = Field(
        None,
        description="Library sheet TSV (library, molecule, cell, promoter, replicate, path); see "
        "'The library sheet' below.",
    )
    tile_ids: Literal["sharpr", "coords"] = Field(
        "sharpr",
        description="How tiles form regions. sharpr: from the Sharpr tile IDs "
        "(CELLTYPE_STATE_REGIONID_TILEPOS_CHR_CENTER or GROUP_REGIONID_TILEPOS), checked: an ID of "
        "neither form, a scale-up CHR other than the coordinates' chromosome, or (per-tile "
        "coordinates) a tile not starting TILEPOS x tile_step bp after its region's first tile is "
        "an error naming the line. coords: any IDs, one coords row per tile; tiles on one "
        "chromosome that overlap (or are chained by overlaps) form one region named "
        "chrom:start-end, tile_pos = rank by start.",
    )
    tile_step: int = Field(
        5,
        ge=1,
        description="bp between consecutive tiles (30 for the Sharpr pilot). Checked from the "
        "data: overlapping tiles of a region must agree on their shared bases, so a wrong step "
        "stops the import naming the tile, its line and the step the sequences fit.",
    )
    tile_length: int = Field(145, ge=1, description="Length of every tile sequence.")
    barcodes: Literal["sum", "keep"] = Field(
        "sum",
        description="sum barcodes per tile, or keep them (needed by normalize.method per_barcode).",
    )
    genome: FileEntry | None = Field(
        None,
        description="Uncompressed FASTA holding the regions and their flanks (used by ISM); "
        "checked, and indexed beside it if it has no .fai, when the workflow starts.",
    )
    conservation: FileEntry | None = Field(
        None,
        description="Optional conservation track (bigWig of per-base scores or BED of elements).",
    )
    tf_sites: dict[str, FileEntry] = Field(
        default_factory=dict,
        description="{<cell>: <BED>} TF sites per cell type; every <cell> must be a cell of the "
        "data set (library sheet cell column; simulated: the simulator's cells). A task "
        "<cell>_<promoter> uses the BED of the longest cell name it starts with.",
    )
    tss: FileEntry | None = Field(None, description="Optional TSS BED (with strand).")
    sharpr_scores: FileEntry | None = Field(
        None, description="Optional Sharpr per-base scores (region ID then one value per base)."
    )
    simulate: TiledSimulation = Field(
        default_factory=TiledSimulation, description="Simulator settings (source simulate)."
    )


# ----------------------------------------------------------------------------- IGVF data sets


class IGVFSettings(Settings):
    """Element and variant activity from IGVF / MPRAsnakeflow barcode counts (docs/igvf.md)."""

    pseudocount: float = Field(
        1.0, gt=0, description="Pseudocount added to RNA and DNA counts before the log2 ratio."
    )
    min_dna: int = Field(
        10,
        ge=0,
        description="An element's replicate is invalid below this many DNA reads (summed over "
        "its barcodes).",
    )
    min_barcodes: int = Field(
        3,
        ge=1,
        description="An element's replicate is invalid with fewer barcodes seen in the DNA.",
    )
    ci_level: float = Field(
        0.95, gt=0, lt=1, description="Level of the confidence intervals of activities and effects."
    )
    fdr: float = Field(
        0.05, gt=0, lt=1, description="FDR level at which an element or variant is significant."
    )
    negative_class: str = Field(
        "element inactive control",
        description="Design class of the negative controls the element test compares against "
        "(none in the design: elements are tested against log2 ratio 0).",
    )
    lengths: Literal["equal", "pad"] = Field(
        "equal",
        description="Sequence models need one length: equal = refuse a design of mixed lengths, "
        "naming an oligo; pad = centre every sequence in N to the longest.",
    )


class IGVFSimulation(Settings):
    """Simulator of an IGVF MPRA library with known truth (effects in log2 units)."""

    design: Literal["elements", "allelic"] = Field(
        "elements",
        description="elements = independent sequences with controls; allelic = ref/alt pairs "
        "with planted variant effects.",
    )
    n_elements: int = Field(
        300, ge=1, description="Test elements (elements) or variants (allelic) to simulate."
    )
    n_negative: int = Field(40, ge=0, description="Negative controls (no planted site).")
    n_positive: int = Field(20, ge=0, description="Positive controls (several strong sites).")
    length: int = Field(200, ge=20, description="Sequence length (bp).")
    length_jitter: int = Field(
        0, ge=0, description="Lengths drawn uniformly in length +- length_jitter (mixed lengths)."
    )
    null_fraction: float = Field(
        0.4,
        ge=0,
        le=1,
        description="Fraction of test elements with no site (true activity = the controls'), or "
        "of variants outside every site (true effect 0).",
    )
    sites_per_element: float = Field(2.0, ge=0, description="Mean sites of a non-null element.")
    n_replicates: int = Field(3, ge=1, description="Replicates (DNA and RNA per replicate).")
    barcodes: int = Field(15, ge=1, description="Barcodes per oligo.")
    dna_depth: float = Field(30.0, gt=0, description="Mean DNA reads per barcode.")
    rna_depth: float = Field(30.0, gt=0, description="Mean RNA reads per barcode at activity 0.")
    dispersion: float = Field(10.0, gt=0, description="Gamma-Poisson shape of the reads.")
    barcode_sd: float = Field(0.3, ge=0, description="SD of barcode-specific effects (log2).")
    replicate_sd: float = Field(0.1, ge=0, description="SD of element x replicate noise (log2).")
    seed: int = Field(0, description="Simulator seed.")

    @model_validator(mode="after")
    def _lengths(self) -> IGVFSimulation:
        if self.length_jitter >= self.length // 2:
            raise ValueError("length_jitter must be below half the length")
        return self


class IGVFExperiment(Settings):
    """One experiment (a cell type or condition = one model task) of an IGVF data set."""

    counts: FileEntry = Field(
        description="reporter_experiment_barcode TSV (barcode, oligo_name, dna_count_<rep>, "
        "rna_count_<rep>); replicates are its count columns."
    )


class IGVFDataset(Settings):
    """An IGVF / MPRAsnakeflow data set: a design, barcode counts per experiment, or simulated."""

    format: Literal["igvf"] = Field(description="Kind of data set (igvf).")
    source: Literal["files", "simulate"] = Field(
        "files", description="files = the paths below; simulate = written to resources/<name>/."
    )
    design: FileEntry | None = Field(None, description="reporter_sequence_design TSV.")
    mapping: FileEntry | None = Field(
        None,
        description="Optional reporter_barcode_to_element_mapping TSV; checked against the counts.",
    )
    experiments: dict[Name, IGVFExperiment] = Field(
        default_factory=dict,
        description="Experiments by name (the model tasks), each {counts: <file>}.",
    )
    simulate: IGVFSimulation = Field(
        default_factory=IGVFSimulation, description="Simulator settings (source simulate)."
    )

    @model_validator(mode="after")
    def _files(self) -> IGVFDataset:
        if self.source == "files" and (self.design is None or not self.experiments):
            raise ValueError(
                "an igvf data set with source 'files' needs 'design' and 'experiments'"
            )
        return self


def _dataset_kind(value: Any) -> str:
    """Tag of a data set: ``igvf`` when it says ``format: igvf``, else ``tiled_mpra``."""
    if isinstance(value, dict):
        return "igvf" if value.get("format") == "igvf" else "tiled_mpra"
    return "igvf" if isinstance(value, IGVFDataset) else "tiled_mpra"


Dataset = Annotated[
    Annotated[TiledDataset, Tag("tiled_mpra")] | Annotated[IGVFDataset, Tag("igvf")],
    Discriminator(_dataset_kind),
]


# ----------------------------------------------------------------------------- the whole config


class Config(Settings):
    """mpralens workflow configuration; every key has a description and a default."""

    seed: int = Field(0, description="Global random seed (splits, model initialisation).")
    datasets: dict[Name, Dataset] = Field(
        default_factory=dict,
        description="Data sets to process, by name (letters, digits, '.', '_', '-'); outputs go "
        "to results/<name>/. A tiled MPRA has `type: tiled_mpra`; an IGVF data set `format: igvf`.",
    )
    normalize: NormalizeSettings = Field(default_factory=NormalizeSettings)
    weights: WeightsSettings = Field(default_factory=WeightsSettings)
    split: SplitSettings = Field(default_factory=SplitSettings)
    models: ModelsSettings = Field(default_factory=ModelsSettings)
    ism: ISMSettings = Field(default_factory=ISMSettings)
    evaluation: EvaluationSettings = Field(default_factory=EvaluationSettings)
    interpret: InterpretSettings = Field(default_factory=InterpretSettings)
    motifs: MotifSettings = Field(default_factory=MotifSettings)
    gia: GIASettings = Field(default_factory=GIASettings)
    biophysics: BiophysicsSettings = Field(default_factory=BiophysicsSettings)
    igvf: IGVFSettings = Field(default_factory=IGVFSettings)


def error_message(exc: ValidationError, *, prefix: str = "") -> InputError:
    """One :class:`InputError` for the first error of ``exc``, naming its dotted key.

    An unknown key names the keys allowed there; a bad choice names the allowed values.
    """
    err = exc.errors()[0]
    raw = [str(p) for p in err["loc"]]
    loc = [p for p in raw if not _is_union_tag(p)]
    key = ".".join(([prefix] if prefix else []) + loc)
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        model = _model_at(exc.title, raw[:-1])
        allowed = ", ".join(model.model_fields) if model else "see config/README.md"
        msg = f"unknown key {loc[-1]!r}; allowed here: {allowed}"
    elif err["type"] == "literal_error":
        msg = f"got {err['input']!r}; {msg[0].lower()}{msg[1:]}"
    elif isinstance(err.get("input"), str | int | float | bool):
        msg = f"{msg}; got {err['input']!r}"
    return InputError(msg, key=key or None)


def _is_union_tag(part: object) -> bool:
    """Tell a location part that names no key: a union member (``str``, ``Download``), ``[key]``."""
    tags = ("str", "int", "[key]", "igvf", "tiled_mpra")
    return isinstance(part, str) and (part in tags or part[:1].isupper())


_MODELS: dict[str, type[BaseModel]] = {}
_TAGGED: dict[str, type[BaseModel]] = {"igvf": IGVFDataset, "tiled_mpra": TiledDataset}


def _model_at(title: str, loc: list[str]) -> type[BaseModel] | None:
    """Return the settings class found by following ``loc`` from the class titled ``title``."""
    if not _MODELS:
        for cls in Settings.__subclasses__():
            _MODELS[cls.__name__] = cls
    model: Any = _MODELS.get(title)
    for part in loc:
        if model is None:
            return None
        if part in _TAGGED:  # a tagged union member: the data set's kind
            model = _TAGGED[part]
            continue
        field = model.model_fields.get(part)
        if field is None:  # a dict key (a data set's name): the value type is the next level
            continue
        model = _settings_type(field.annotation)
    return model


def _settings_type(annotation: Any) -> type[BaseModel] | None:
    """Return the settings class inside ``annotation`` (``X``, ``dict[str, X]``, ``X | None``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _settings_type(arg)
        if found is not None:
            return found
    return None


def validate_config(config: dict[str, Any]) -> Config:
    """Validate the workflow config; a bad key or value is one :class:`InputError` naming it."""
    try:
        return Config.model_validate(config)
    except ValidationError as exc:
        raise error_message(exc) from None


def build(cls: type[Settings], values: dict[str, Any], *, key: str | None = None) -> Any:
    """Build settings ``cls`` from ``values``; a bad value is one InputError under ``key``."""
    try:
        return cls.model_validate(values)
    except ValidationError as exc:
        raise error_message(exc, prefix=key or "") from None
