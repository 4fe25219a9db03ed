import random
import string

import pytest

from lmdeck import scoring as S

# ------------------------------------------------------------------ garbage

_rng = random.Random(1234)
_ALPHABET = string.printable + "答案：，。\\{}$()^_ÄΩ"
GARBAGE = [
    "",
    "   \n\t ",
    "\\boxed{",
    "\\boxed{\\frac{1}{",
    "So the answer is",
    "The answer is",
    "答案",
    "}}}{{{\\fbox",
    "The answer is $$$.,.,",
    "__import__('os').system('echo pwned')",
    "\\boxed{__import__('os').system('echo pwned')}",
    "\\boxed{9**9**9**9**9}",
    "\\boxed{" + "(" * 200 + "}",
    "lorem ipsum " * 200,
] + ["".join(_rng.choice(_ALPHABET) for _ in range(_rng.randint(1, 300))) for _ in range(40)]


@pytest.mark.parametrize("text", GARBAGE)
def test_garbage_scores_zero_and_never_raises(text):
    assert S.score_gsm8k(text, "18") == 0.0
    assert S.score_math(text, "\\frac{1}{2}") == 0.0
    assert S.score_bbh(text, "(A)") in (0.0, 1.0)  # a random "(A)" may hit; must not raise
    assert S.score_bbh(text, "valid") == 0.0
    assert S.score_letters(text, "ABD") == 0.0
    assert S.score_cloze(text, "\\frac{7}{3}") == 0.0
    S.extract_gsm8k(text), S.last_boxed(text), S.extract_bbh(text)
    S.extract_choice_letters(text, 4), S.truncate_completion(text)


# -------------------------------------------------------------------- GSM8K

COT = (
    "Natalia sold 48/2 = 24 clips in May.\n"
    "Natalia sold 48+24 = 72 clips altogether in April and May. The answer is 72.\n\n"
    "Question: Weng earns $12 an hour. The answer is 10."
)


@pytest.mark.parametrize(
    "text, expected",
    [
        (COT, "72"),  # first strict match wins over a hallucinated next question
        ("So she has 1,234 apples. The answer is 1,234.", "1234"),
        ("The answer is $18.", "18"),
        ("The answer is -3.5", "-3.5"),
        ("the answer is 7", "7"),
        ("She pays 3 * $4 = $12 in total, so she keeps $1,000.", "1000"),  # flexible
        ("Janet has 16 - 3 - 4 = 9 eggs, 9 * 2 = 18", "18"),
        ("no digits here", None),
    ],
)
def test_extract_gsm8k(text, expected):
    assert S.extract_gsm8k(text) == expected


def test_score_gsm8k():
    assert S.score_gsm8k(COT, "72") == 1.0
    assert S.score_gsm8k("The answer is 18.0.", "18") == 1.0
    assert S.score_gsm8k("The answer is 18.", "She makes 9 * 2 = $<<9*2=18>>18.\n#### 18") == 1.0
    assert S.score_gsm8k("The answer is 1,800.", "1800") == 1.0
    assert S.score_gsm8k("The answer is 17.", "18") == 0.0
    assert S.score_gsm8k("The answer is 18.", "not a number") == 0.0


# --------------------------------------------------------------------- MATH


@pytest.mark.parametrize(
    "text, expected",
    [
        ("so $x = \\boxed{\\frac{1}{2}}$.", "\\frac{1}{2}"),
        ("\\boxed{1} then \\boxed{\\{a, b\\}}", "\\{a, b\\}"),
        ("\\fbox{42}", "42"),
        ("$\\boxed 5$", "5"),
        ("\\boxed{\\frac{1}{2}", None),  # unbalanced
        ("no box", None),
    ],
)
def test_last_boxed(text, expected):
    assert S.last_boxed(text) == expected


def test_extract_math_answer():
    minerva = "We get $x=2$.\nFinal Answer: The final answer is $\\frac{3}{4}$. I hope it is correct."
    assert S.extract_math_answer(minerva) == "\\frac{3}{4}"
    assert S.extract_math_answer("Thus the answer is 3.") == "3"
    assert S.extract_math_answer("I am not sure.") is None


@pytest.mark.parametrize(
    "gold, pred",
    [
        ("\\frac{1}{2}", "0.5"),
        ("\\frac{1}{2}", "\\dfrac12"),
        ("3", "3.0"),
        ("x^2", "x**2"),
        ("\\frac{\\sqrt{2}}{2}", "\\sqrt{2}/2"),
        ("10", "10\\%"),
        ("\\text{(B)}", "(B)"),
    ],
)
def test_math_equiv_positive(gold, pred):
    assert S.math_equiv(gold, pred)


@pytest.mark.parametrize("gold, pred", [("2", "3"), ("\\frac{1}{2}", "\\frac{1}{3}"), ("x^2", "x^3"), ("1", "")])
def test_math_equiv_negative(gold, pred):
    assert not S.math_equiv(gold, pred)


@pytest.mark.parametrize("gold, pred", [("\\frac{1}{2}", "0.5"), ("\\dfrac12", "\\frac{1}{2}"), ("3", "3.0"), ("x^2", "x**2"), ("2x+1", "1+2*x")])
def test_sympy_fallback_equivalences(gold, pred):
    # exercised even when math_verify is installed
    assert S._sympy_equiv(S._normalize_tex(gold), S._normalize_tex(pred))
    assert not S._sympy_equiv("2", "3")


