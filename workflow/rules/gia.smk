# Global importance analysis of the trained models (Koo et al. 2021) and, on simulated data sets,
# what the interpretation outputs recover of the planted truth: docs/interpret.md.


rule gia:
    input:
        unpack(lambda w: wf.gia_inputs(CONFIG, w.ds, w.ism_model)),
    output:
        table="results/{ds}/interpret/{ism_model}/gia.tsv",
        null="results/{ds}/interpret/{ism_model}/gia_null.tsv",
        figures=[
            report(
                f"results/{{ds}}/interpret/{{ism_model}}/gia_{a}.png",
                caption="../report/gia.rst",
                category="Global importance analysis",
                subcategory="{ds} {ism_model}",
            )
            for a in CONFIG["gia"]["analyses"]
        ],
    params:
        args=lambda w, input: wf.gia_args(CONFIG, w.ds, w.ism_model, input),
        settings=settings(CONFIG["gia"], seeded=True),
    log:
        "logs/{ds}/gia_{ism_model}.log",
    benchmark:
        "benchmarks/{ds}/gia_{ism_model}.tsv"
    priority: GIA_PRIORITY
    threads: 1
    resources:
        mem_mb=scaled(2000, 50, only="tiles"),
        runtime=scaled(10, 1, only="tiles"),
    conda:
        ENV_TORCH
    shell:
        "OMP_NUM_THREADS={threads} mpralens gia --model {input.model:q} "
        "--tiles {input.tiles:q} --splits {input.splits:q} {params.args} "
        "--settings {params.settings:q} --out-tsv {output.table:q} --out-null {output.null:q} "
        "> {log:q} 2>&1"


rule truth_recovery:
    input:
        unpack(lambda w: wf.truth_recovery_inputs(CONFIG, w.ds, w.ism_model)),
    output:
        "results/{ds}/interpret/{ism_model}/truth_recovery.tsv",
    params:
        args=lambda w, input: wf.optional_args(
            input, gia="--gia", filters="--filters", patterns="--patterns"
        ),
        truth=lambda w, input: str(Path(input.factors).parent),
    log:
        "logs/{ds}/truth_recovery_{ism_model}.log",
    benchmark:
        "benchmarks/{ds}/truth_recovery_{ism_model}.tsv"
    threads: 1
    resources:
        mem_mb=scaled(1000, 10),
        runtime=scaled(5, 1),
    conda:
        ENV_BASE
    shell:
        "mpralens truth-recovery --truth {params.truth:q} {params.args} "
        "--out-tsv {output:q} > {log:q} 2>&1"
