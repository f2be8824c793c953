# Biophysical models of sort-seq data: simulate (optional) and fit, per [dataset, model] pair.


rule simulate_sortseq:
    output:
        data="resources/{bds}/sortseq_data.csv.gz",
        truth="resources/{bds}/truth.json",
    params:
        settings=lambda w: settings(BIO["datasets"][w.bds]["simulate"]),
    log:
        "logs/biophysics/{bds}/simulate_sortseq.log",
    benchmark:
        "benchmarks/biophysics/{bds}/simulate_sortseq.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    conda:
        ENV_TORCH
    shell:
        "mpralens simulate-sortseq --outdir resources/{wildcards.bds} "
        "--settings {params.settings:q} > {log:q} 2>&1"


rule fit_biophysical:
    input:
        data=lambda w: wf.sortseq_data(CONFIG, w.bds),
        spec=lambda w: BIO["models"][w.model],
    output:
        params="results/biophysics/{bds}/{model}/params.json",
        info="results/biophysics/{bds}/{model}/info.json",
        logos=report(
            "results/biophysics/{bds}/{model}/logos.png",
            caption="../report/logos.rst",
            category="Biophysics",
            subcategory="{bds} {model}",
        ),
        curve=report(
            "results/biophysics/{bds}/{model}/training_curve.png",
            caption="../report/training_curve.rst",
            category="Biophysics",
            subcategory="{bds} {model}",
        ),
    params:
        settings=settings(BIO["fit"]),
    log:
        "logs/biophysics/{bds}/{model}.log",
    benchmark:
        "benchmarks/biophysics/{bds}/{model}.tsv"
    # One thread per fit (a second made a fit no faster, docs/benchmarks.md); fit.workers fits
    # (restarts, the interval's two sides) run side by side.
    threads: BIO["fit"]["workers"]
    resources:
        mem_mb=scaled(2000, 500),
        runtime=biophysics_fit_runtime,
    conda:
        ENV_TORCH
    shell:
        "OMP_NUM_THREADS={threads} mpralens fit-biophysical --data {input.data:q} "
        "--model-spec {input.spec:q} --name {wildcards.model} "
        "--settings {params.settings:q} "
        "--outdir results/biophysics/{wildcards.bds}/{wildcards.model} > {log:q} 2>&1"
