# Synthetic data sets, written in the real input layouts with their ground truth.


rule simulate_tiled:
    output:
        sequences="resources/{ds}/SimDesign.sequences.txt",
        coords="resources/{ds}/coords_SimDesign_hg19.txt",
        libraries="resources/{ds}/libraries.tsv",
        genome="resources/{ds}/genome.fa",
        conservation="resources/{ds}/conservation.bw",
        tss="resources/{ds}/tss.bed",
        tf_hepg2="resources/{ds}/tf_sites/HepG2.bed",
        tf_k562="resources/{ds}/tf_sites/K562.bed",
        truth_sites="resources/{ds}/truth/sites.tsv",
        truth_tiles="resources/{ds}/truth/tile_activity.parquet",
        truth_bases="resources/{ds}/truth/base_effect.parquet",
        truth_base_sites="resources/{ds}/truth/base_sites.parquet",
        truth_syntax="resources/{ds}/truth/syntax.json",
        truth_factors="resources/{ds}/truth/factors.tsv",
        truth_position="resources/{ds}/truth/position.json",
    params:
        settings=lambda w: settings(CONFIG["datasets"][w.ds]["simulate"]),
    log:
        "logs/{ds}/simulate_tiled.log",
    benchmark:
        "benchmarks/{ds}/simulate_tiled.tsv"
    priority: CRITICAL_PATH
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        ENV_BASE
    shell:
        "mpralens simulate-tiled --outdir resources/{wildcards.ds} "
        "--settings {params.settings:q} > {log:q} 2>&1"
