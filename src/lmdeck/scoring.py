"""Turn one generation into a 0/1 score.

Pure functions, called from lm-eval ``process_results`` hooks and OpenCompass
evaluators.  None of them raises on garbage model output: it scores 0.0.
Math equivalence is delegated to a maintained checker (``math_verify`` if
installed, else lm-eval's sympy-based ``is_equiv``, else a small sympy
fallback); plain string comparison happens only after normalisation.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation

from lmdeck.sandbox import run_python

__all__ = [
    "extract_gsm8k",
    "score_gsm8k",
    "last_boxed",
    "extract_math_answer",
    "math_equiv",
    "score_math",
    "extract_bbh",
    "score_bbh",
    "extract_choice_letters",
    "score_letters",
    "score_cloze",
    "truncate_completion",
    "score_code",
]

# --------------------------------------------------------------------- GSM8K

# lm-eval gsm8k-cot "strict-match" is `The answer is (\-?[0-9\.\,]+).`; its
# trailing unescaped "." eats a digit when the number ends the text, so we
# match the number alone and strip the punctuation afterwards.
_GSM_STRICT = re.compile(r"The answer is\s*\$?\s*(-?[0-9.,]*[0-9])", re.IGNORECASE)
_NUMBER = re.compile(r"-?\$?\s?[0-9][0-9,]*(?:\.[0-9]+)?")


def _clean_number(s: str) -> str:
    return s.replace(",", "").replace("$", "").replace(" ", "").rstrip(".")


def extract_gsm8k(text: str) -> str | None:
    """First "The answer is N" ("strict-match"), else the last number in the
    text ("flexible-extract"); commas, '$' and a trailing '.' removed."""
    text = text.strip()
    m = _GSM_STRICT.search(text)
    if m:
        return _clean_number(m.group(1))
    numbers = _NUMBER.findall(text)
    return _clean_number(numbers[-1]) if numbers else None


def _to_decimal(s: str) -> Decimal | None:
    try:
        d = Decimal(_clean_number(s))
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def score_gsm8k(generation: str, gold: str) -> float:
    """Numeric equality (18 == 18.0); `gold` may be the full GSM8K answer
    ending in "#### 18"."""
    pred = extract_gsm8k(generation)
    gold = gold.split("####")[-1].strip()
    if pred is None:
        return 0.0
    a, b = _to_decimal(pred), _to_decimal(gold)
    return float(a is not None and b is not None and a == b)


# ---------------------------------------------------------------------- MATH


def last_boxed(text: str) -> str | None:
    r"""Content of the last \boxed{...} / \fbox{...} (balanced braces), or of
    the `\boxed 5` form; None if absent or unbalanced."""
    start = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if start < 0:
        return None
    rest = text[start + (6 if text.startswith("\\boxed", start) else 5) :]
    if rest.startswith(" "):  # "\boxed 5$": up to the closing $ or blank
        token = rest.strip().split("$")[0].split()
        return token[0] if token else None
    if not rest.startswith("{"):
        return None
    depth = 0
    for i, ch in enumerate(rest):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth == 0:
            return rest[1:i].strip()
    return None


# Minerva's few-shot ends "Final Answer: The final answer is $x$. I hope it is correct."
_FINAL_ANSWER = re.compile(r"(?:final answer is|the answer is)[:\s]*(.+)", re.IGNORECASE)


def _strip_answer(s: str) -> str:
    s = re.sub(r"\s*I hope it is correct\.?\s*$", "", s.strip())
    return s.strip().rstrip(".。").strip().strip("$").strip()


def extract_math_answer(text: str) -> str | None:
    """The last \\boxed answer, else what follows the last "final answer is" /
    "The answer is" on its line."""
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed
    matches = _FINAL_ANSWER.findall(text)
    if not matches:
        return None
    return _strip_answer(matches[-1]) or None


def _normalize_tex(s: str) -> str:
    """Cosmetic LaTeX differences only; never changes the value."""
    s = s.strip().strip("$").strip()
    s = re.sub(r"\\text\{\s*([^{}]*?)\s*\}", r"\1", s)
    for old, new in (
        ("\\left", ""), ("\\right", ""), ("\\!", ""), ("\\,", ""), ("\\;", ""),
        ("\\dfrac", "\\frac"), ("\\tfrac", "\\frac"), ("^{\\circ}", ""),
        ("^\\circ", ""), ("\\%", ""), ("%", ""), ("**", "^"), (" ", ""),
    ):
        s = s.replace(old, new)
    s = re.sub(r"\\frac(\d)(\d)", r"\\frac{\1}{\2}", s)  # \frac12
    s = re.sub(r"\\frac\{([^{}]*)\}(\d)", r"\\frac{\1}{\2}", s)  # \frac{1}2
    s = re.sub(r"\\sqrt(\w)", r"\\sqrt{\1}", s)  # \sqrt2
    return s.rstrip(".")


# --- the sympy fallback, used only when neither math_verify nor lm-eval's
# checker can be imported.  sympy parses with eval(), so untrusted text is
# admitted only if it is a small arithmetic expression in one-letter symbols.
_SAFE_EXPR = re.compile(r"[0-9a-zA-Z+\-*/().]+")
_SAFE_NAMES = {"sqrt", "pi"}


def _tex_to_python(s: str) -> str | None:
    for _ in range(10):  # innermost first; bounded for nested input
        new = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", r"((\1)/(\2))", s)
        new = re.sub(r"\\sqrt\{([^{}]*)\}", r"sqrt(\1)", new)
        if new == s:
            break
        s = new
    s = s.replace("\\pi", "pi").replace("\\cdot", "*").replace("\\times", "*")
    s = s.replace("^", "**").replace("{", "(").replace("}", ")")
    if len(s) > 80 or not _SAFE_EXPR.fullmatch(s) or s.count("**") > 1:
        return None  # too big / not plain arithmetic; '**' chains could hang
    if re.search(r"\.(?!\d)|(?<!\d)\.", s):  # '.' only inside numbers: no attributes
        return None
    if any(len(w) > 1 and w not in _SAFE_NAMES for w in re.findall(r"[a-zA-Z]+", s)):
        return None
    return s


def _sympy_equiv(a: str, b: str) -> bool:
    import sympy
    from sympy.parsing.sympy_parser import (
        implicit_multiplication_application,
        parse_expr,
        standard_transformations,
    )

    pa, pb = _tex_to_python(a), _tex_to_python(b)
    if pa is None or pb is None:
        return False
    transformations = standard_transformations + (implicit_multiplication_application,)
    try:
        ea = parse_expr(pa, transformations=transformations)
        eb = parse_expr(pb, transformations=transformations)
        return bool(sympy.simplify(ea - eb) == 0)
    except Exception:  # noqa: BLE001 - any parse/simplify failure means "not shown equal"
        return False


@functools.lru_cache(maxsize=1)
def _equiv_backend() -> tuple[str, Callable[[str, str], bool]]:
    """The best installed math-equivalence checker, decided once."""
    try:
        from math_verify import parse, verify

        def mv_equiv(gold: str, pred: str) -> bool:
            # math_verify times out via signal.alarm, which only works in the
            # main thread; elsewhere run without its timeout.
            t = 5 if threading.current_thread() is threading.main_thread() else None
            g = parse(f"${gold}$", parsing_timeout=t)
            p = parse(f"${pred}$", parsing_timeout=t)
            return bool(g and p and verify(g, p, timeout_seconds=t))

        return "math_verify", mv_equiv
    except ImportError:
        pass
    try:
        # lm-eval >= 0.4.8 itself needs math_verify + antlr4 4.11 here (it
        # raises ModuleNotFoundError/AssertionError); older ones only sympy.
        from lm_eval.tasks.minerva_math.utils import is_equiv

        return "lm_eval", lambda gold, pred: bool(is_equiv(pred, gold))
    except Exception:  # noqa: BLE001 - a broken optional import must not stop scoring
        pass
    return "sympy", _sympy_equiv


def math_equiv(gold: str, pred: str) -> bool:
    """True iff `pred` is mathematically equivalent to `gold`."""
    g, p = _normalize_tex(gold), _normalize_tex(pred)
    if not g or not p:
        return False
    if g == p:  # identical after cosmetic normalisation
        return True
    _name, equiv = _equiv_backend()
    try:
        return equiv(g, p)
    except Exception:  # noqa: BLE001 - checker errors/timeouts on junk count as wrong
        return False


def score_math(generation: str, gold: str) -> float:
    pred = extract_math_answer(generation)
    return float(pred is not None and math_equiv(gold, pred))


# ----------------------------------------------------------------------- BBH

_BBH_ANSWER = re.compile(r"So the answer is", re.IGNORECASE)
_MCQ = re.compile(r"\(?([A-Za-z])\)?")


def extract_bbh(text: str) -> str:
    """The sentence after the last "So the answer is" (CoT prompts), else the
    first non-empty line (direct-answer prompts); trailing '.' removed."""
    parts = _BBH_ANSWER.split(text)
    if len(parts) > 1:
        answer = parts[-1].strip().split("\n")[0]
        answer = re.split(r"\.\s", answer)[0]  # end of the sentence, keeps "3.5"
    else:
        answer = next((ln for ln in text.splitlines() if ln.strip()), "")
    return answer.strip().rstrip(".").strip()


def _bbh_norm(s: str) -> str:
    s = " ".join(s.split()).casefold()
    m = _MCQ.fullmatch(s)
    return m.group(1) if m else s  # "(A)", "(a)", "A" -> "a"


def score_bbh(generation: str, target: str) -> float:
    pred, gold = _bbh_norm(extract_bbh(generation)), _bbh_norm(target)
    if len(gold) == 1 and len(pred) > 1:  # "(A) blue" -> "a"
        m = re.match(r"\(([a-z])\)", pred)
        pred = m.group(1) if m else pred
    return float(bool(pred) and pred == gold)


# ------------------------------------------------- Gaokao / AGIEval choices

_ANSWER_MARK = re.compile(r"答案|answer is|answer:|answer：", re.IGNORECASE)
_LETTER_RUN = re.compile(r"(?<![A-Za-z])[A-Z]+(?![A-Za-z])")
_LETTER_GAP = re.compile(r"(?:[\s,，、;；/&()（）.。:：]|and|和|与|及)*")


def _first_letter_group(text: str, valid: set[str]) -> str:
    """Letters of the first run of options such as "AC", "A、C", "(A) and (C)"."""
    runs = [m for m in _LETTER_RUN.finditer(text) if set(m.group()) <= valid]
    if not runs:
        return ""
    letters, end = runs[0].group(), runs[0].end()
    for m in runs[1:]:
        if not _LETTER_GAP.fullmatch(text[end : m.start()]):
            break  # the answer ended; later capitals belong to the explanation
        letters, end = letters + m.group(), m.end()
    return letters


def extract_choice_letters(text: str, n_options: int) -> str:
    """Option letters A.. (of `n_options`) chosen in a generation, sorted and
    deduplicated: "答案：AC" -> "AC".  Looks after the last answer marker
    ("答案", "answer is") first, else takes the first group in the text."""
    valid = {chr(ord("A") + i) for i in range(max(0, min(n_options, 26)))}
    marks = list(_ANSWER_MARK.finditer(text))
    letters = ""
    if marks:
        letters = _first_letter_group(text[marks[-1].end() :].split("\n")[0], valid)
    if not letters:
        letters = _first_letter_group(text, valid)
    return "".join(sorted(set(letters)))


def _gold_letters(gold: str | Iterable[str]) -> set[str]:
    text = gold if isinstance(gold, str) else "".join(gold)
    return set(re.findall(r"[A-Z]", text.upper()))


def score_letters(generation: str, gold: str | Iterable[str], n_options: int = 5) -> float:
    """Exact set match; `gold` as "AC", "A,C" or ["A", "C"].  The default of
    5 options covers AGIEval (A-E) and Gaokao (A-D)."""
    gold_set = _gold_letters(gold)
    pred = set(extract_choice_letters(generation, n_options))
    return float(bool(gold_set) and pred == gold_set)


def score_cloze(generation: str, gold: str) -> float:
    """AGIEval cloze: \\boxed answer, else after the last "答案", else after
    "The answer is", else the first line; compared with math_equiv."""
    pred = last_boxed(generation)
    if pred is None and "答案" in generation:
        after = generation.rsplit("答案", 1)[1].split("\n")[0]
        pred = re.sub(r"^\s*(?:是|为|应为)?\s*[:：]?", "", after)
    if pred is None:
        pred = extract_math_answer(generation)
    if pred is None:
        pred = next((ln for ln in generation.splitlines() if ln.strip()), "")
    pred = _strip_answer(pred)
    return float(bool(pred) and math_equiv(gold, pred))


# ---------------------------------------------------------------------- code

# The HumanEval authors' stop sequences: a new top-level statement ends the body.
_STOP_SEQUENCES = ("\nclass", "\ndef", "\n#", "\nif", "\nprint")


def truncate_completion(text: str) -> str:
    """Cut a HumanEval completion at the first top-level stop sequence."""
    cut = min((i for s in _STOP_SEQUENCES if (i := text.find(s)) >= 0), default=len(text))
    return text[:cut]


def score_code(completion: str, problem: dict, timeout_s: float = 5.0) -> float:
    """1.0 iff prompt + completion + tests exit 0 within `timeout_s` in the
    sandbox.  Executes model-written code: callers must have the config's
    explicit opt-in (see lmdeck.sandbox)."""
    program = (
        problem["prompt"]
        + completion
        + "\n"
        + problem["test"]
        + f"\ncheck({problem['entry_point']})\n"
    )
    return float(run_python(program, timeout_s=timeout_s).passed)
