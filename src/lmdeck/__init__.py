"""lmdeck: LLM evaluation runs in, research-report deck out."""

__version__ = "0.1.0"
