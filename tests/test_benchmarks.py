"""Tests of the benchmark loaders (lmdeck.benchmarks).

Each format is loaded twice: from the real public samples in ../shared/benchdata
(skipped when that folder is absent; the files are never copied into the repo)
and from the project's own demo data in data/demo. Expected counts and answers
are computed here directly from the files with csv/json, independently of the
loaders; one full golden prompt per benchmark is checked on the demo data.
"""
from __future__ import annotations

import csv
import gzip
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
try:
    import lmdeck.benchmarks  # noqa: F401
except ImportError:  # running from a checkout that is not installed
    sys.path.insert(0, str(ROOT / "src"))

from lmdeck.benchmarks import FORMATS, DataError, Item, load_benchmark, source_files  # noqa: E402

SHARED = (Path(__file__).parents[1] / "../shared/benchdata").resolve()
DEMO = ROOT / "data" / "demo"
ALL_FORMATS = ["mmlu", "ceval", "cmmlu", "gaokao", "agieval", "gsm8k", "math", "humaneval", "bbh"]


def shared(sub: str) -> Path:
    path = SHARED / sub
    if not path.is_dir():
        pytest.skip(f"shared benchmark sample not available: {path} is absent")
    return path


def csv_rows(path: Path, header: bool) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as f:
        rows = [r for r in csv.reader(f) if r]
    return rows[1:] if header else rows


def jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def by_subtask(items: list[Item]) -> dict[str, list[Item]]:
    out: dict[str, list[Item]] = {}
    for item in items:
        out.setdefault(item.subtask, []).append(item)
    return out


def exemplar_count(prompt: str, marker: str) -> int:
    return prompt.count(marker)


# ---------------------------------------------------------------------------
# general contract
# ---------------------------------------------------------------------------

def test_formats_registry():
    assert sorted(FORMATS) == sorted(ALL_FORMATS)


def test_unknown_format_names_known_formats():
    with pytest.raises(ValueError) as err:
        load_benchmark("nope", DEMO / "mmlu", 0)
    assert "nope" in str(err.value)
    for fmt in ALL_FORMATS:
        assert fmt in str(err.value)
    with pytest.raises(KeyError):
        source_files("nope", DEMO / "mmlu")


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_demo_items_contract(fmt):
    items = load_benchmark(fmt, DEMO / fmt, 5)
    assert items
    assert len({i.id for i in items}) == len(items)
    subtasks = [i.subtask for i in items]
    assert subtasks == sorted(subtasks)
    assert load_benchmark(fmt, DEMO / fmt, 5) == items  # deterministic
    for item in items:
        assert item.kind in ("mcq", "gen", "code")
        assert isinstance(item.choices, tuple)
        if item.kind == "mcq":
            assert item.choices[:4] == (" A", " B", " C", " D")
            assert item.answer in "".join(c.strip() for c in item.choices)
        else:
            assert item.choices == ()
        d = item.to_json()
        assert isinstance(d["choices"], list)
        assert Item.from_json(json.loads(json.dumps(d, ensure_ascii=False))) == item
    files = source_files(fmt, DEMO / fmt)
    assert files == sorted(files) and all(p.is_file() for p in files)


def test_demo_total_size():
    counts = {fmt: len(load_benchmark(fmt, DEMO / fmt, 0)) for fmt in ALL_FORMATS}
    assert counts == {"mmlu": 10, "ceval": 10, "cmmlu": 10, "gaokao": 8, "agieval": 12,
                      "gsm8k": 6, "math": 8, "humaneval": 3, "bbh": 10}
    assert 60 <= sum(counts.values()) <= 80


# ---------------------------------------------------------------------------
# MMLU
# ---------------------------------------------------------------------------

def _mmlu_expected(folder: Path, header: bool) -> dict[str, list[str]]:
    out = {}
    for path in sorted(folder.rglob("test/*_test.csv")):
        rows = csv_rows(path, header)
        out[path.name[: -len("_test.csv")]] = ["ABCD"[int(r[5])] if header else r[5] for r in rows]
    return out


@pytest.mark.parametrize("sub,header", [("mmlu/data/mmlu", True), ("mmlu/derived_hendrycks_layout", False)])
def test_mmlu_shared(sub, header):
    folder = shared(sub)
    items = load_benchmark("mmlu", folder, 5)
    expected = _mmlu_expected(folder, header)
    got = {s: [i.answer for i in its] for s, its in by_subtask(items).items()}
    assert got == expected
    assert len(items) == sum(len(v) for v in expected.values()) == 45
    assert all(i.meta["n_shots"] == 5 and i.kind == "mcq" for i in items)
    first = by_subtask(items)["abstract_algebra"][0]
    assert first.prompt.startswith(
        "The following are multiple choice questions (with answers) about abstract algebra.\n\n"
        "Find all c in Z_3 such that Z_3[x]/(x^2 + c) is a field.\nA. 0\nB. 1\nC. 2\nD. 3\nAnswer: B\n\n")
    assert first.prompt.endswith("\nAnswer:")
    assert exemplar_count(first.prompt, "\nAnswer: ") == 5
    assert first.id == "abstract_algebra/0"
    assert len(source_files("mmlu", folder)) == 6


