# IGVF / MPRAsnakeflow data sets: design + barcode counts per experiment -> activity, element and
# variant tests (IGVF result formats) -> the tiles and activity tables the models train on ->
# allele scoring. Splits and models are the shared rules of data.smk and models.smk.


rule simulate_igvf:
    output:
        design="resources/{ds}/design.tsv",
        counts="resources/{ds}/sim.barcodes.tsv.gz",
        mapping="resources/{ds}/mapping.tsv.gz",
        truth="resources/{ds}/truth/elements.tsv",
    wildcard_constraints:
        ds=datasets_pattern(IGVF_SIMULATED),
    params:
        settings=lambda w: settings(CONFIG["datasets"][w.ds]["simulate"]),
    log:
        "logs/{ds}/simulate_igvf.log",
    benchmark:
        "benchmarks/{ds}/simulate_igvf.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        ENV_BASE
    shell:
        "mpralens simulate-igvf --outdir resources/{wildcards.ds} "
        "--settings {params.settings:q} > {log:q} 2>&1"


rule import_igvf:
    input:
        unpack(get_igvf_import_inputs),
    output:
        tiles="results/{ds}/tiles.tsv.gz",
        activity="results/{ds}/activity.tsv.gz",
        igvf=directory("results/{ds}/igvf"),
    wildcard_constraints:
        ds=datasets_pattern(IGVF_DATASETS),
    params:
        settings=settings(CONFIG["igvf"]),
        args=lambda w: wf.igvf_import_args(CONFIG, w.ds),
    log:
        "logs/{ds}/import_igvf.log",
    benchmark:
        "benchmarks/{ds}/import_igvf.tsv"
    threads: 1
    resources:
        mem_mb=scaled(1000, 40),
        runtime=scaled(5, 0.2),
    conda:
        ENV_BASE
    shell:
        "mpralens import-igvf --design {input.design:q} {params.args} "
        "--settings {params.settings:q} --out-tiles {output.tiles:q} "
        "--out-activity {output.activity:q} --outdir {output.igvf:q} > {log:q} 2>&1"


rule igvf_qc:
    input:
        counts=get_igvf_counts,
        design=lambda w: wf.igvf_paths(CONFIG, w.ds)["design"],
    output:
        qc_json="results/{ds}/qc/{exp}/qc.json",
        figure=report(
            "results/{ds}/qc/{exp}/qc.png",
            caption="../report/igvf_qc.rst",
            category="QC",
            subcategory="{ds}",
        ),
    wildcard_constraints:
        ds=datasets_pattern(IGVF_DATASETS),
    params:
        settings=settings(CONFIG["igvf"]),
    log:
        "logs/{ds}/igvf_qc_{exp}.log",
    benchmark:
        "benchmarks/{ds}/igvf_qc_{exp}.tsv"
    threads: 1
    resources:
        mem_mb=scaled(1000, 40),
        runtime=scaled(5, 0.2),
    conda:
        ENV_BASE
    shell:
        "mpralens igvf-qc {input.counts:q} --design {input.design:q} "
        "--settings {params.settings:q} --out results/{wildcards.ds}/qc/{wildcards.exp} "
        "> {log:q} 2>&1"


rule score_alleles:
    input:
        igvf="results/{ds}/igvf",
        tiles="results/{ds}/tiles.tsv.gz",
        splits="results/{ds}/splits.tsv",
        kmer="results/{ds}/models/kmer/model.npz",
        cnn="results/{ds}/models/cnn/model.ckpt",
    output:
        summary="results/{ds}/alleles/summary.tsv",
        figure=report(
            "results/{ds}/alleles/alleles.png",
            caption="../report/alleles.rst",
            category="Alleles",
            subcategory="{ds}",
        ),
    wildcard_constraints:
        ds=datasets_pattern(IGVF_DATASETS),
    params:
        args=lambda w: wf.score_alleles_args(CONFIG, w.ds),
    log:
        "logs/{ds}/score_alleles.log",
    benchmark:
        "benchmarks/{ds}/score_alleles.tsv"
    threads: 1
    resources:
        mem_mb=scaled(2000, 100),
        runtime=scaled(5, 0.5),
    conda:
        ENV_TORCH
    shell:
        "mpralens score-alleles {params.args} --tiles {input.tiles:q} --splits {input.splits:q} "
        "--outdir results/{wildcards.ds}/alleles > {log:q} 2>&1"
