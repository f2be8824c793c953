# Downloads of data-set files configured as {url, sha256, gunzip}, checked before use.


rule download:
    output:
        "resources/{ds}/downloads/{entry}/{file}",
    params:
        flags=download_flags,
    log:
        "logs/{ds}/download_{entry}_{file}.log",
    benchmark:
        "benchmarks/{ds}/download_{entry}_{file}.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=240,
    conda:
        ENV
    shell:
        "mpralens fetch {params.flags} --out {output} > {log} 2>&1"