def test_mmlu_shared_layouts_agree():
    a = load_benchmark("mmlu", shared("mmlu/data/mmlu"), 5)
    b = load_benchmark("mmlu", shared("mmlu/derived_hendrycks_layout"), 5)
    assert [(i.id, i.prompt, i.answer) for i in a] == [(i.id, i.prompt, i.answer) for i in b]


def test_mmlu_shared_root_is_ambiguous():
    folder = shared("mmlu")
    with pytest.raises(DataError, match="several MMLU test folders"):
        load_benchmark("mmlu", folder, 5)


def test_mmlu_shot_counts():
    two = load_benchmark("mmlu", DEMO / "mmlu", 2)
    assert all(exemplar_count(i.prompt, "\nAnswer: ") == 2 and i.meta["n_shots"] == 2 for i in two)
    many = load_benchmark("mmlu", DEMO / "mmlu", 12)  # only 5 dev rows exist
    assert all(exemplar_count(i.prompt, "\nAnswer: ") == 5 and i.meta["n_shots"] == 5 for i in many)
    zero = load_benchmark("mmlu", DEMO / "mmlu", 0)
    assert zero[0].prompt == (
        "The following are multiple choice questions (with answers) about elementary mathematics.\n\n"
        "What is 12 - 5?\nA. 5\nB. 6\nC. 7\nD. 8\nAnswer:")


def test_mmlu_demo():
    items = load_benchmark("mmlu", DEMO / "mmlu", 5)
    assert {s: [i.answer for i in its] for s, its in by_subtask(items).items()} == _mmlu_expected(DEMO / "mmlu", False)
    geo = by_subtask(items)["high_school_geography"]
    assert geo[3].id == "high_school_geography/3"
    assert geo[3].choices == (" A", " B", " C", " D")
    assert geo[3].answer == "C"
    assert geo[3].prompt == (
        "The following are multiple choice questions (with answers) about high school geography.\n\n"
        "Which is the largest ocean on Earth?\nA. Atlantic Ocean\nB. Indian Ocean\nC. Arctic Ocean\nD. Pacific Ocean\nAnswer: D\n\n"
        "On which continent is Egypt located?\nA. Africa\nB. Asia\nC. Europe\nD. South America\nAnswer: A\n\n"
        "What imaginary line divides Earth into the Northern and Southern Hemispheres?\nA. The Prime Meridian\n"
        "B. The Equator\nC. The Tropic of Cancer\nD. The International Date Line\nAnswer: B\n\n"
        "Which of the following is a renewable energy source?\nA. Coal\nB. Natural gas\nC. Wind\nD. Oil\nAnswer: C\n\n"
        "What is the term for a large, slow-moving mass of ice?\nA. Delta\nB. Glacier\nC. Plateau\nD. Canyon\nAnswer: B\n\n"
        "On a map with a scale of 1:100,000, 1 cm stands for what real distance?\nA. 10 m\nB. 100 m\nC. 1 km\nD. 10 km\nAnswer:")


# ---------------------------------------------------------------------------
# C-Eval
# ---------------------------------------------------------------------------

def _ceval_expected(folder: Path) -> dict[str, list[str]]:
    out = {}
    for path in sorted((folder / "val").glob("*_val.csv")):
        rows = csv_rows(path, True)
        out[path.name[: -len("_val.csv")]] = [r[6] for r in rows]
    return out


def test_ceval_shared():
    folder = shared("ceval")
    items = load_benchmark("ceval", folder, 5)
    expected = _ceval_expected(folder)
    assert {s: [i.answer for i in its] for s, its in by_subtask(items).items()} == expected
    assert len(items) == 45
    net = by_subtask(items)["computer_network"]
    assert net[0].prompt.startswith("以下是中国关于计算机网络的单项选择题，请选出其中的正确答案。\n\n下列设备属于资源子网的是____。\nA. 计算机软件\n")
    assert net[0].prompt.endswith("\n答案：")
    assert exemplar_count(net[0].prompt, "\n答案： ") == 5
    assert net[1].answer == "C"  # val row 1 (在802.3标准中，发送帧之前需要____)
    # the unlabeled test split is not read
    assert not any("/test/" in p.as_posix() for p in source_files("ceval", folder))
    assert len(source_files("ceval", folder)) == 6


