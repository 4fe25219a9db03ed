"""BBH: the authors' task files read and checked; lm-eval's own bbh CoT tasks built on them offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import native_tasks
import yaml

from lmdeck.formats import DataError, allowed_shots, check_shots
from lmdeck.formats.bbh import FORMAT, parse_cot_prompt
from lmdeck.harness.exemplars import bbh_cot_prompt_differences as cot_prompt_differences
from lmdeck.harness.lmeval import builtin_tasks, tasks_root

ROOT = Path(__file__).parents[2]
SHARED = ROOT / ".." / "shared" / "benchdata" / "bbh"
DEMO = ROOT / "data" / "demo" / "bbh"
FEWSHOT, ZEROSHOT = FORMAT.lm_eval["bbh_cot_fewshot"], FORMAT.lm_eval["bbh_cot_zeroshot"]
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="shared benchdata absent")


def native(variant, records, out: Path, shots: int):
    return native_tasks.build(FORMAT, variant, records, out, shots)


def task_file(folder: Path, name: str, examples) -> Path:
    path = folder / "bbh" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"canary": "x", "examples": examples}), encoding="utf-8")
    return path


@needs_shared
def test_reads_the_authors_files():
    records = FORMAT.read(SHARED)
    assert len(records) == 45
    by_task = {t: [r for r in records if r.subtask == t] for t in {r.subtask for r in records}}
    assert {t: len(rs) for t, rs in by_task.items()} == {
        "boolean_expressions": 15,
        "causal_judgement": 15,
        "date_understanding": 15,
    }
    first = by_task["boolean_expressions"][0]
    assert first.item_id == "bbh/boolean_expressions.json#0" and first.split == "test"
    assert first.fields == {"input": "not ( True ) and ( True ) is", "target": "False"}
    assert by_task["date_understanding"][-1].item_id == "bbh/date_understanding.json#14"
    assert [p.name for p in FORMAT.source_files(SHARED)] == [
        "boolean_expressions.json",
        "causal_judgement.json",
        "date_understanding.json",
        "boolean_expressions.txt",
        "causal_judgement.txt",
        "date_understanding.txt",
    ]


@needs_shared
def test_authors_cot_prompts_are_lm_evals_exemplars():
    assert cot_prompt_differences(SHARED) == {
        "boolean_expressions": [],
        "causal_judgement": [],
        "date_understanding": [],
    }
    description, exemplars = parse_cot_prompt(SHARED / "cot-prompts" / "boolean_expressions.txt")
    assert description == "Evaluate the result of a random Boolean expression."
    assert [e["line"] for e in exemplars] == [5, 12, 20]  # the "Q: " lines of the file


def test_reads_the_demo_files_whose_exemplars_lm_eval_does_not_use():
    records = FORMAT.read(DEMO)
    assert len(records) == 10
    assert sorted({r.subtask for r in records}) == ["boolean_expressions", "date_understanding"]
    diffs = cot_prompt_differences(DEMO)
    assert diffs["boolean_expressions"][0] == "description"
    assert "exemplar 1 input (line 5)" in diffs["boolean_expressions"]


@pytest.mark.parametrize(
    ("examples", "message"),
    [
        ([{"input": "a", "target": "b"}, {"input": "c"}], "example 1: missing field 'target'"),
        ([{"input": "a", "target": 1}], "example 0: field 'target' should be str, got int"),
        (["a"], "example 0: expected a JSON object, got str"),
        ([], "file holds no examples"),
    ],
)
def test_bad_task_file_names_file_and_example(tmp_path, examples, message):
    path = task_file(tmp_path, "navigate", examples)
    with pytest.raises(DataError) as err:
        FORMAT.read(tmp_path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_bad_json_and_bad_cot_prompt_name_file_and_line(tmp_path):
    path = tmp_path / "bbh" / "navigate.json"
    path.parent.mkdir()
    path.write_text('{"examples": [\n  {"input": "a",, "target": "b"}]}', encoding="utf-8")
    with pytest.raises(DataError, match=r"navigate.json line 2: not valid JSON"):
        FORMAT.read(tmp_path)
    task_file(tmp_path, "navigate", [{"input": "a", "target": "b"}])
    prompt = tmp_path / "cot-prompts" / "navigate.txt"
    prompt.parent.mkdir()
    prompt.write_text(
        "canary\n-----\nDescribe.\n\nQ: one\nA: Let's think step by step.\nSo the answer is Yes.\n\nQ: two\nA: Yes.",
        encoding="utf-8",
    )
    with pytest.raises(DataError) as err:
        FORMAT.read(tmp_path)
    assert f"{prompt} line 9: exemplar has no 'A: Let's think step by step.' line" == str(err.value)
    prompt.write_text("canary\n-----\nOnly a description.", encoding="utf-8")
    with pytest.raises(DataError, match="no chain-of-thought exemplars"):
        FORMAT.read(tmp_path)


def test_colliding_task_names_and_empty_folder(tmp_path):
    with pytest.raises(DataError, match="no BBH files found"):
        FORMAT.read(tmp_path)
    task_file(tmp_path, "date_understanding", [{"input": "a", "target": "b"}])
    task_file(tmp_path, "Date-Understanding", [{"input": "a", "target": "b"}])
    with pytest.raises(DataError, match="Date-Understanding.json and bbh/date_understanding.json"):
        FORMAT.read(tmp_path)


def test_variants_shots_metrics_and_aggregation_are_lm_evals():
    assert FORMAT.variant("lm-eval", None, 0).variant == "bbh_cot_zeroshot"
    assert FORMAT.variant("lm-eval", None, 3).variant == "bbh_cot_fewshot"
    for variant, group, n_shots in ((FEWSHOT, "_bbh_cot_fewshot.yaml", 3), (ZEROSHOT, "_bbh_cot_zeroshot.yaml", 0)):
        builtin = builtin_tasks(variant)
        assert len(builtin) == 27 and "boolean_expressions" in builtin
        name, metric_filter = variant.metric.split(",")
        for _, _, cfg in builtin.values():
            assert cfg["num_fewshot"] == n_shots
            assert metric_filter in [f["name"] for f in cfg["filter_list"]]
            if variant is FEWSHOT:
                assert len(cfg["fewshot_config"]["samples"]) == max(variant.shots)
                assert cfg["fewshot_config"]["sampler"] == "first_n"
        agg = yaml.safe_load((tasks_root() / variant.folder / group).read_text())["aggregate_metric_list"][0]
        assert (agg["metric"], agg["filter_list"]) == (name, metric_filter)
        assert variant.aggregation == ("micro" if agg["weight_by_size"] else "macro")
    check_shots(FORMAT, "lm-eval", FEWSHOT, 1)
    with pytest.raises(DataError, match="allowed: 1, 2, 3"):
        check_shots(FORMAT, "lm-eval", FEWSHOT, 4)
    assert allowed_shots(ZEROSHOT) == [0]


@needs_shared
def test_native_cot_fewshot_prompt_offline(tmp_path):
    records = FORMAT.read(SHARED)
    index, tasks = native(FEWSHOT, records, tmp_path, shots=3)
    assert sorted(index) == [
        "bbh_cot_fewshot_boolean_expressions",
        "bbh_cot_fewshot_causal_judgement",
        "bbh_cot_fewshot_date_understanding",
    ]
    for task_name, entry in index.items():
        subtask = entry["subtask"]
        cfg = builtin_tasks(FEWSHOT)[subtask][2]
        doc = next(r for r in records if r.subtask == subtask).fields
        # The YAML's description, its 3 exemplars ("Q: {input}\nA: Let's think step by step.\n" +
        # target, "\n\n" apart), then the question.
        samples = cfg["fewshot_config"]["samples"]
        expected = cfg["description"] + "".join(
            f"Q: {s['input']}\nA: Let's think step by step.\n{s['target']}\n\n" for s in samples
        )
        expected += f"Q: {doc['input']}\nA: Let's think step by step.\n"
        assert native_tasks.first_prompt(tasks[task_name]) == expected
        # ... which is the authors' own CoT prompt file, below its header, then the question.
        text = (SHARED / "cot-prompts" / f"{subtask}.txt").read_text(encoding="utf-8")
        authors = text.split("\n-----\n")[-1].strip()
        assert expected == f"{authors}\n\nQ: {doc['input']}\nA: Let's think step by step.\n"


def test_native_fewer_shots_and_zeroshot_on_demo(tmp_path):
    records = FORMAT.read(DEMO)
    doc = records[0].fields
    _, tasks = native(FEWSHOT, records, tmp_path / "one", shots=1)
    cfg = builtin_tasks(FEWSHOT)["boolean_expressions"][2]
    first = cfg["fewshot_config"]["samples"][0]
    assert native_tasks.first_prompt(tasks["bbh_cot_fewshot_boolean_expressions"]) == (
        f"{cfg['description']}Q: {first['input']}\nA: Let's think step by step.\n{first['target']}\n\n"
        f"Q: {doc['input']}\nA: Let's think step by step.\n"
    )
    _, tasks = native(ZEROSHOT, records, tmp_path / "zero", shots=0)
    assert native_tasks.first_prompt(tasks["bbh_cot_zeroshot_boolean_expressions"]) == (
        f"Evaluate the result of a random Boolean expression.\n\nQ: {doc['input']}\nA: Let's think step by step."
    )


# --------------------------------------------------------------------------
# OpenCompass bbh_gen: the authors' task files as its BBHDataset reads them
# --------------------------------------------------------------------------

OC = FORMAT.opencompass["bbh_gen"]


def lib_prompt(task: str) -> str:
    import opencompass

    return (
        Path(opencompass.__file__).parent / "configs" / "datasets" / "bbh" / "lib_prompt" / f"{task}.txt"
    ).read_text(encoding="utf-8")


def test_opencompass_variant_is_the_bbh_gen_alias():
    import importlib.util

    from lmdeck.harness import opencompass as oc

    alias = Path(importlib.util.find_spec(OC.module).origin).read_text(encoding="utf-8")
    assert "from .bbh_gen_ee62e9 import bbh_datasets" in alias
    datasets = {OC.subtask_of(d): d for d in oc.native_datasets(OC)}
    assert len(datasets) == 27 and set(datasets) == set(builtin_tasks(FEWSHOT))  # the 27 BBH tasks
    evaluators = {}
    for task, d in datasets.items():
        assert d["abbr"] == f"bbh-{task}" and d["name"] == task
        assert oc._type_name(d["infer_cfg"]["retriever"]["type"]) == "ZeroRetriever"
        # Its own prompt: the lib_prompt copy of the CoT prompt (3 exemplars) in one HUMAN turn.
        (turn,) = d["infer_cfg"]["prompt_template"]["template"]["round"]
        hint = lib_prompt(task)
        assert turn["prompt"] == (
            "Follow the given examples and answer the question.\n"
            + hint
            + "\n\nQ: {input}\nA: Let's think step by step."
        )
        assert hint.count("\n\nQ: ") == 3 == OC.shots[0]
        evaluators.setdefault(oc._type_name(d["eval_cfg"]["evaluator"]["type"]), set()).add(task)
    assert {k: len(v) for k, v in evaluators.items()} == {"BBHEvaluator_mcq": 17, "BBHEvaluator": 10}
    assert "date_understanding" in evaluators["BBHEvaluator_mcq"]
    assert {"boolean_expressions", "causal_judgement"} <= evaluators["BBHEvaluator"]
    # Both evaluators report `score`; the summary group `bbh` is a plain mean of the 27 (macro).
    from opencompass.configs.summarizers.groups.bbh import bbh_summary_groups

    (group,) = bbh_summary_groups
    assert group["name"] == "bbh" and sorted(group["subsets"]) == sorted(d["abbr"] for d in datasets.values())
    assert "weights" not in group and OC.aggregation == "macro" and OC.metric == "score"
    for kind in ("base", "chat"):
        assert kind in OC.kinds and FORMAT.variant("opencompass", None, 3, kind) is OC
    check_shots(FORMAT, "opencompass", OC, 3)
    for shots in (0, 1):
        with pytest.raises(DataError, match="allowed: 3"):
            check_shots(FORMAT, "opencompass", OC, shots)


@needs_shared
def test_opencompass_lib_prompts_are_the_authors_cot_prompts():
    """For the authors' files at hand, OpenCompass's copy is the text after their `-----` line."""
    for path in sorted((SHARED / "cot-prompts").glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        assert text[text.rfind("\n-----\n") + len("\n-----\n") :] == lib_prompt(path.stem), path.name


@pytest.mark.parametrize("folder", [SHARED, DEMO], ids=["shared", "demo"])
def test_opencompass_layout_round_trips_through_its_loader(tmp_path, folder):
    from opencompass.datasets import BBHDataset

    if not folder.is_dir():
        pytest.skip("benchdata absent")
    records = FORMAT.read(folder)
    OC.layout(records, tmp_path)
    tasks = sorted({r.subtask for r in records})
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{t}.json" for t in tasks]
    for task in tasks:
        source = json.loads((folder / "bbh" / f"{task}.json").read_text(encoding="utf-8"))
        loaded = BBHDataset.load(path=str(tmp_path), name=task)
        assert loaded.to_list() == source["examples"]  # the authors' examples, whole and in order


@pytest.mark.parametrize("folder", [SHARED, DEMO], ids=["shared", "demo"])
def test_opencompass_index_on_real_files(tmp_path, folder):
    from lmdeck.harness import opencompass as oc

    if not folder.is_dir():
        pytest.skip("benchdata absent")
    records = FORMAT.read(folder)
    index = oc.write_native(FORMAT, OC, records, tmp_path)
    tasks = sorted({r.subtask for r in records})
    assert sorted(index["datasets"]) == [f"bbh-{t}" for t in tasks]
    for task in tasks:
        entry = index["datasets"][f"bbh-{task}"]
        assert entry["subtask"] == entry["name"] == task
        assert entry["items"] == [f"bbh/{task}.json#{i}" for i in range(sum(r.subtask == task for r in records))]
    assert index["datasets"]["bbh-date_understanding"]["evaluator"] == "BBHEvaluator_mcq"
    assert index["datasets"]["bbh-boolean_expressions"]["evaluator"] == "BBHEvaluator"


def test_opencompass_index_reports_the_prompts_three_shots(tmp_path):
    from lmdeck.harness import opencompass as oc

    index = oc.write_native(FORMAT, OC, FORMAT.read(DEMO), tmp_path, shots=3)
    assert {e["shots"] for e in index["datasets"].values()} == {3}
