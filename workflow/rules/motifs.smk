# What the models learned, as motifs matched to JASPAR 2024 CORE vertebrates (motifs.enabled):
# first-layer filters of the CNN (Koo & Ploenzke's alignment) and TF-MoDISco patterns of the
# attribution maps; docs/interpret.md.


rule filters:
    input:
        unpack(lambda w: wf.filters_inputs(CONFIG, w.ds, w.ism_model)),
    output:
        table="results/{ds}/interpret/{ism_model}/filters.tsv",
        meme="results/{ds}/interpret/{ism_model}/filters.meme",
        matches="results/{ds}/interpret/{ism_model}/filter_matches.tsv",
        figure=report(
            "results/{ds}/interpret/{ism_model}/filters.png",
            caption="../report/filters.rst",
            category="Motifs",
            subcategory="{ds} {ism_model}",
        ),
    params:
        settings=wf.settings_json(CONFIG["motifs"]),
    log:
        "logs/{ds}/filters_{ism_model}.log",
    benchmark:
        "benchmarks/{ds}/filters_{ism_model}.tsv"
    threads: 1
    resources:
        mem_mb=scaled(2000, 100, only="tiles"),
        runtime=scaled(10, 2, only="tiles"),
    conda:
        ENV_TORCH
    shell:
        "OMP_NUM_THREADS={threads} NUMBA_NUM_THREADS={threads} mpralens filters "
        "--model {input.model:q} --tiles {input.tiles:q} --splits {input.splits:q} "
        "--settings {params.settings:q} --out-tsv {output.table:q} --out-meme {output.meme:q} "
        "--out-matches {output.matches:q} --out-figure {output.figure:q} > {log:q} 2>&1"


rule patterns:
    input:
        unpack(lambda w: wf.patterns_inputs(CONFIG, w.ds, w.ism_model)),
    output:
        table="results/{ds}/interpret/{ism_model}/patterns.tsv",
        meme="results/{ds}/interpret/{ism_model}/patterns.meme",
        figure=report(
            "results/{ds}/interpret/{ism_model}/patterns.png",
            caption="../report/patterns.rst",
            category="Motifs",
            subcategory="{ds} {ism_model}",
        ),
    params:
        args=lambda w, input: wf.patterns_args(CONFIG, w.ds, w.ism_model, input),
        settings=wf.settings_json(CONFIG["motifs"]),
    log:
        "logs/{ds}/patterns_{ism_model}.log",
    benchmark:
        "benchmarks/{ds}/patterns_{ism_model}.tsv"
    threads: 1
    resources:
        mem_mb=scaled(2000, 50),
        runtime=scaled(10, 2),
    conda:
        ENV_TORCH
    shell:
        "OMP_NUM_THREADS={threads} NUMBA_NUM_THREADS={threads} mpralens patterns {params.args} "
        "--tiles {input.tiles:q} --splits {input.splits:q} --settings {params.settings:q} "
        "--out-tsv {output.table:q} --out-meme {output.meme:q} --out-figure {output.figure:q} "
        "> {log:q} 2>&1"
