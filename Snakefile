# mpralens: MPRA counts -> activity -> models -> base-resolution maps.
# This file only loads and validates the config, includes one .smk per stage and defines `all`.
from snakemake.utils import min_version

from mpralens.io.yaml_files import workflow_config
from mpralens.workflow import all_outputs, load_config

min_version("9.0")

DEFAULT_CONFIG = "config/config.yaml"
# Snakemake has read the config files leniently (a repeated key silently drops a block) and the
# nested values of --config as strings; rebuild the config strictly from the same sources, so a
# bad file stops here naming its line and `--config 'models={cnn: {max_epochs: 3}}'` means what
# it would in a config file (config/README.md, "Overriding values on the command line").
CONFIG_FILES = [str(f) for f in workflow.overwrite_configfiles]
if not CONFIG_FILES and not workflow.config_settings.replace_workflow_config:
    CONFIG_FILES = [DEFAULT_CONFIG]
MERGED_CONFIG = workflow_config(CONFIG_FILES, workflow.config_settings.config)
if CONFIG_FILES == [DEFAULT_CONFIG]:

    configfile: DEFAULT_CONFIG  # recorded for the report; replaced below


# The typed settings model (mpralens.config.settings) checks every key and fills every default:
# a typo stops here naming the key and what is allowed.
SETTINGS, CONFIG = load_config(MERGED_CONFIG)
config.clear()
config.update(CONFIG)


include: "workflow/rules/common.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/ism.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/interpret.smk"
include: "workflow/rules/motifs.smk"
include: "workflow/rules/gia.smk"
include: "workflow/rules/biophysics.smk"
include: "workflow/rules/igvf.smk"


rule all:
    input:
        all_outputs(CONFIG),
    default_target: True
