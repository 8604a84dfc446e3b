"""The knowledge base: instrument definitions (data) and the code that loads and proves them."""

from mescc.kb.loader import KnowledgeBase, load_kb

__all__ = ["KnowledgeBase", "load_kb"]
