# ISM maps against conservation, TF sites, Sharpr (or true) scores and TSS distance: Figs 7-9.


rule evaluate_ism:
    input:
        unpack(get_evaluate_inputs),
    output:
        summary="results/{ds}/evaluation/ism_{ism_model}/summary.json",
        curves="results/{ds}/evaluation/ism_{ism_model}/quantile_curves.tsv.gz",
        fig7=report(
            "results/{ds}/evaluation/ism_{ism_model}/fig7_sharpr.png",
            caption="../report/fig7.rst",
            category="Evaluation",
            subcategory="{ds} {ism_model}",
        ),
        fig8=report(
            "results/{ds}/evaluation/ism_{ism_model}/fig8_quantiles.png",
            caption="../report/fig8.rst",
            category="Evaluation",
            subcategory="{ds} {ism_model}",
        ),
        fig9_tf=report(
            "results/{ds}/evaluation/ism_{ism_model}/fig9_tf_by_cell.png",
            caption="../report/fig9_tf.rst",
            category="Evaluation",
            subcategory="{ds} {ism_model}",
        ),
        fig9_tss=report(
            "results/{ds}/evaluation/ism_{ism_model}/fig9_tss_distance.png",
            caption="../report/fig9_tss.rst",
            category="Evaluation",
            subcategory="{ds} {ism_model}",
        ),
    params:
        args=lambda w, input: wf.evaluate_args(CONFIG, w.ds, input),
        settings=settings(CONFIG["evaluation"], seeded=True),
    log:
        "logs/{ds}/evaluate_ism_{ism_model}.log",
    benchmark:
        "benchmarks/{ds}/evaluate_ism_{ism_model}.tsv"
    threads: 1
    resources:
        mem_mb=scaled(1000, 100),
        runtime=scaled(5, 1),
    conda:
        ENV_BASE
    shell:
        "mpralens evaluate-ism --scores {input.scores:q} {params.args} "
        "--settings {params.settings:q} "
        "--outdir results/{wildcards.ds}/evaluation/ism_{wildcards.ism_model} > {log:q} 2>&1"
