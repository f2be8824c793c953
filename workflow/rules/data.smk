# Counts -> activity: import, normalise (+ QC), replicate weights, splits.


rule import_counts:
    input:
        unpack(get_import_inputs),
    output:
        counts="results/{ds}/counts.parquet",
        tiles="results/{ds}/tiles.tsv.gz",
    wildcard_constraints:
        ds=datasets_pattern(SUMMED_DATASETS),
    params:
        args=lambda w, input, output: wf.import_args(CONFIG, w.ds, input, output),
    log:
        "logs/{ds}/import_counts.log",
    benchmark:
        "benchmarks/{ds}/import_counts.tsv"
    priority: CRITICAL_PATH
    threads: 1
    resources:
        mem_mb=scaled(1000, 40),
        runtime=scaled(5, 0.2),
    conda:
        ENV_BASE
    shell:
        "mpralens import-counts --libraries {input.libraries:q} "
        "{params.args} --out-counts {output.counts:q} --out-tiles {output.tiles:q} > {log:q} 2>&1"


# Data sets with `barcodes: keep` also write the per-barcode table (normalize.method per_barcode).
use rule import_counts as import_counts_barcodes with:
    output:
        counts="results/{ds}/counts.parquet",
        tiles="results/{ds}/tiles.tsv.gz",
        barcodes="results/{ds}/barcode_counts.parquet",
    wildcard_constraints:
        ds=datasets_pattern(BARCODE_DATASETS),


rule normalize:
    wildcard_constraints:
        ds=datasets_pattern(DATASETS),
    input:
        counts="results/{ds}/counts.parquet",
        tiles="results/{ds}/tiles.tsv.gz",
        libraries=lambda w: wf.dataset_paths(CONFIG, w.ds)["libraries"],
        barcodes=get_barcode_counts,
    output:
        log_ratios="results/{ds}/log_ratios.parquet",
        qc_json="results/{ds}/qc/qc.json",
        replicates=report(
            "results/{ds}/qc/replicates.png",
            caption="../report/replicates.rst",
            category="QC",
            subcategory="{ds}",
        ),
        counts_png=report(
            "results/{ds}/qc/counts.png",
            caption="../report/counts.rst",
            category="QC",
            subcategory="{ds}",
        ),
    params:
        settings=settings(CONFIG["normalize"]),
        barcodes=lambda w, input: wf.optional_args(input, barcodes="--barcodes"),
    log:
        "logs/{ds}/normalize.log",
    benchmark:
        "benchmarks/{ds}/normalize.tsv"
    priority: CRITICAL_PATH
    threads: 1
    resources:
        mem_mb=scaled(1000, 100),
        runtime=scaled(5, 0.5),
    conda:
        ENV_BASE
    shell:
        "mpralens normalize --counts {input.counts:q} --tiles {input.tiles:q} "
        "--libraries {input.libraries:q} {params.barcodes} --settings {params.settings:q} "
        "--out {output.log_ratios:q} "
        "--qc-dir results/{wildcards.ds}/qc > {log:q} 2>&1"


rule weights:
    wildcard_constraints:
        ds=datasets_pattern(DATASETS),
    input:
        log_ratios="results/{ds}/log_ratios.parquet",
    output:
        activity="results/{ds}/activity.tsv.gz",
    params:
        settings=settings(CONFIG["weights"]),
    log:
        "logs/{ds}/weights.log",
    benchmark:
        "benchmarks/{ds}/weights.tsv"
    priority: CRITICAL_PATH
    threads: 1
    resources:
        mem_mb=scaled(1000, 100),
        runtime=scaled(5, 0.5),
    conda:
        ENV_BASE
    shell:
        "mpralens weights --log-ratios {input.log_ratios:q} --settings {params.settings:q} "
        "--out {output.activity:q} > {log:q} 2>&1"


rule split:
    input:
        tiles="results/{ds}/tiles.tsv.gz",
    output:
        splits="results/{ds}/splits.tsv",
    params:
        settings=settings(CONFIG["split"], seeded=True),
    log:
        "logs/{ds}/split.log",
    benchmark:
        "benchmarks/{ds}/split.tsv"
    priority: CRITICAL_PATH
    threads: 1
    resources:
        mem_mb=scaled(500, 50),
        runtime=scaled(5, 0.1),
    conda:
        ENV_BASE
    shell:
        "mpralens split --tiles {input.tiles:q} --settings {params.settings:q} "
        "--out {output.splits:q} "
        "> {log:q} 2>&1"


# Downloads, checked against SHA-256 before use: data-set files given as {url, sha256, gunzip}
# (shared by every data set naming the same URL), and count files a library sheet gives as URLs.


rule fetch:
    output:
        "resources/downloads/{digest}/{file}",
    params:
        args=lambda w: wf.download_args(CONFIG, w.digest),
    log:
        "logs/downloads/{digest}_{file}.log",
    benchmark:
        "benchmarks/downloads/{digest}_{file}.tsv"
    priority: CRITICAL_PATH
    threads: 1
    resources:
        mem_mb=500,
        runtime=240,
    conda:
        ENV_BASE
    shell:
        "mpralens fetch {params.args} --out {output:q} > {log:q} 2>&1"


rule fetch_counts:
    output:
        "resources/{ds}/downloads/counts/{file}",
    params:
        args=lambda w: wf.count_download_args(CONFIG, w.ds, w.file),
    log:
        "logs/{ds}/download_counts_{file}.log",
    benchmark:
        "benchmarks/{ds}/download_counts_{file}.tsv"
    priority: CRITICAL_PATH
    threads: 1
    resources:
        mem_mb=500,
        runtime=60,
    conda:
        ENV_BASE
    shell:
        "mpralens fetch {params.args} --out {output:q} > {log:q} 2>&1"
