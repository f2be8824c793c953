# Tiled in-silico mutagenesis (Paggi et al. 4.3.1): per-base scores, bigWig tracks, figure.


rule ism:
    input:
        unpack(get_ism_inputs),
    output:
        scores="results/{ds}/ism/{ism_model}/scores.tsv.gz",
        tracks=directory("results/{ds}/ism/{ism_model}/tracks"),
        figure=report(
            "results/{ds}/ism/{ism_model}/top_regions.png",
            caption="../report/ism.rst",
            category="ISM",
            subcategory="{ds}",
        ),
    params:
        flags=ism_flags,
    log:
        "logs/{ds}/ism_{ism_model}.log",
    benchmark:
        "benchmarks/{ds}/ism_{ism_model}.tsv"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=120,
    conda:
        ENV
    shell:
        "OMP_NUM_THREADS={threads} mpralens ism --model {input.model} --tiles {input.tiles} "
        "{params.flags} --out-tsv {output.scores} --out-tracks {output.tracks} "
        "--out-figure {output.figure} > {log} 2>&1"
