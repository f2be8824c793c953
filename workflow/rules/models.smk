# Sequence models: k-mer baseline, multitask CNN, and their comparison (Paggi et al. Fig 6).


rule train_kmer:
    input:
        unpack(get_model_inputs),
    output:
        model="results/{ds}/models/kmer/model.npz",
        predictions="results/{ds}/models/kmer/predictions.tsv.gz",
        metrics="results/{ds}/models/kmer/metrics.tsv",
        info="results/{ds}/models/kmer/training.json",
    params:
        settings=settings(CONFIG["models"]["kmer"], seeded=True),
    log:
        "logs/{ds}/train_kmer.log",
    benchmark:
        "benchmarks/{ds}/train_kmer.tsv"
    threads: 1
    resources:
        mem_mb=scaled(1000, 100),
        runtime=scaled(5, 2),
    conda:
        ENV_BASE
    shell:
        "mpralens train-kmer --tiles {input.tiles:q} --activity {input.activity:q} "
        "--splits {input.splits:q} --settings {params.settings:q} "
        "--outdir results/{wildcards.ds}/models/kmer > {log:q} 2>&1"


rule train_cnn:
    input:
        unpack(get_model_inputs),
    output:
        model="results/{ds}/models/cnn/model.ckpt",
        predictions="results/{ds}/models/cnn/predictions.tsv.gz",
        metrics="results/{ds}/models/cnn/metrics.tsv",
        info="results/{ds}/models/cnn/training.json",
    params:
        settings=settings(CONFIG["models"]["cnn"], seeded=True),
    log:
        "logs/{ds}/train_cnn.log",
    benchmark:
        "benchmarks/{ds}/train_cnn.tsv"
    priority: CRITICAL_PATH
    threads: training_threads()
    resources:
        mem_mb=scaled(2000, 100),
        runtime=scaled(
            10, 0.25 * CONFIG["models"]["cnn"]["max_epochs"] * CONFIG["models"]["cnn"]["ensemble"]
        ),
        gpu=0,  # profiles/gpu sets 1 (or N for data-parallel training on N GPUs)
    conda:
        ENV_TORCH
    shell:
        "OMP_NUM_THREADS={threads} mpralens train-cnn --tiles {input.tiles:q} "
        "--activity {input.activity:q} --splits {input.splits:q} --settings {params.settings:q} "
        "--gpus {resources.gpu} "
        "--dataset {wildcards.ds} --outdir results/{wildcards.ds}/models/cnn > {log:q} 2>&1"


rule compare_models:
    input:
        unpack(get_compare_inputs),
    output:
        table="results/{ds}/evaluation/models.tsv",
        figure=report(
            "results/{ds}/evaluation/models.png",
            caption="../report/models.rst",
            category="Models",
            subcategory="{ds}",
        ),
        scatter=report(
            "results/{ds}/evaluation/models_scatter.png",
            caption="../report/models_scatter.rst",
            category="Models",
            subcategory="{ds}",
        ),
    params:
        truth=lambda w, input: wf.optional_args(input, truth="--truth"),
    log:
        "logs/{ds}/compare_models.log",
    benchmark:
        "benchmarks/{ds}/compare_models.tsv"
    threads: 1
    resources:
        mem_mb=scaled(1000, 100),
        runtime=scaled(5, 0.5),
    conda:
        ENV_BASE
    shell:
        "mpralens compare-models --predictions kmer={input.kmer:q} cnn={input.cnn:q} "
        "--info kmer={input.kmer_info:q} cnn={input.cnn_info:q} --activity {input.activity:q} "
        "{params.truth} --out-tsv {output.table:q} --out-figure {output.figure:q} "
        "--out-scatter {output.scatter:q} > {log:q} 2>&1"
