# mpralens: MPRA counts -> activity -> models -> base-resolution maps.
# This file only loads and validates the config, includes one .smk per stage and defines `all`.
from snakemake.utils import min_version, validate

min_version("9.0")


if not config:

    configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/counts.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/ism.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/biophysics.smk"


rule all:
    input:
        all_outputs(),
    default_target: True
