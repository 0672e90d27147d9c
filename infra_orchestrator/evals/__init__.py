"""Evaluation over recorded scenarios: the scenario model, a workspace builder, the runner and its reports.

A front-end like the CLI: it builds each scenario's repository, calls :func:`graph.runner.run_request`
and compares the decision with the scenario's expectation. See ``evals/README.md``.
"""