@pytest.mark.parametrize("junk", ["__import__('os')", "x.__class__", "9**9**9", "a" * 100, "lambda: 1", "abc"])
def test_sympy_fallback_refuses_unsafe_input(junk):
    assert S._tex_to_python(S._normalize_tex(junk)) is None


def test_score_math():
    gen = "The roots sum to $-b/a = 1/2$, so the answer is $\\boxed{\\dfrac{1}{2}}$."
    assert S.score_math(gen, "\\frac{1}{2}") == 1.0
    assert S.score_math(gen, "\\frac{1}{3}") == 0.0
    assert S.score_math("Final Answer: The final answer is $3.0$. I hope it is correct.", "3") == 1.0
    assert S.score_math("I think it is 0.5", "\\frac{1}{2}") == 0.0  # no answer marker


def test_equiv_backend_is_a_maintained_checker_or_fallback():
    name, _ = S._equiv_backend()
    assert name in {"math_verify", "lm_eval", "sympy"}


# ---------------------------------------------------------------------- BBH


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Let's think step by step.\n(A) is wrong... So the answer is (B).", "(B)"),
        ("So the answer is No. Next question: So the answer is Yes.\nQ: blah", "Yes"),
        ("So the answer is 3.5.", "3.5"),
        ("So the answer is ) ] }.", ") ] }"),
        ("so the answer is valid. Because rules.", "valid"),
        ("(C)\n\nQ: next question", "(C)"),  # direct-answer prompt
        ("", ""),
    ],
)
def test_extract_bbh(text, expected):
    assert S.extract_bbh(text) == expected


def test_score_bbh():
    assert S.score_bbh("... So the answer is (A).", "(A)") == 1.0
    assert S.score_bbh("... So the answer is A.", "(A)") == 1.0
    assert S.score_bbh("... So the answer is (a).", "(A)") == 1.0
    assert S.score_bbh("... So the answer is (A) red.", "(A)") == 1.0
    assert S.score_bbh("... So the answer is (B).", "(A)") == 0.0
    assert S.score_bbh("So the answer is True.", "True") == 1.0
    assert S.score_bbh("So the answer is  ]  ) }.", "] ) }") == 1.0
    assert S.score_bbh("So the answer is apple banana.", "apple banana cherry") == 0.0
    assert S.score_bbh("So the answer is Apples.", "A") == 0.0  # word, not option A


# ----------------------------------------------------------- Gaokao / AGIEval


@pytest.mark.parametrize(
    "text, n, expected",
    [
        ("答案：AC", 4, "AC"),
        ("解析：A 项错误，B 项正确。\n故答案为：CB", 4, "BC"),
        ("答案是 A、C、D。因为 B 错误", 4, "ACD"),
        ("The answer is (A) and (C).", 4, "AC"),
        ("The answer is AAC", 4, "AC"),
        ("The answer is E", 4, ""),  # out of range
        ("The answer is E", 5, "E"),
        ("B", 4, "B"),
        ("I think this is hard", 4, ""),
    ],
)
def test_extract_choice_letters(text, n, expected):
    assert S.extract_choice_letters(text, n) == expected


def test_score_letters():
    assert S.score_letters("答案：CA", "AC") == 1.0
    assert S.score_letters("答案：A", "AC") == 0.0
    assert S.score_letters("答案：ACD", ["A", "C"]) == 0.0
    assert S.score_letters("The answer is B, D", "B,D") == 1.0


def test_score_cloze():
    assert S.score_cloze("答案：$\\frac{1}{2}$", "0.5") == 1.0
    assert S.score_cloze("解：由题意得 x=2，\n所以答案为 \\dfrac{7}{3}", "\\frac{7}{3}") == 1.0
    assert S.score_cloze("3\n because...", "3") == 1.0
    assert S.score_cloze("The answer is 4.", "3") == 0.0
    assert S.score_cloze("so $\\boxed{2}$", "2") == 1.0


# --------------------------------------------------------------------- code

PROBLEM = {
    "prompt": 'def add(a: int, b: int) -> int:\n    """Add two numbers."""\n',
    "test": "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0\n",
    "entry_point": "add",
}


def test_truncate_completion():
    raw = "    return a + b\n\n\ndef extra():\n    pass\n"
    assert S.truncate_completion(raw) == "    return a + b\n\n"
    assert S.truncate_completion("    x = 1\n    if x:\n        return x\nif __name__ == '__main__':\n") == "    x = 1\n    if x:\n        return x"
    assert S.truncate_completion("    return 1\n# test\nprint(1)") == "    return 1"
    assert S.truncate_completion("    return 1") == "    return 1"


def test_score_code():
    assert S.score_code("    return a + b\n", PROBLEM) == 1.0
    assert S.score_code("    return a - b\n", PROBLEM) == 0.0
    assert S.score_code("    return a +\n", PROBLEM) == 0.0  # syntax error
    assert S.score_code("    while True:\n        pass\n", PROBLEM, timeout_s=1.0) == 0.0
    assert S.score_code("    import os\n    os.system('true')\n    return a + b\n", PROBLEM) == 0.0
    assert S.score_code(S.truncate_completion("    return a + b\n\ndef junk(:\n"), PROBLEM) == 1.0


def test_scoring_works_off_the_main_thread():
    # math_verify's signal-based timeout only works in the main thread
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        math_score = pool.submit(S.score_math, "\\boxed{\\dfrac12}", "0.5")
        code_score = pool.submit(S.score_code, "    return a + b\n", PROBLEM)
        assert math_score.result() == 1.0
        assert code_score.result() == 1.0