def test_ceval_demo():
    items = load_benchmark("ceval", DEMO / "ceval", 5)
    assert {s: [i.answer for i in its] for s, its in by_subtask(items).items()} == _ceval_expected(DEMO / "ceval")
    math_items = by_subtask(items)["middle_school_mathematics"]
    assert math_items[2].meta["source_id"] == "2"
    assert math_items[2].answer == "A"
    assert math_items[2].prompt == (
        "以下是中国关于初中数学的单项选择题，请选出其中的正确答案。\n\n"
        "计算 3 + 4 × 2 的结果是____。\nA. 14\nB. 11\nC. 10\nD. 9\n答案： B\n\n"
        "-5 的绝对值是____。\nA. 5\nB. -5\nC. 1/5\nD. -1/5\n答案： A\n\n"
        "一个三角形的内角和是____。\nA. 90°\nB. 360°\nC. 180°\nD. 270°\n答案： C\n\n"
        "方程 2x + 6 = 0 的解是____。\nA. x = 3\nB. x = 6\nC. x = -6\nD. x = -3\n答案： D\n\n"
        "下列各数中，最小的是____。\nA. -2\nB. 0\nC. 1\nD. -1\n答案： A\n\n"
        "若 a = 2，则 a² + 1 的值是____。\nA. 5\nB. 3\nC. 4\nD. 6\n答案：")


# ---------------------------------------------------------------------------
# CMMLU
# ---------------------------------------------------------------------------

def _cmmlu_expected(folder: Path) -> dict[str, list[str]]:
    return {p.stem: [r[6] for r in csv_rows(p, True)] for p in sorted(folder.rglob("test/*.csv"))}


def test_cmmlu_shared():
    folder = shared("cmmlu")
    items = load_benchmark("cmmlu", folder, 5)
    assert {s: [i.answer for i in its] for s, its in by_subtask(items).items()} == _cmmlu_expected(folder)
    assert len(items) == 45
    agr = by_subtask(items)["agronomy"][0]
    assert agr.prompt.startswith("以下是关于农学的单项选择题，请直接给出正确答案的选项。\n\n肉牛屠宰后，胴体的哪个部位肉质较好\nA. 胸\n")
    assert exemplar_count(agr.prompt, "\n答案： ") == 5 and agr.meta["n_shots"] == 5


def test_cmmlu_demo():
    items = load_benchmark("cmmlu", DEMO / "cmmlu", 5)
    assert {s: [i.answer for i in its] for s, its in by_subtask(items).items()} == _cmmlu_expected(DEMO / "cmmlu")
    food = by_subtask(items)["chinese_food_culture"][0]
    assert food.answer == "B"
    assert food.prompt == (
        "以下是关于中国饮食文化的单项选择题，请直接给出正确答案的选项。\n\n"
        "北方人过春节时常吃的传统食物是\nA. 饺子\nB. 粽子\nC. 月饼\nD. 汤圆\n答案： A\n\n"
        "月饼通常在哪个节日食用？\nA. 端午节\nB. 中秋节\nC. 元宵节\nD. 重阳节\n答案： B\n\n"
        "端午节的传统食品是\nA. 汤圆\nB. 月饼\nC. 粽子\nD. 年糕\n答案： C\n\n"
        "元宵节常吃的食物是\nA. 粽子\nB. 月饼\nC. 饺子\nD. 汤圆\n答案： D\n\n"
        "豆腐的主要原料是\nA. 大豆\nB. 大米\nC. 小麦\nD. 玉米\n答案： A\n\n"
        "\"北京烤鸭\"是哪座城市的著名菜肴？\nA. 上海\nB. 北京\nC. 广州\nD. 成都\n答案：")


# ---------------------------------------------------------------------------
# GAOKAO-Bench
# ---------------------------------------------------------------------------

