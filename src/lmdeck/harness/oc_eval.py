"""OpenCompass evaluator that scores generations with lmdeck's scorers (same as lm-eval's hook)."""

from opencompass.openicl.icl_evaluator import BaseEvaluator
from opencompass.registry import ICL_EVALUATORS

from lmdeck.harness.hooks import score_generation


@ICL_EVALUATORS.register_module()
class LmdeckGenerationEvaluator(BaseEvaluator):
    def score(self, predictions, references, test_set):
        if len(predictions) != len(references):
            return {"error": "predictions and references differ in length"}
        scores = [score_generation(doc, pred) for doc, pred in zip(test_set, predictions)]
        details = {str(i): {"pred": p, "answer": r, "correct": bool(s)}
                   for i, (p, r, s) in enumerate(zip(predictions, references, scores))}
        return {"accuracy": 100.0 * sum(scores) / len(scores), "details": details}
