"""The typed settings model: defaults, errors naming keys, generated options and docs."""

import re
from pathlib import Path

import pytest

from mpralens.cli import build_parser, main
from mpralens.cli._args import _COMMANDS, settings_from_args
from mpralens.config import reference
from mpralens.config.settings import Config, Settings, TiledSimulation, validate_config
from mpralens.io.errors import InputError
from tests.conftest import REPO


def error_of(config):
    with pytest.raises(InputError) as info:
        validate_config(config)
    return info.value


def test_empty_config_gets_every_default():
    c = validate_config({})
    assert c.normalize.min_dna == 20 and c.normalize.pseudocount == 1.0
    assert c.models.cnn.arch == "paggi" and c.models.cnn.max_epochs == 30
    assert c.ism.models == ["cnn"] and c.ism.max_regions is None
    assert c.biophysics.fit.interaction_grid == [-1.0, -2.0, -3.0, -4.0, -5.0, -6.0, -7.0]


def test_unknown_key_names_the_key_and_the_keys_allowed_there():
    err = error_of({"normalize": {"pseudocont": 1}})
    assert err.key == "normalize.pseudocont"
    assert "unknown key 'pseudocont'; allowed here: pseudocount, min_dna, method" in str(err)


def test_unknown_key_inside_a_named_data_set():
    err = error_of({"datasets": {"d": {"type": "tiled_mpra", "tile_stepp": 5}}})
    assert err.key == "datasets.d.tile_stepp"
    assert "allowed here:" in str(err) and "tile_step" in str(err)


def test_bad_choice_names_the_allowed_values():
    err = error_of({"models": {"cnn": {"arch": "pagi"}}})
    assert err.key == "models.cnn.arch"
    assert "'pagi'" in str(err) and "'paggi'" in str(err) and "'residual'" in str(err)


@pytest.mark.parametrize(
    ("config", "key", "words"),
    [
        ({"split": {"valid_fraction": 1.5}}, "split.valid_fraction", "less than or equal to 1"),
        ({"normalize": {"pseudocount": 0}}, "normalize.pseudocount", "greater than 0"),
        ({"ism": {"models": ["cnn", "cnn"]}}, "ism.models", "listed twice"),
        ({"datasets": {"d": {}}}, "datasets.d.type", "Field required"),
        ({"datasets": {"bad name": {"type": "tiled_mpra"}}}, "datasets.bad name", "pattern"),
        ({"models": {"cnn": {"devices": "two"}}}, "models.cnn.devices", "auto' or a number"),
    ],
)
def test_bad_values_name_their_key(config, key, words):
    err = error_of(config)
    assert err.key == key and words in str(err)


def test_simulator_geometry_is_checked():
    with pytest.raises(ValueError, match="multiple of tile_step"):
        TiledSimulation(region_length=296)
    err = error_of(
        {"datasets": {"s": {"type": "tiled_mpra", "simulate": {"replicates": {"HeLa": 2}}}}}
    )
    assert err.key == "datasets.s.simulate" and "HeLa" in str(err)


def all_settings_classes():
    todo, seen = list(Settings.__subclasses__()), []
    while todo:
        cls = todo.pop()
        seen.append(cls)
        todo += cls.__subclasses__()
    return seen


@pytest.mark.parametrize("cls", all_settings_classes(), ids=lambda c: c.__name__)
def test_every_key_has_a_description(cls):
    for name, field in cls.model_fields.items():
        if Settings in getattr(field.annotation, "__mro__", ()):
            continue  # a section: documented by its own table
        assert field.description, f"{cls.__name__}.{name} has no description"


def test_config_readme_tables_are_generated_from_the_model():
    readme = REPO / "config" / "README.md"
    text = readme.read_text()
    assert reference.render(text) == text, "run: python -m mpralens.config.reference"
    # every table of the model is in the README
    assert set(re.findall(r"<!-- keys: ([\w-]+) -->", text)) == set(reference.TABLES)
    assert "| `normalize.min_dna` | `20` |" in text


