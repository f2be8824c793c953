# Downloads, checked against SHA-256 before use: data-set files given as {url, sha256, gunzip}
# (shared by every data set naming the same URL), and count files a library sheet gives as URLs.


rule download:
    output:
        "resources/downloads/{digest}/{file}",
    params:
        flags=download_flags,
    log:
        "logs/downloads/{digest}_{file}.log",
    benchmark:
        "benchmarks/downloads/{digest}_{file}.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=240,
    conda:
        ENV_BASE
    shell:
        "mpralens fetch {params.flags} --out {output:q} > {log:q} 2>&1"


rule download_counts:
    output:
        "resources/{ds}/downloads/counts/{file}",
    params:
        flags=count_download_flags,
    log:
        "logs/{ds}/download_counts_{file}.log",
    benchmark:
        "benchmarks/{ds}/download_counts_{file}.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=60,
    conda:
        ENV_BASE
    shell:
        "mpralens fetch {params.flags} --out {output:q} > {log:q} 2>&1"
