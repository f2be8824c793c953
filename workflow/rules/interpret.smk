# Attribution maps of the trained models (interpret.methods), graded against the planted sites of
# simulated data sets (Koo & Ploenzke 2021's protocol): docs/interpret.md.

# Minutes per MB of tiles.tsv.gz: DeepSHAP, the dearest method, took 2 s per test region of the
# demo on 2 threads (174 test regions per MB at its 10% test fraction: 6 min/MB), about 1.7x
# that on the one thread a job gets; 1.5x headroom.
ATTRIBUTE_MIN_PER_MB = 16


rule attribute:
    input:
        unpack(get_attribute_inputs),
    output:
        scores="results/{ds}/interpret/{ism_model}/{method}/scores.tsv.gz",
        timing="results/{ds}/interpret/{ism_model}/{method}/timing.json",
        tracks=directory("results/{ds}/interpret/{ism_model}/{method}/tracks"),
        figure=report(
            "results/{ds}/interpret/{ism_model}/{method}/top_regions.png",
            caption="../report/attribution_logos.rst",
            category="Attribution",
            subcategory="{ds} {ism_model}",
        ),
    params:
        args=lambda w, input: wf.optional_args(input, genome="--genome", sites="--sites"),
        settings=wf.settings_json(wf.attribute_settings(CONFIG)),
    log:
        "logs/{ds}/attribute_{ism_model}_{method}.log",
    benchmark:
        "benchmarks/{ds}/attribute_{ism_model}_{method}.tsv"
    priority: lambda w: ATTRIBUTE_PRIORITY.get(w.method, 0)
    threads: 1
    resources:
        mem_mb=scaled(2000, 200, only="tiles"),
        runtime=scaled(10, ATTRIBUTE_MIN_PER_MB, only="tiles"),
    conda:
        ENV_TORCH
    shell:
        "OMP_NUM_THREADS={threads} mpralens attribute --model {input.model:q} "
        "--method {wildcards.method} --tiles {input.tiles:q} --splits {input.splits:q} "
        "{params.args} --settings {params.settings:q} --out-tsv {output.scores:q} "
        "--out-timing {output.timing:q} --out-tracks {output.tracks:q} "
        "--out-figure {output.figure:q} > {log:q} 2>&1"


rule grade_attribution:
    input:
        unpack(get_grade_attribution_inputs),
    output:
        grading="results/{ds}/interpret/{ism_model}/attribution_grading.tsv",
        figure=report(
            "results/{ds}/interpret/{ism_model}/attribution_curves.png",
            caption="../report/attribution_grading.rst",
            category="Attribution",
            subcategory="{ds} {ism_model}",
        ),
    params:
        args=lambda w, input: wf.grade_attribution_args(CONFIG, input),
        settings=wf.settings_json(wf.attribute_settings(CONFIG)),
    log:
        "logs/{ds}/grade_attribution_{ism_model}.log",
    benchmark:
        "benchmarks/{ds}/grade_attribution_{ism_model}.tsv"
    threads: 1
    resources:
        mem_mb=scaled(1000, 100),
        runtime=scaled(5, 1),
    conda:
        ENV_BASE
    shell:
        "mpralens grade-attribution {params.args} --sites {input.sites:q} "
        "--settings {params.settings:q} --out-tsv {output.grading:q} "
        "--out-figure {output.figure:q} > {log:q} 2>&1"
