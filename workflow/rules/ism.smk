# Tiled in-silico mutagenesis (Paggi et al. 4.3.1): per-base scores, bigWig tracks, figure.
# Regions are scored in `ism.chunks` contiguous shards (one job each, so a cluster runs them in
# parallel), then merged; with one chunk a laptop scores everything in one pass.

# Minutes per MB of tiles.tsv.gz and chunk: the demo (800 regions, 0.46 MB) takes 0.14 s per
# region with fast ISM on 2 threads, ~4 min/MB, and 1.4x that on the one thread a chunk gets;
# 2x headroom. Plain ISM is 16-24x slower.
ISM_MIN_PER_MB = 12 if ISM["method"] == "fast" else 300


rule ism_chunk:
    input:
        unpack(get_ism_inputs),
    output:
        scores=temp("results/{ds}/ism/{ism_model}/chunks/{chunk}.tsv.gz"),
    params:
        args=lambda w, input: wf.optional_args(input, genome="--genome"),
        settings=settings(ISM),
    log:
        "logs/{ds}/ism_{ism_model}_chunk{chunk}.log",
    benchmark:
        "benchmarks/{ds}/ism_{ism_model}_chunk{chunk}.tsv"
    threads: 1
    resources:
        mem_mb=scaled(2000, 200 / ISM["chunks"], only="tiles"),
        runtime=scaled(10, ISM_MIN_PER_MB / ISM["chunks"], only="tiles"),
    conda:
        ENV_TORCH
    shell:
        "OMP_NUM_THREADS={threads} mpralens ism-chunk --model {input.model:q} "
        "--tiles {input.tiles:q} --splits {input.splits:q} {params.args} "
        "--chunk {wildcards.chunk} --settings {params.settings:q} "
        "--out-tsv {output.scores:q} > {log:q} 2>&1"


rule ism_merge:
    input:
        unpack(get_ism_merge_inputs),
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
        args=lambda w, input: wf.optional_args(input, genome="--genome", sites="--sites"),
        settings=settings(ISM),
    log:
        "logs/{ds}/ism_{ism_model}.log",
    benchmark:
        "benchmarks/{ds}/ism_{ism_model}.tsv"
    threads: 1
    resources:
        mem_mb=scaled(1000, 100),
        runtime=scaled(5, 1),
    conda:
        ENV_BASE
    shell:
        "mpralens ism-merge --scores {input.chunks:q} {params.args} --settings {params.settings:q} "
        "--out-tsv {output.scores:q} "
        "--out-tracks {output.tracks:q} --out-figure {output.figure:q} > {log:q} 2>&1"
