__distribution__ = "infra-orchestrator"  # start-up check: infra_orchestrator/shadow.py
