"""Rules: what makes a post worth an alert. The pure core of the service.

``load_ruleset`` reads the shipped ``military-discipline`` pack and user TOML files into a
``RuleSet``; ``RuleSet.evaluate(text)`` returns the ``Match``es of a post, best first. Rule
kinds (``keyword``, ``regex``) are registered in ``loader.KINDS``. Nothing in this package does
network, database or Telegram I/O; files are read only by ``load_ruleset``.
"""

from __future__ import annotations

from monitor.rules.keyword import KeywordRule
from monitor.rules.loader import DEFAULT_PACK, KINDS, load_ruleset
from monitor.rules.regex import RegexRule
from monitor.rules.ruleset import Rule, RuleSet
from monitor.rules.schema import CATEGORIES, LANGUAGES

__all__ = [
    "CATEGORIES",
    "DEFAULT_PACK",
    "KINDS",
    "LANGUAGES",
    "KeywordRule",
    "RegexRule",
    "Rule",
    "RuleSet",
    "load_ruleset",
]