def test_shipped_configs_validate():
    from mpralens.io.yaml_files import load_yaml

    for path in [REPO / "config" / "config.yaml", REPO / "tests" / "configs" / "tiny.yaml"]:
        assert isinstance(validate_config(load_yaml(path)), Config)


def parse(*argv):
    args = build_parser().parse_args(list(argv))
    return settings_from_args(_COMMANDS[args._command], args)


def test_options_come_from_the_model_and_override_the_json():
    base = ["normalize", "--counts", "c", "--tiles", "t", "--libraries", "l", "--out", "o"]
    s = parse(*base, "--qc-dir", "q")
    assert (s.min_dna, s.pseudocount, s.method) == (20, 1.0, "summed")  # model defaults
    s = parse(*base, "--qc-dir", "q", "--settings", '{"min_dna": 5, "pseudocount": 2}')
    assert (s.min_dna, s.pseudocount) == (5, 2.0)
    s = parse(*base, "--qc-dir", "q", "--settings", '{"min_dna": 5}', "--min-dna", "7")
    assert s.min_dna == 7


def test_list_bool_and_dict_options():
    base = ["train-cnn", "--tiles", "t", "--activity", "a", "--splits", "s", "--outdir", "o"]
    s = parse(*base, "--rc-augment", "--arch-kwargs", '{"filters": 8}', "--devices", "2")
    assert s.rc_augment is True and s.arch_kwargs == {"filters": 8} and s.devices == 2
    s = parse("split", "--tiles", "t", "--out", "o", "--valid-chromosomes", "chr1", "chr2")
    assert s.valid_chromosomes == ["chr1", "chr2"]


def test_help_shows_the_models_default(capsys):
    with pytest.raises(SystemExit):
        main(["weights", "--help"])
    out = capsys.readouterr().out
    assert "--neighbors" in out and "(default: 50)" in out and "--settings JSON" in out


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (
            [
                "ism-merge",
                "--scores",
                "a",
                "--out-tsv",
                "b",
                "--out-tracks",
                "c",
                "--out-figure",
                "d",
                "--top",
                "3",
            ],
            "option --top was replaced by --top-regions",
        ),
        (["simulate-tiled", "--outdir", "x", "--set", "n_regions=3"], "option --set was replaced"),
        (
            ["weights", "--log-ratios", "x", "--out", "y", "--settings", "[1]"],
            "config key 'weights': --settings must be a JSON object",
        ),
        (
            ["weights", "--log-ratios", "x", "--out", "y", "--neighbors", "0"],
            "config key 'weights.neighbors': Input should be greater than or equal to 1",
        ),
    ],
)
def test_command_line_errors_are_one_line(argv, words, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1


def rules_and_commands():
    """(rule, subcommand it runs) for every rule with a shell command."""
    pairs = []
    for smk in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        text = smk.read_text()
        for rule, body in re.findall(r"(?ms)^rule (\w+):\n(.*?)(?=^rule |^use rule |\Z)", text):
            cmd = re.search(r"mpralens ([a-z-]+)", body)
            pairs.append((rule, cmd.group(1) if cmd else None))
    return pairs


def test_every_rule_runs_the_subcommand_of_its_name():
    pairs = rules_and_commands()
    assert len(pairs) >= 14
    for rule, cmd in pairs:
        assert cmd is not None, f"rule {rule} runs no mpralens command"
        assert cmd in _COMMANDS, (rule, cmd)
        name = rule.replace("_", "-")
        # a rule is named as its command, or as its command plus what it is for (fetch_counts)
        assert name == cmd or name.startswith(cmd + "-"), (rule, cmd)


def test_every_stage_has_its_rules_file_and_cli_module():
    rules = {p.stem for p in (REPO / "workflow" / "rules").glob("*.smk")} - {"common"}
    cli = {
        p.stem
        for p in Path(REPO / "src" / "mpralens" / "cli").glob("*.py")
        if not p.stem.startswith("_")  # __init__ and the helpers: _args, _allocator
    }
    assert rules == cli
