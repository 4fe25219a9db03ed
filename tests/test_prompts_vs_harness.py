"""lmdeck's prompts follow the harness's own built-in task format (lm-eval's task YAMLs).

For each benchmark with an lm-eval built-in task, the task's `doc_to_text` template is
rendered on the raw row from the demo files and must be exactly the end of lmdeck's prompt
(the part before it holds the description and the few-shot exemplars).
"""

import csv
import json
from pathlib import Path

import jinja2
import pytest
import yaml

import lm_eval
from conftest import ROOT
from lmdeck import benchmarks

TASKS = Path(lm_eval.__file__).parent / "tasks"
DEMO = ROOT / "data" / "demo"


class _IgnoreTags(yaml.SafeLoader):
    pass


_IgnoreTags.add_multi_constructor("!", lambda loader, suffix, node: None)


def task_yaml(relative: str) -> dict:
    return yaml.load((TASKS / relative).read_text(encoding="utf-8"), Loader=_IgnoreTags)


def render(template: str, doc: dict) -> str:
    return jinja2.Template(template, keep_trailing_newline=True).render(**doc)


def items_by_subtask(fmt: str, folder: Path, shots: int) -> dict:
    out = {}
    for item in benchmarks.load_benchmark(fmt, folder, shots):
        out.setdefault(item.subtask, []).append(item)
    return out


def test_mmlu_matches_lm_eval():
    template = task_yaml("mmlu/default/_default_template_yaml")["doc_to_text"]
    items = items_by_subtask("mmlu", DEMO / "mmlu", 5)["elementary_mathematics"]
    with open(DEMO / "mmlu/data/test/elementary_mathematics_test.csv", encoding="utf-8") as f:
        row = next(csv.reader(f))
    expected = render(template, {"question": row[0], "choices": row[1:5]})
    assert items[0].prompt.endswith(expected)
    description = task_yaml("mmlu/default/mmlu_elementary_mathematics.yaml")["description"]
    assert items[0].prompt.startswith(description)


@pytest.mark.parametrize("fmt,task_file,split_file,subject", [
    ("ceval", "ceval/_default_ceval_yaml", "val/middle_school_mathematics_val.csv", "middle_school_mathematics"),
    ("cmmlu", "cmmlu/_default_template_yaml", "data/test/elementary_commonsense.csv", "elementary_commonsense"),
])
def test_chinese_exams_match_lm_eval(fmt, task_file, split_file, subject):
    template = task_yaml(task_file)["doc_to_text"]
    with open(DEMO / fmt / split_file, encoding="utf-8") as f:
        row = next(csv.DictReader(f))
    items = items_by_subtask(fmt, DEMO / fmt, 5)[subject]
    assert items[0].prompt.endswith(render(template, row))


def test_gsm8k_matches_lm_eval():
    template = task_yaml("gsm8k/gsm8k.yaml")["doc_to_text"]
    with open(DEMO / "gsm8k/grade_school_math/data/test.jsonl", encoding="utf-8") as f:
        doc = json.loads(f.readline())
    item = benchmarks.load_benchmark("gsm8k", DEMO / "gsm8k", 4)[0]
    assert item.prompt.endswith(render(template, doc))


def test_bbh_matches_lm_eval_cot_fewshot():
    template = task_yaml("bbh/cot_fewshot/boolean_expressions.yaml")["doc_to_text"]
    with open(DEMO / "bbh/bbh/boolean_expressions.json", encoding="utf-8") as f:
        doc = json.load(f)["examples"][0]
    item = items_by_subtask("bbh", DEMO / "bbh", 3)["boolean_expressions"][0]
    # lm-eval's template ends with a newline after the cue; lmdeck ends at the cue, where the answer starts.
    assert item.prompt.endswith(render(template, doc).rstrip("\n"))
