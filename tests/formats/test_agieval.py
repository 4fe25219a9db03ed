"""AGIEval: the authors' task files read and checked, converted into the columns of lm-eval's
hails/agieval-* datasets (AGIEval's own zero-shot prompt), and lm-eval's agieval tasks built on
them offline."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import native_tasks
import yaml

from lmdeck.formats import DataError, allowed_shots
from lmdeck.formats.agieval import FORMAT, TASKS, convert_zero_shot, lm_eval_row
from lmdeck.harness.lmeval import builtin_tasks, tasks_root

ROOT = Path(__file__).parents[2]
SHARED = ROOT / ".." / "shared" / "benchdata" / "agieval"
DEMO = ROOT / "data" / "demo" / "agieval"
VARIANT = FORMAT.lm_eval["agieval"]
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="shared benchdata absent")

# Hand-written from AGIEval's convert_zero_shot for the first record of each shared file.
SAT_MATH_1 = (
    "Q: If $\\frac{x-1}{3}=k$ and $k=3$, what is the value of $x ?$ "
    "Answer Choices: (A)2 (B)4 (C)9 (D)10\nA: Among A through D, the answer is"
)
BIOLOGY_1 = (
    "问题：已知(1)酶、(2)抗体、(3)激素、(4)糖原、(5)脂肪、(6)核酸都是人体内有重要作用的物质。下列说法正确的 是 "
    " 选项：(A)(1)(2)(3)都是由氨基酸通过肽键连接而成的 (B)(3)(4)(5)都是生物大分子, 都以碳链为骨架 "
    "(C)(1)(2)(6)都是由含氮的单体连接成的多聚体 (D)(4)(5)(6)都是人体细胞内的主要能源物质\n"
    "答案：从A到D, 我们应选择"
)
MATHCLOZE_1 = (
    "问题：已知 $a \\in \\mathrm{R}$, 函数 $f(x)=\\left\\{\\begin{array}{l}x^{2}-4, x>2 \\\\ "
    "|x-3|+a, x \\leq 2,\\end{array}\\right.$ 若 $f[f(\\sqrt{6})]=3$, 则 $a=(\\quad)$\n答案："
)


def native(records, out: Path):
    return native_tasks.build(FORMAT, VARIANT, records, out, 0)


def first_instances(task):
    task.build_all_requests(limit=1, rank=0, world_size=1)
    return task.instances


def authors_convert_zero_shot():
    """AGIEval's own convert_zero_shot, taken from the copy OpenCompass vendors (its module
    loads a tiktoken encoding at import, which needs the network, so only the function and
    the task lists are executed)."""
    import importlib.util

    spec = importlib.util.find_spec("opencompass")
    if spec is None:
        pytest.skip("opencompass is not installed")
    package = Path(next(iter(spec.submodule_search_locations)))
    source = (package / "datasets" / "agieval" / "dataset_loader.py").read_text(encoding="utf-8")
    wanted = [
        node
        for node in ast.parse(source).body
        if (isinstance(node, ast.FunctionDef) and node.name == "convert_zero_shot")
        or (isinstance(node, ast.Assign) and isinstance(node.value, ast.List))
    ]
    namespace: dict = {}
    exec(compile(ast.Module(body=wanted, type_ignores=[]), "dataset_loader.py", "exec"), namespace)
    return namespace["convert_zero_shot"]


def write(folder: Path, task: str, rows) -> Path:
    path = folder / "data" / "v1" / f"{task}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return path


MCQ = {"passage": None, "question": "Which?", "options": ["(A)a", "(B)b", "(C)c", "(D)d"], "label": "B", "answer": None}


@needs_shared
def test_reads_the_authors_files():
    records = FORMAT.read(SHARED)
    assert len(records) == 45 and {r.split for r in records} == {"test"}
    assert {t: sum(r.subtask == t for r in records) for t in {r.subtask for r in records}} == {
        "gaokao-biology": 15,
        "gaokao-mathcloze": 15,
        "sat-math": 15,
    }
    assert records[0].item_id == "data/v1/gaokao-biology.jsonl:1"
    assert records[-1].item_id == "data/v1/sat-math.jsonl:15"
    # few_shot_prompts.csv is not read: lm-eval's AGIEval tasks are zero-shot only
    assert [p.name for p in FORMAT.source_files(SHARED)] == [
        "gaokao-biology.jsonl",
        "gaokao-mathcloze.jsonl",
        "sat-math.jsonl",
    ]


@needs_shared
def test_hails_columns_by_hand_for_an_english_a_chinese_and_a_cloze_record():
    records = {r.item_id: r for r in FORMAT.read(SHARED)}
    assert lm_eval_row(records["data/v1/sat-math.jsonl:1"]) == {
        "query": SAT_MATH_1,
        "choices": ["(A)2", "(B)4", "(C)9", "(D)10"],
        "gold": [3],
        "lmdeck_id": "data/v1/sat-math.jsonl:1",
    }
    biology = lm_eval_row(records["data/v1/gaokao-biology.jsonl:1"])
    assert (biology["query"], biology["gold"]) == (BIOLOGY_1, [2])
    assert biology["choices"][2] == "(C)(1)(2)(6)都是由含氮的单体连接成的多聚体"
    assert lm_eval_row(records["data/v1/gaokao-mathcloze.jsonl:1"]) == {
        "query": MATHCLOZE_1,
        "answer": "2",
        "lmdeck_id": "data/v1/gaokao-mathcloze.jsonl:1",
    }


@pytest.mark.parametrize("folder", [SHARED, DEMO], ids=["shared", "demo"])
def test_query_is_the_authors_convert_zero_shot(folder):
    if not folder.is_dir():
        pytest.skip("benchdata absent")
    theirs = authors_convert_zero_shot()
    records = FORMAT.read(folder)
    for rec in records:
        raw = json.loads(
            (folder / rec.item_id.split(":")[0])
            .read_text(encoding="utf-8")
            .splitlines()[int(rec.item_id.split(":")[1]) - 1]
        )
        assert lm_eval_row(rec)["query"] == theirs(raw, rec.subtask), rec.item_id


def test_reads_the_demo_files():
    records = FORMAT.read(DEMO)
    assert len(records) == 12
    assert sorted({r.subtask for r in records}) == ["gaokao-geography", "gaokao-mathcloze", "sat-math"]
    assert lm_eval_row(records[0])["query"] == (
        "问题：地球上昼夜交替现象产生的原因是 选项：(A)地球公转 (B)地球自转 (C)太阳活动 (D)月球绕地球运动\n"
        "答案：从A到D, 我们应选择"
    )


def test_passages_multi_answer_labels_and_the_one_option_quirk(tmp_path):
    write(tmp_path, "sat-en", [{**MCQ, "passage": "A passage.", "options": ["(A)x"], "label": "A"}])
    write(tmp_path, "gaokao-physics", [{**MCQ, "label": ["A", "C"]}])
    write(tmp_path, "math", [{"passage": None, "question": "1+1?", "options": None, "label": None, "answer": 2}])
    rows = {r.subtask: lm_eval_row(r) for r in FORMAT.read(tmp_path)}
    assert rows["sat-en"]["query"] == "A passage.Q: Which? Answer Choices: (A)x\nA: Among A through E, the answer is"
    assert rows["gaokao-physics"]["gold"] == [0, 2]
    assert rows["math"] == {"query": "Q: 1+1?\nA: The answer is", "answer": "2", "lmdeck_id": "data/v1/math.jsonl:1"}
    one_option = {"passage": None, "question": "q", "options": ["(A)1"]}
    assert convert_zero_shot(one_option, "logiqa-zh").endswith("从A到D, 我们应选择")


@pytest.mark.parametrize(
    ("task", "rows", "message"),
    [
        ("sat-math", [MCQ, {**MCQ, "label": "E"}], "line 2: label 'E' is not one of the options A-D"),
        ("sat-math", [{**MCQ, "label": None}], "line 1: missing field 'label'"),
        ("sat-math", [{**MCQ, "label": []}], "line 1: empty 'label' list"),
        ("sat-math", [{**MCQ, "options": "(A)a (B)b"}], "line 1: field 'options' should be list, got str"),
        ("sat-math", [{**MCQ, "options": ["(A)a", 2]}], "line 1: option 2 should be str, got int"),
        ("gaokao-physics", [{**MCQ, "label": ["A", "A"]}], "line 1: label ['A', 'A'] repeats a letter"),
        ("gaokao-mathcloze", [{"passage": None, "question": "q", "answer": None}], "line 1: missing field 'answer'"),
        ("gaokao-biology", [{"passage": None, "options": ["(A)a"], "label": "A"}], "line 1: missing field 'question'"),
        ("gaokao-biology", ["\n", "not json\n"], "line 2: not valid JSON"),
        ("gaokao-biology", [], "file holds no questions"),
        ("geometry-olympiad", [MCQ], "'geometry-olympiad' is not one of AGIEval's tasks"),
    ],
)
def test_bad_inputs_name_file_and_line(tmp_path, task, rows, message):
    path = write(tmp_path, task, rows)
    with pytest.raises(DataError) as err:
        FORMAT.read(tmp_path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_colliding_task_names_and_empty_folder(tmp_path):
    with pytest.raises(DataError, match="no AGIEval files found"):
        FORMAT.read(tmp_path)
    write(tmp_path, "sat-math", [MCQ])
    write(tmp_path, "SAT_math", [MCQ])
    with pytest.raises(DataError, match="task names: data/v1/SAT_math.jsonl and data/v1/sat-math.jsonl collide"):
        FORMAT.read(tmp_path)


def test_variant_metric_shots_and_aggregation_are_lm_evals():
    builtin = builtin_tasks(VARIANT)
    assert sorted(builtin) == sorted(TASKS)  # every AGIEval task has one hails/agieval-<task> task
    assert builtin["gaokao-biology"][0] == "agieval_gaokao_biology"
    for _, _, cfg in builtin.values():
        assert [m["metric"] for m in cfg["metric_list"]][0] == VARIANT.metric
        assert cfg["training_split"] is None and cfg["validation_split"] is None
    group = yaml.safe_load((tasks_root() / "agieval" / "agieval.yaml").read_text())["aggregate_metric_list"][0]
    assert group["metric"] == VARIANT.metric
    assert VARIANT.aggregation == ("micro" if group["weight_by_size"] else "macro")
    assert allowed_shots(VARIANT) == [0] and FORMAT.default_shots == 0


@needs_shared
def test_native_tasks_prompts_offline(tmp_path):
    index, tasks = native(FORMAT.read(SHARED), tmp_path)
    assert sorted(index) == ["agieval_gaokao_biology", "agieval_gaokao_mathcloze", "agieval_sat_math"]
    english = first_instances(tasks["agieval_sat_math"])
    assert [i.args for i in english] == [(SAT_MATH_1, f" {c}") for c in ["(A)2", "(B)4", "(C)9", "(D)10"]]
    chinese = first_instances(tasks["agieval_gaokao_biology"])
    assert {i.args[0] for i in chinese} == {BIOLOGY_1} and len(chinese) == 4
    cloze = first_instances(tasks["agieval_gaokao_mathcloze"])
    assert cloze[0].args[0] == MATHCLOZE_1


def test_native_multi_answer_item_scores_lm_evals_way(tmp_path):
    write(tmp_path / "src", "gaokao-physics", [{**MCQ, "label": ["A", "C"]}, MCQ])
    _, tasks = native(FORMAT.read(tmp_path / "src"), tmp_path / "out")
    task = tasks["agieval_gaokao_physics"]
    doc = task.test_docs()[0]
    assert (doc["gold"], task.doc_to_target(doc)) == ([0, 2], [0, 2])
    best_c = [(-3.0, False), (-2.0, False), (-1.0, False), (-4.0, False)]
    best_b = [(-3.0, False), (-1.0, False), (-2.0, False), (-4.0, False)]
    assert task.process_results(doc, best_c)["acc"] == 1.0  # either correct option counts
    assert task.process_results(doc, best_b)["acc"] == 0.0


# --------------------------------------------------------------------------
# OpenCompass agieval_gen: the authors' task files as its AGIEvalDataset_v2 reads them
# --------------------------------------------------------------------------

OC = FORMAT.opencompass["agieval_gen"]


def test_opencompass_variant_is_the_agieval_gen_alias():
    import importlib.util

    from opencompass.configs.summarizers.groups.agieval import agieval_summary_groups

    from lmdeck.formats import check_shots
    from lmdeck.harness import opencompass as oc

    alias = Path(importlib.util.find_spec(OC.module).origin).read_text(encoding="utf-8")
    assert "from .agieval_gen_5c79b4 import agieval_datasets" in alias
    datasets = {OC.subtask_of(d): d for d in oc.native_datasets(OC)}
    assert sorted(datasets) == sorted(TASKS)  # AGIEval's 21 tasks, named as the files (the subtask key)
    evaluators = {}
    for task, d in datasets.items():
        assert d["abbr"] == f"agieval-{task}" and d["name"] == task and d["setting_name"] == "zero-shot"
        assert oc._type_name(d["type"]) == "AGIEvalDataset_v2"
        assert oc._type_name(d["infer_cfg"]["retriever"]["type"]) == "ZeroRetriever"
        post = oc._type_name(d["eval_cfg"].get("pred_postprocessor", {}).get("type"))
        evaluators.setdefault((oc._type_name(d["eval_cfg"]["evaluator"]["type"]), post), set()).add(task)
    assert evaluators == {
        ("AccEvaluator", "first_option_postprocess"): set(TASKS)
        - {"gaokao-physics", "jec-qa-kd", "jec-qa-ca", "math", "gaokao-mathcloze"},
        ("AccEvaluator", "first_capital_postprocess_multi"): {"gaokao-physics", "jec-qa-kd", "jec-qa-ca"},
        ("AGIEvalEvaluator", "None"): {"math", "gaokao-mathcloze"},  # reports `score`, the others `accuracy`
    }
    group = next(g for g in agieval_summary_groups if g["name"] == "agieval")
    assert sorted(group["subsets"]) == sorted(d["abbr"] for d in datasets.values()) and "weights" not in group
    assert OC.aggregation == "macro" and OC.metric == "accuracy" and OC.shots == (0,)
    for kind in ("base", "chat"):
        assert kind in OC.kinds and FORMAT.variant("opencompass", None, 0, kind) is OC
        assert FORMAT.variant("lm-eval", None, 0, kind) is VARIANT
    check_shots(FORMAT, "opencompass", OC, 0)
    with pytest.raises(DataError, match="allowed: 0"):
        check_shots(FORMAT, "opencompass", OC, 3)


def loaded(folder: Path, task: str) -> list[dict]:
    from opencompass.datasets import AGIEvalDataset_v2

    return AGIEvalDataset_v2.load(path=str(folder), name=task, setting_name="zero-shot").to_list()


@pytest.mark.parametrize("folder", [SHARED, DEMO], ids=["shared", "demo"])
def test_opencompass_layout_reads_as_the_authors_files(tmp_path, folder):
    """Its own loader gives the same rows (question, options, reference) from lmdeck's files as
    from the authors' data/v1 files, in the same order."""
    if not folder.is_dir():
        pytest.skip("benchdata absent")
    records = FORMAT.read(folder)
    OC.layout(records, tmp_path)
    tasks = sorted({r.subtask for r in records})
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{t}.jsonl" for t in tasks]
    for task in tasks:
        theirs = loaded(folder / "data" / "v1", task)
        assert loaded(tmp_path, task) == theirs and len(theirs) == sum(r.subtask == task for r in records)