def _gaokao_expected(folder: Path) -> dict[str, list[str]]:
    out = {}
    for path in sorted(folder.rglob("Objective_Questions/*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        out[path.stem] = ["".join(e["answer"]) for e in data["example"]]
    return out


def test_gaokao_shared():
    folder = shared("gaokao")
    items = load_benchmark("gaokao", folder, 0)
    assert {s: [i.answer for i in its] for s, its in by_subtask(items).items()} == _gaokao_expected(folder)
    assert len(items) == 30
    bio = by_subtask(items)["2010-2022_Biology_MCQs"][0]
    assert bio.kind == "mcq" and bio.answer == "D" and bio.id == "2010-2022_Biology_MCQs/0"
    assert bio.prompt.startswith("1．（ 6分）下列有关细胞的叙述，正确的是")
    assert bio.prompt.endswith("D．内质网膜和高尔基体膜都具有流动性\n答案：")
    assert bio.meta["year"] == "2010" and bio.meta["n_shots"] == 0


def test_gaokao_demo():
    items = load_benchmark("gaokao", DEMO / "gaokao", 0)
    assert {s: [i.answer for i in its] for s, its in by_subtask(items).items()} == _gaokao_expected(DEMO / "gaokao")
    phys = by_subtask(items)["2010-2022_Physics_MCQs"]
    multi = phys[2]
    assert multi.kind == "gen" and multi.answer == "AC" and multi.choices == ()
    assert [i.kind for i in phys] == ["mcq", "mcq", "gen", "mcq"]
    first = items[0]
    assert first.id == "2010-2022_Math_II_MCQs/0" and first.answer == "B"
    assert first.prompt == (
        "1．（5分）已知集合 A＝{1，2，3}，B＝{2，3，4}，则 A∩B＝（　　）\n"
        "A．{1}\nB．{2，3}\nC．{1，4}\nD．{1，2，3，4}\n答案：")
    # no exemplars exist for GAOKAO-Bench: shots is ignored
    assert load_benchmark("gaokao", DEMO / "gaokao", 5) == items


# ---------------------------------------------------------------------------
# AGIEval
# ---------------------------------------------------------------------------

def _agieval_expected(folder: Path) -> dict[str, list[str]]:
    out = {}
    for path in sorted(folder.rglob("v1/*.jsonl")):
        out[path.stem] = [r["label"] if r.get("options") else r["answer"] for r in jsonl(path)]
    return out


def test_agieval_shared():
    folder = shared("agieval")
    items = load_benchmark("agieval", folder, 0)
    assert {s: [i.answer for i in its] for s, its in by_subtask(items).items()} == _agieval_expected(folder)
    assert len(items) == 45
    groups = by_subtask(items)
    assert {i.kind for i in groups["gaokao-mathcloze"]} == {"gen"}
    assert {i.kind for i in groups["sat-math"]} == {"mcq"}
    sat = groups["sat-math"][0]
    assert sat.answer == "D"
    assert sat.prompt == ("Q: If $\\frac{x-1}{3}=k$ and $k=3$, what is the value of $x ?$ Answer Choices: "
                          "(A)2 (B)4 (C)9 (D)10\nA: Among A through D, the answer is")
    assert groups["gaokao-biology"][0].prompt.endswith("\n答案：从A到D, 我们应选择")
    assert groups["gaokao-mathcloze"][0].prompt.endswith("则 $a=(\\quad)$\n答案：")
    # few-shot (shots > 0) from few_shot_prompts.csv, which has 5 samples per task
    five = load_benchmark("agieval", folder, 5)
    assert all(i.meta["n_shots"] == 5 for i in five)
    bio = by_subtask(five)["gaokao-biology"][0]
    assert bio.prompt.startswith("以下是考试中各个问题的答案。\n问题 1.    我国谚语中的“螳螂捕蝉, 黄雀在后”")
    assert exemplar_count(bio.prompt, "\n答案是 ") == 5 and bio.prompt.endswith("\n答案是")
    three = load_benchmark("agieval", folder, 3)
    assert all(i.meta["n_shots"] == 3 for i in three)


def test_agieval_demo():
    items = load_benchmark("agieval", DEMO / "agieval", 0)
    assert {s: [i.answer for i in its] for s, its in by_subtask(items).items()} == _agieval_expected(DEMO / "agieval")
    groups = by_subtask(items)
    assert groups["gaokao-geography"][0].prompt == (
        "问题：地球上昼夜交替现象产生的原因是 选项：(A)地球公转 (B)地球自转 (C)太阳活动 (D)月球绕地球运动\n"
        "答案：从A到D, 我们应选择")
    assert groups["gaokao-mathcloze"][2].prompt == "问题：计算 $\\log _{2} 8=(\\quad)$\n答案："
    assert groups["gaokao-mathcloze"][2].answer == "3" and groups["gaokao-mathcloze"][2].kind == "gen"
    sat = groups["sat-math"][3]
    assert sat.answer == "A" and sat.choices == (" A", " B", " C", " D")
    assert sat.prompt == ("Q: The perimeter of a square is 20. What is the area of the square? "
                          "Answer Choices: (A)25 (B)20 (C)16 (D)400\nA: Among A through D, the answer is")
    # the demo few_shot_prompts.csv holds 2 samples per task: asking for 5 uses what exists
    few = by_subtask(load_benchmark("agieval", DEMO / "agieval", 5))
    assert few["sat-math"][0].meta["n_shots"] == 2
    assert few["sat-math"][0].prompt == (
        "Here are the answers for the problems in the exam.\n"
        "Problem 1.    If $3y=12$, what is the value of $y+1$ ?\n"
        "Choose from the following options:    (A)3 (B)4 (C)5 (D)13\n"
        "The answer is therefore C\n\n"
        "Problem 2.    What is $10 \\%$ of 50 ?\n"
        "Choose from the following options:    (A)0.5 (B)5 (C)10 (D)15\n"
        "The answer is therefore B\n\n"
        "Problem 3.    If $2x+3=11$, what is the value of $x$ ?\n"
        "Choose from the following options:    (A)3 (B)4 (C)5 (D)7\n"
        "The answer is therefore")
    assert few["gaokao-mathcloze"][0].prompt == (
        "以下是考试中各个问题的答案。\n"
        "问题 1.   已知 $x+2=5$, 则 $x=(\\quad)$\n答案是 3\n\n"
        "问题 2.   计算 $2^{3}=(\\quad)$\n答案是 8\n\n"
        "问题 3.   已知函数 $f(x)=x^{2}+1$, 则 $f(2)=(\\quad)$\n答案是")


# ---------------------------------------------------------------------------
# GSM8K
# ---------------------------------------------------------------------------

def _gsm8k_expected(folder: Path) -> list[str]:
    test = next(folder.rglob("test.jsonl"))
    return [r["answer"].split("####")[-1].strip().replace(",", "") for r in jsonl(test)]


def test_gsm8k_shared():
    folder = shared("gsm8k")
    items = load_benchmark("gsm8k", folder, 4)
    assert [i.answer for i in items] == _gsm8k_expected(folder)
    assert len(items) == 25 and items[0].answer == "18"
    first = items[0]
    assert first.prompt.startswith("Question: Natalia sold clips to 48 of her friends in April")
    assert "\nThe answer is 72.\n\nQuestion: Weng earns $12 an hour" in first.prompt
    assert exemplar_count(first.prompt, "Question: ") == 5 and "####" not in first.prompt
    assert first.prompt.endswith("How much in dollars does she make every day at the farmers' market?\nAnswer:")
    assert first.meta["n_shots"] == 4 and first.id == "test/0" and first.subtask == "gsm8k"


def test_gsm8k_demo():
    items = load_benchmark("gsm8k", DEMO / "gsm8k", 4)
    assert [i.answer for i in items] == _gsm8k_expected(DEMO / "gsm8k") == ["90", "12", "115", "29", "30", "8"]
    assert items[1].prompt == (
        "Question: Maria has 5 apples. She buys 7 more apples at the market. How many apples does Maria have now?\n"
        "Answer: Maria has 5 + 7 = <<5+7=12>>12 apples now.\nThe answer is 12.\n\n"
        "Question: A box holds 6 pencils. How many pencils are in 4 boxes?\n"
        "Answer: There are 6 * 4 = <<6*4=24>>24 pencils in 4 boxes.\nThe answer is 24.\n\n"
        "Question: Tom had 30 dollars. He spent 12 dollars on a book and 5 dollars on lunch. "
        "How much money does Tom have left?\n"
        "Answer: Tom spent 12 + 5 = <<12+5=17>>17 dollars.\nHe has 30 - 17 = <<30-17=13>>13 dollars left.\n"
        "The answer is 13.\n\n"
        "Question: A baker makes 48 cookies and puts them equally into 8 bags. How many cookies are in each bag?\n"
        "Answer: Each bag has 48 / 8 = <<48/8=6>>6 cookies.\nThe answer is 6.\n\n"
        "Question: There are 24 students in a class. Half of them are girls. How many boys are in the class?\n"
        "Answer:")
    one = load_benchmark("gsm8k", DEMO / "gsm8k", 1)
    assert exemplar_count(one[0].prompt, "Question: ") == 2
    many = load_benchmark("gsm8k", DEMO / "gsm8k", 8)  # 4 train items exist
    assert many[0].meta["n_shots"] == 4


def test_gsm8k_commas_removed(tmp_path):
    data = tmp_path / "grade_school_math" / "data"
    data.mkdir(parents=True)
    (data / "test.jsonl").write_text(json.dumps({"question": "Q?", "answer": "a lot\n#### 1,250"}) + "\n")
    (item,) = load_benchmark("gsm8k", tmp_path, 4)
    assert item.answer == "1250" and item.meta["n_shots"] == 0


# ---------------------------------------------------------------------------
# MATH
# ---------------------------------------------------------------------------

def test_math_shared():
    folder = shared("math")
    items = load_benchmark("math", folder, 4)
    records = jsonl(folder / "data" / "math" / "test.jsonl")
    assert len(items) == len(records) == 28
    assert sorted({i.subtask for i in items}) == sorted({r["type"] for r in records})
    by_id = {i.id: i for i in items}
    assert by_id["test/0"].answer == "1000000"
    assert by_id["test/2"].answer == "\\frac{1}{10}"  # nested braces
    for n, rec in enumerate(records):
        item = by_id[f"test/{n}"]
        assert item.subtask == rec["type"]
        assert "\\boxed{" + item.answer + "}" in rec["solution"]
        assert item.meta["n_shots"] == 4 and item.meta["fewshot_source"] == "same_file"
        # exemplars are other problems of the file, never the item itself
        assert item.prompt.count("Problem:\n" + rec["problem"] + "\n\nSolution:") == 1
        assert item.prompt.endswith("Problem:\n" + rec["problem"] + "\n\nSolution:")
        assert exemplar_count(item.prompt, "Problem:\n") == 5


def test_math_demo():
    items = load_benchmark("math", DEMO / "math", 4)
    assert [i.subtask for i in items] == ["Algebra"] * 3 + ["Number Theory"] * 2 + ["Prealgebra"] * 3
    assert [i.answer for i in items] == ["5", "3", "x^2 + 2x + 1", "2", "12", "\\frac{5}{6}", "16", "70"]
    assert all(i.meta["fewshot_source"] == "train" and i.meta["n_shots"] == 4 for i in items)
    assert items[3].id == "test/3"
    assert items[3].prompt == (
        "Problem:\nWhat is the value of $3 + 4 \\cdot 2$?\n\n"
        "Solution: Multiplication comes before addition, so $3 + 4 \\cdot 2 = 3 + 8 = \\boxed{11}$.\n\n"
        "Problem:\nSolve for $x$: $5x - 7 = 18$.\n\n"
        "Solution: Adding 7 to both sides gives $5x = 25$, so $x = \\boxed{5}$.\n\n"
        "Problem:\nWhat is the greatest common divisor of 12 and 18?\n\n"
        "Solution: The divisors of 12 are 1, 2, 3, 4, 6, 12 and the divisors of 18 are 1, 2, 3, 6, 9, 18. "
        "The largest number in both lists is $\\boxed{6}$.\n\n"
        "Problem:\nSimplify $\\frac{6}{8}$.\n\n"
        "Solution: Dividing the numerator and the denominator by 2 gives $\\frac{6}{8} = \\boxed{\\frac{3}{4}}$.\n\n"
        "Problem:\nWhat is the remainder when 47 is divided by 5?\n\nSolution:")


def test_math_last_boxed(tmp_path):
    recs = [
        {"problem": "p0", "level": "Level 1", "type": "Algebra", "solution": "$\\boxed{1}$ no, $\\boxed{\\{2, 3\\}}$."},
        {"problem": "p1", "level": "Level 1", "type": "Algebra", "solution": "so $x = \\boxed 7$."},
        {"problem": "p2", "level": "Level 1", "type": "Algebra", "solution": "\\fbox{\\dfrac{a}{b}}"},
    ]
    (tmp_path / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    items = load_benchmark("math", tmp_path, 1)
    assert [i.answer for i in items] == ["\\{2, 3\\}", "7", "\\dfrac{a}{b}"]
    assert items[0].prompt.startswith("Problem:\np1\n\nSolution: so") and items[1].prompt.startswith("Problem:\np0\n")


# ---------------------------------------------------------------------------
# HumanEval
# ---------------------------------------------------------------------------

def test_humaneval_shared():
    folder = shared("humaneval")
    items = load_benchmark("humaneval", folder, 0)
    records = jsonl(folder / "data" / "HumanEval.jsonl.gz")
    assert len(items) == len(records) == 10
    assert [i.id for i in items] == [r["task_id"] for r in records] == [f"HumanEval/{n}" for n in range(10)]
    for item, rec in zip(items, records):
        assert item.kind == "code" and item.answer == "" and item.prompt == rec["prompt"]
        assert item.meta["test"] == rec["test"] and item.meta["entry_point"] == rec["entry_point"]
        assert item.meta["canonical_solution"] == rec["canonical_solution"]
        assert item.meta["prompt_only"] == rec["prompt"]
    assert items[0].meta["entry_point"] == "has_close_elements"


def test_humaneval_demo_solutions_pass():
    items = load_benchmark("humaneval", DEMO / "humaneval", 0)
    assert [i.meta["entry_point"] for i in items] == ["sum_of_squares", "is_palindrome", "count_vowels"]
    assert items[1].prompt == (
        "\n\ndef is_palindrome(text: str) -> bool:\n"
        "    \"\"\" Return True if text reads the same forwards and backwards.\n"
        "    >>> is_palindrome('level')\n    True\n"
        "    >>> is_palindrome('lmdeck')\n    False\n"
        "    \"\"\"\n")
    for item in items:
        env: dict = {}
        exec(item.prompt + item.meta["canonical_solution"] + item.meta["test"], env)  # noqa: S102 (own demo data)
        env["check"](env[item.meta["entry_point"]])
        broken: dict = {}
        exec(item.prompt + "    return None\n" + item.meta["test"], broken)  # noqa: S102
        with pytest.raises(AssertionError):
            broken["check"](broken[item.meta["entry_point"]])


# ---------------------------------------------------------------------------
# BBH
# ---------------------------------------------------------------------------

def _bbh_expected(folder: Path) -> dict[str, list[str]]:
    out = {}
    for path in sorted((folder / "bbh").glob("*.json")):
        out[path.stem] = [e["target"] for e in json.loads(path.read_text(encoding="utf-8"))["examples"]]
    return out


def _bbh_body(folder: Path, task: str) -> str:
    text = (folder / "cot-prompts" / f"{task}.txt").read_text(encoding="utf-8")
    return text.split("-----", 1)[1].strip()


def test_bbh_shared():
    folder = shared("bbh")
    items = load_benchmark("bbh", folder, 3)
    assert {s: [i.answer for i in its] for s, its in by_subtask(items).items()} == _bbh_expected(folder)
    assert len(items) == 45
    for task, its in by_subtask(items).items():
        body = _bbh_body(folder, task)
        examples = json.loads((folder / "bbh" / f"{task}.json").read_text(encoding="utf-8"))["examples"]
        for item, ex in zip(its, examples):
            assert item.prompt == body + "\n\nQ: " + ex["input"] + "\nA: Let's think step by step."
            assert item.meta["n_shots"] == 3 and "canary" not in item.prompt
    date = by_subtask(items)["date_understanding"][0]
    assert date.answer.startswith("(") and date.kind == "gen"
    one = by_subtask(load_benchmark("bbh", folder, 1))["boolean_expressions"][0]
    assert one.meta["n_shots"] == 1 and exemplar_count(one.prompt, "\nA: Let's think step by step.") == 2
    assert one.prompt.startswith("Evaluate the result of a random Boolean expression.\n\nQ: not ( ( not not True ) ) is\n")


def test_bbh_demo():
    items = load_benchmark("bbh", DEMO / "bbh", 3)
    assert {s: [i.answer for i in its] for s, its in by_subtask(items).items()} == _bbh_expected(DEMO / "bbh")
    date = by_subtask(items)["date_understanding"][1]
    assert date.answer == "(B)"
    assert date.prompt == (
        "Work out dates from the given context.\n\n"
        "Q: Today is 03/15/2021. What is the date tomorrow in MM/DD/YYYY?\nOptions:\n"
        "(A) 03/16/2021\n(B) 03/14/2021\n(C) 04/15/2021\n(D) 03/16/2020\n"
        "A: Let's think step by step.\n"
        "Today is 03/15/2021. Tomorrow is one day later, which is 03/16/2021. So the answer is (A).\n\n"
        "Q: Yesterday was 12/31/2019. What is the date today in MM/DD/YYYY?\nOptions:\n"
        "(A) 12/30/2019\n(B) 01/01/2020\n(C) 01/01/2019\n(D) 12/01/2019\n"
        "A: Let's think step by step.\n"
        "Yesterday was 12/31/2019, so today is one day later, which is 01/01/2020. So the answer is (B).\n\n"
        "Q: Today is 07/04/2022. What is the date one week ago in MM/DD/YYYY?\nOptions:\n"
        "(A) 07/11/2022\n(B) 06/04/2022\n(C) 06/27/2022\n(D) 07/03/2022\n"
        "A: Let's think step by step.\n"
        "Today is 07/04/2022. One week ago is 7 days earlier, which is 06/27/2022. So the answer is (C).\n\n"
        "Q: Tomorrow is 03/01/2024. What is the date today in MM/DD/YYYY?\nOptions:\n"
        "(A) 02/28/2024\n(B) 02/29/2024\n(C) 03/02/2024\n(D) 02/01/2024\n"
        "A: Let's think step by step.")
    zero = by_subtask(load_benchmark("bbh", DEMO / "bbh", 0))["boolean_expressions"][0]
    assert zero.prompt == ("Evaluate the value of a Boolean expression.\n\n"
                           "Q: not False and False is\nA: Let's think step by step.")


# ---------------------------------------------------------------------------
# bad data
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_missing_folder(fmt, tmp_path):
    missing = tmp_path / "no_such_benchmark"
    with pytest.raises(DataError) as err:
        load_benchmark(fmt, missing, 0)
    assert str(missing) in str(err.value) and "does not exist" in str(err.value)
    with pytest.raises(DataError):
        source_files(fmt, missing)


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_empty_folder(fmt, tmp_path):
    (tmp_path / "notes.txt").write_text("nothing here\n")
    with pytest.raises(DataError) as err:
        load_benchmark(fmt, tmp_path, 0)
    assert str(tmp_path) in str(err.value) and "no " in str(err.value)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt,rel,text,line", [
    ("mmlu", "data/test/x_test.csv", "q1,a,b,c,d,A\nq2,a,b,c,d,B\nq3,a,b,c,B\n", 3),
    ("mmlu", "data/test/x_test.csv", "question,choice0,choice1,choice2,choice3,answer\nq1,a,b,c,d\n", 2),
    ("ceval", "val/x_val.csv", "id,question,A,B,C,D,answer\n0,q,a,b,c,d,A\n1,q,a,b,c,d,A,extra\n", 3),
    ("cmmlu", "data/test/x.csv", ",Question,A,B,C,D,Answer\n0,\"multi\nline q\",a,b,c,d,A\n1,q,a,b,c,A\n", 4),
])
def test_csv_wrong_column_count(fmt, rel, text, line, tmp_path):
    path = _write(tmp_path / rel, text)
    with pytest.raises(DataError) as err:
        load_benchmark(fmt, tmp_path, 0)
    msg = str(err.value)
    assert msg.startswith(f"{path} line {line}: expected")
    assert "columns" in msg


@pytest.mark.parametrize("fmt,rel", [
    ("gsm8k", "grade_school_math/data/test.jsonl"),
    ("math", "data/math/test.jsonl"),
    ("agieval", "data/v1/sat-math.jsonl"),
    ("humaneval", "data/HumanEval.jsonl"),
])
def test_jsonl_line_does_not_parse(fmt, rel, tmp_path):
    good = {"gsm8k": {"question": "q", "answer": "x\n#### 1"},
            "math": {"problem": "p", "level": "Level 1", "type": "Algebra", "solution": "$\\boxed{1}$"},
            "agieval": {"passage": "", "question": "q", "options": ["(A)1", "(B)2"], "label": "A"},
            "humaneval": {"task_id": "T/0", "prompt": "def f():\n", "canonical_solution": "    return 1\n",
                          "test": "def check(c):\n    assert c() == 1\n", "entry_point": "f"}}[fmt]
    path = _write(tmp_path / rel, json.dumps(good) + "\n\n" + '{"question": "broken\n')
    with pytest.raises(DataError) as err:
        load_benchmark(fmt, tmp_path, 0)
    assert str(err.value).startswith(f"{path} line 3: not valid JSON")


def test_gzip_jsonl_line_does_not_parse(tmp_path):
    path = tmp_path / "data" / "HumanEval.jsonl.gz"
    path.parent.mkdir()
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("{oops}\n")
    with pytest.raises(DataError, match=re.escape(f"{path} line 1: not valid JSON")):
        load_benchmark("humaneval", tmp_path, 0)


@pytest.mark.parametrize("fmt,rel", [("gaokao", "Data/Objective_Questions/x.json"), ("bbh", "bbh/x.json")])
def test_json_file_does_not_parse(fmt, rel, tmp_path):
    path = _write(tmp_path / rel, '{\n    "example": [\n        {"question": }\n    ]\n}\n')
    with pytest.raises(DataError) as err:
        load_benchmark(fmt, tmp_path, 0)
    assert str(err.value).startswith(f"{path} line 3: not valid JSON")


def test_answer_letter_outside_options_ceval(tmp_path):
    path = _write(tmp_path / "val" / "x_val.csv",
                  "id,question,A,B,C,D,answer\n0,q,a,b,c,d,A\n1,q,a,b,c,d,B\n2,q,a,b,c,d,E\n")
    with pytest.raises(DataError) as err:
        load_benchmark("ceval", tmp_path, 0)
    assert str(err.value) == f"{path} line 4: answer 'E' is not one of the options A-D"


@pytest.mark.parametrize("fmt,rel,text,where", [
    ("mmlu", "data/test/x_test.csv", "q1,a,b,c,d,A\nq2,a,b,c,d,e\n", "line 2"),
    ("mmlu", "data/test/x_test.csv", "question,choice0,choice1,choice2,choice3,answer\nq,a,b,c,d,4\n", "line 2"),
    ("cmmlu", "data/test/x.csv", ",Question,A,B,C,D,Answer\n0,q,a,b,c,d,F\n", "line 2"),
    ("agieval", "data/v1/sat-math.jsonl",
     '{"passage": "", "question": "q", "options": ["(A)1", "(B)2", "(C)3", "(D)4"], "label": "E"}\n', "line 1"),
    ("gaokao", "Data/Objective_Questions/x.json",
     json.dumps({"keywords": "x", "example": [
         {"question": "1. q\nA. a\nB. b\nC. c\nD. d\n", "answer": ["A"]},
         {"question": "2. q\nA. a\nB. b\nC. c\nD. d\n", "answer": ["E"]}]}), "example 1"),
])
def test_answer_letter_outside_options(fmt, rel, text, where, tmp_path):
    path = _write(tmp_path / rel, text)
    with pytest.raises(DataError) as err:
        load_benchmark(fmt, tmp_path, 0)
    msg = str(err.value)
    assert msg.startswith(f"{path} {where}: ")
    assert "is not one of the option" in msg


def test_dev_file_errors_are_reported(tmp_path):
    _write(tmp_path / "data" / "test" / "x_test.csv", "q,a,b,c,d,A\n")
    dev = _write(tmp_path / "data" / "dev" / "x_dev.csv", "q,a,b,c,d,A\nq,a,b,c,d,Z\n")
    with pytest.raises(DataError, match=re.escape(f"{dev} line 2: answer 'Z'")):
        load_benchmark("mmlu", tmp_path, 5)
    assert len(load_benchmark("mmlu", tmp_path, 0)) == 1  # 0-shot does not read dev


def test_gsm8k_without_final_answer(tmp_path):
    path = _write(tmp_path / "test.jsonl", json.dumps({"question": "q", "answer": "no final line"}) + "\n")
    with pytest.raises(DataError, match=re.escape(f"{path} line 1: answer has no final")):
        load_benchmark("gsm8k", tmp_path, 0)


def test_math_without_boxed(tmp_path):
    path = _write(tmp_path / "test.jsonl",
                  json.dumps({"problem": "p", "level": "Level 1", "type": "Algebra", "solution": "$\\boxed{1"}) + "\n")
    with pytest.raises(DataError, match=re.escape(f"{path} line 1: solution has no complete")):
        load_benchmark("math", tmp_path, 0)


def test_missing_field(tmp_path):
    path = _write(tmp_path / "bbh" / "t.json", json.dumps({"examples": [{"input": "x", "target": "y"}, {"input": "z"}]}))
    with pytest.raises(DataError, match=re.escape(f"{path} example 1: missing field 'target'")):
        load_benchmark("bbh", tmp_path, 3)


def test_bad_shots():
    with pytest.raises(ValueError):
        load_benchmark("mmlu", DEMO / "mmlu", -1)
