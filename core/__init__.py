"""The bottom layer: domain models, errors, configuration and the one renderer of a decision.

Everything above imports from here; nothing here imports from ``tools``, ``agents``, ``graph`` or the
front-ends (``infra_orchestrator``).
"""

__version__ = "0.1.0"
__distribution__ = "infra-orchestrator"  # start-up check: infra_orchestrator/shadow.py