def test_opencompass_layout_multi_answer_passages_and_cloze(tmp_path):
    src = tmp_path / "src"
    write(src, "sat-en", [{**MCQ, "passage": "A passage. ", "options": ["(A)x"], "label": "A", "other": {"s": 1}}])
    write(src, "gaokao-physics", [{**MCQ, "label": ["A", "C"]}, {**MCQ, "label": ["D"]}])
    write(src, "math", [{"passage": None, "question": "1+1?", "options": None, "label": None, "answer": 2}])
    records = FORMAT.read(src)
    OC.layout(records, tmp_path / "out")
    for task in ("sat-en", "gaokao-physics", "math"):
        assert loaded(tmp_path / "out", task) == loaded(src / "data" / "v1", task)
    assert [row["label"] for row in loaded(tmp_path / "out", "gaokao-physics")] == ["AC", "D"]
    assert loaded(tmp_path / "out", "sat-en")[0]["question"] == "A passage. Which?"
    assert loaded(tmp_path / "out", "math") == [{"question": "1+1?", "options": "", "label": "2"}]


@pytest.mark.parametrize("folder", [SHARED, DEMO], ids=["shared", "demo"])
def test_opencompass_index_on_real_files(tmp_path, folder):
    from lmdeck.harness import opencompass as oc

    if not folder.is_dir():
        pytest.skip("benchdata absent")
    records = FORMAT.read(folder)
    index = oc.write_native(FORMAT, OC, records, tmp_path, shots=0)
    tasks = sorted({r.subtask for r in records})
    assert sorted(index["datasets"]) == [f"agieval-{t}" for t in tasks]
    for task in tasks:
        entry = index["datasets"][f"agieval-{task}"]
        assert entry["subtask"] == entry["name"] == task and entry["shots"] == 0
        n = sum(r.subtask == task for r in records)
        assert entry["items"] == [f"data/v1/{task}.jsonl:{line}" for line in range(1, n + 1)]
    assert index["datasets"]["agieval-gaokao-mathcloze"]["evaluator"] == "AGIEvalEvaluator"
    assert index["datasets"]["agieval-sat-math"]["evaluator"] == "AccEvaluator"


def test_opencompass_cloze_results_are_read_under_their_own_key():
    from lmdeck.harness import opencompass as oc

    assert oc._metric_key({"score": 50.0, "details": []}, OC.metric, "agieval-math.json") == "score"
    assert oc._metric_key({"accuracy": 50.0}, OC.metric, "agieval-sat-math.json") == "accuracy"
