"""Workload hardening beyond the Pod Security Standards: host mounts, root filesystem, UIDs, service-account
tokens, images, ports and known-dangerous components (dashboard, Tiller, git-sync, OpenShift SCCs).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator

from core.models import Category, K8sObject, Severity
from tools.checks.core import Hit, check
from tools.checks.podspec import (
    WORKLOAD_KINDS,
    Container,
    as_dict,
    as_list,
    as_str,
    containers,
    effective_security,
    name_of,
    pod_hit,
    pod_spec,
    pod_template,
    security_field,
    spec_of,
)

SENSITIVE_HOST_PATHS = ("/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr", "/root", "/var/lib/kubelet")
_RUNTIME_SOCKET = re.compile(r"(docker|containerd|crio|cri-dockerd)\.sock$")
_RUNTIME_SOCKET_DIRS = ("/var/run", "/run", "/var/run/docker", "/run/containerd", "/var/run/crio")
HIGH_ID = 10000
TILLER_PORT = 44134


def _host_paths(obj: K8sObject) -> Iterator[tuple[str, str, str]]:
    """(path of the volume's ``hostPath.path`` in the pod spec, volume name, normalised host path) of every
    hostPath volume."""
    for i, volume in enumerate(as_list(pod_spec(obj).get("volumes"))):
        path = as_dict(as_dict(volume).get("hostPath")).get("path")
        if isinstance(path, str) and path:
            yield f"volumes[{i}].hostPath.path", str(as_dict(volume).get("name", "<unnamed>")), posixpath.normpath(path)


def _is_sensitive(path: str) -> bool:
    return path == "/" or any(path == p or path.startswith(p + "/") for p in SENSITIVE_HOST_PATHS)


@check(id="SEC-HOSTPATH-SENSITIVE", category=Category.security, severity=Severity.critical,
       kinds=WORKLOAD_KINDS,
       title="Sensitive host directory mounted",
       description="A hostPath of /, /boot, /dev, /etc, /lib, /proc, /sys, /usr, /root or /var/lib/kubelet "
                   "gives the pod the node's configuration, credentials or devices.",
       remediation="Remove the hostPath volume; use a ConfigMap, Secret, PVC or CSI driver instead.",
       peers={"kube-linter": "sensitive-host-mounts"})
def hostpath_sensitive(obj: K8sObject) -> Iterator[Hit]:
    for where, name, path in _host_paths(obj):
        if _is_sensitive(path):
            yield pod_hit(obj, f"volume '{name}' mounts the sensitive host path '{path}'", where)


@check(id="SEC-HOSTPATH-WRITABLE", category=Category.security, severity=Severity.medium, default_enabled=False,
       kinds=WORKLOAD_KINDS,
       title="Writable hostPath mount",
       description="A hostPath volume mounted without readOnly: true lets the container change the node's files.",
       remediation="Mount hostPath volumes with readOnly: true (or remove them).",
       peers={"kube-linter": "writable-host-mount"})
def hostpath_writable(obj: K8sObject) -> Iterator[Hit]:
    host_volumes = {name for _, name, _ in _host_paths(obj)}
    for c in containers(obj):
        for where, mount in c.entries("volumeMounts"):
            if as_str(mount.get("name")) in host_volumes and mount.get("readOnly") is not True:
                yield c.hit(f"mounts hostPath volume '{mount.get('name')}' writable", f"{where}.readOnly")


@check(id="SEC-DOCKER-SOCK", category=Category.security, severity=Severity.critical,
       kinds=WORKLOAD_KINDS,
       title="Container runtime socket mounted",
       description="Mounting the Docker/containerd/CRI-O socket (or its directory) lets the pod start privileged "
                   "containers on the node: it is root on the node.",
       remediation="Remove the runtime-socket hostPath; build images with a rootless builder (Kaniko, BuildKit).",
       peers={"kube-linter": "docker-sock", "checkov": "CKV_K8S_27"})
def docker_sock(obj: K8sObject) -> Iterator[Hit]:
    for where, name, path in _host_paths(obj):
        if _RUNTIME_SOCKET.search(path) or path in _RUNTIME_SOCKET_DIRS:
            yield pod_hit(obj, f"volume '{name}' mounts the container runtime socket path '{path}'", where)


@check(id="SEC-HIGH-UID-GID", category=Category.security, severity=Severity.low, default_enabled=False,
       kinds=WORKLOAD_KINDS,
       title="UID/GID below 10000",
       description="A runAsUser/runAsGroup below 10000 may collide with a privileged user of the node if the "
                   "container escapes (irrelevant with user namespaces, hostUsers: false).",
       remediation="Run as a UID and GID of 10000 or more.",
       peers={"kube-score": "container-security-context-user-group-id", "checkov": "CKV_K8S_40"})
def high_uid_gid(obj: K8sObject) -> Iterator[Hit]:
    if pod_spec(obj).get("hostUsers") is False:
        return
    for c in containers(obj):
        for field in ("runAsUser", "runAsGroup"):
            value = effective_security(c, field)
            if not (type(value) is int and value >= HIGH_ID):
                yield c.hit(f"has {field} {value if value is not None else 'unset'} (< {HIGH_ID})",
                            path=security_field(c, field))


@check(id="SEC-READONLY-ROOTFS", category=Category.security, severity=Severity.low,
       kinds=WORKLOAD_KINDS,
       title="Writable root filesystem",
       description="A writable root filesystem lets an attacker drop tools or modify the application; mount "
                   "emptyDir volumes for the paths that must be writable.",
       remediation="Set securityContext.readOnlyRootFilesystem: true and mount emptyDir at writable paths (/tmp).",
       peers={"kube-linter": "no-read-only-root-fs", "kube-score": "container-security-context-readonlyrootfilesystem",
              "polaris": "notReadOnlyRootFilesystem", "checkov": "CKV_K8S_22"})
def readonly_rootfs(obj: K8sObject) -> Iterator[Hit]:
    for c in containers(obj):
        if c.security.get("readOnlyRootFilesystem") is not True:
            yield c.hit("does not set readOnlyRootFilesystem: true", "securityContext.readOnlyRootFilesystem")


@check(id="SEC-SECCTX-PRESENT", category=Category.security, severity=Severity.low, default_enabled=False,
       kinds=WORKLOAD_KINDS,
       title="securityContext missing",
       description="No securityContext at pod or container level: every setting is the runtime default. The "
                   "specific settings are checked individually; this is checkov's presence check.",
       remediation="Add a securityContext to the pod and its containers.",
       peers={"checkov": "CKV_K8S_29,CKV_K8S_30"})
def secctx_present(obj: K8sObject) -> Iterator[Hit]:
    if pod_template(obj) is not None and not as_dict(pod_spec(obj).get("securityContext")):
        yield pod_hit(obj, "the pod has no securityContext", "securityContext")
    for c in containers(obj):
        if not c.security:
            yield c.hit("has no securityContext", "securityContext")


@check(id="SEC-DEFAULT-SA", category=Category.security, severity=Severity.low, default_enabled=False,
       kinds=WORKLOAD_KINDS | {"ServiceAccount", "RoleBinding", "ClusterRoleBinding"},
       title="Default service account used",
       description="Pods running as the namespace's 'default' ServiceAccount share its permissions with every "
                   "other such pod; bindings granting to 'default' grant to all of them.",
       remediation="Create a dedicated ServiceAccount per workload and set serviceAccountName.",
       peers={"kube-linter": "default-service-account", "checkov": "CKV_K8S_41,CKV_K8S_42"})
def default_sa(obj: K8sObject) -> Iterator[Hit]:
    if pod_template(obj) is not None and pod_spec(obj).get("serviceAccountName") in (None, "", "default"):
        yield pod_hit(obj, f"{name_of(obj)} runs as the 'default' ServiceAccount", "serviceAccountName")
    if obj.kind == "ServiceAccount" and obj.name == "default" and obj.body.get("automountServiceAccountToken") \
            is not False:
        yield Hit("the 'default' ServiceAccount automounts its token", field="automountServiceAccountToken")
    if obj.kind in ("RoleBinding", "ClusterRoleBinding"):
        for i, subject in enumerate(as_list(obj.body.get("subjects"))):
            if as_dict(subject).get("kind") == "ServiceAccount" and as_dict(subject).get("name") == "default":
                yield Hit(f"{name_of(obj)} grants its role to a 'default' ServiceAccount", field=f"subjects[{i}]")


@check(id="SEC-SECRET-ENV-REF", category=Category.security, severity=Severity.low, default_enabled=False,
       kinds=WORKLOAD_KINDS,
       title="Secret consumed through environment variables",
       description="Secrets in env vars leak through crash dumps, child processes and logs of the environment; "
                   "CIS 5.4.1 prefers mounted files.",
       remediation="Mount the Secret as a volume and read the file.",
       peers={"kube-linter": "read-secret-from-env-var", "checkov": "CKV_K8S_35"})
def secret_env_ref(obj: K8sObject) -> Iterator[Hit]:
    for c in containers(obj):
        for where, env in c.entries("env"):
            if as_dict(as_dict(env.get("valueFrom")).get("secretKeyRef")):
                yield c.hit(f"reads Secret into env {env.get('name')}", f"{where}.valueFrom.secretKeyRef")
        for where, source in c.entries("envFrom"):
            if as_dict(source.get("secretRef")):
                yield c.hit(f"loads Secret '{as_dict(source.get('secretRef')).get('name')}' into its env",
                            f"{where}.secretRef")


def _images(obj: K8sObject) -> Iterator[tuple[Container, str]]:
    for c in containers(obj):
        image = c.spec.get("image")
        if isinstance(image, str) and image:
            yield c, image


@check(id="SEC-IMAGE-DIGEST", category=Category.security, severity=Severity.low, default_enabled=False,
       kinds=WORKLOAD_KINDS,
       title="Image not pinned by digest",
       description="A tag can be moved to another image; only a digest (@sha256:...) is immutable.",
       remediation="Reference images as name@sha256:<digest> (Renovate/Dependabot keep digests current).",
       peers={"checkov": "CKV_K8S_43"})
def image_digest(obj: K8sObject) -> Iterator[Hit]:
    for c, image in _images(obj):
        if "@sha256:" not in image:
            yield c.hit(f"image '{image}' is not pinned by digest", "image")


@check(id="REL-IMAGE-PULL-ALWAYS", category=Category.scalability, severity=Severity.low, default_enabled=False,
       kinds=WORKLOAD_KINDS,
       title="imagePullPolicy is not Always",
       description="Without Always, a node reuses a cached image; with mutable tags different nodes may run "
                   "different code. Immutable tags or digests make this moot, hence off by default.",
       remediation="Set imagePullPolicy: Always, or better, pin images by digest.",
       peers={"kube-score": "container-image-pull-policy", "polaris": "pullPolicyNotAlways",
              "checkov": "CKV_K8S_15"})
def image_pull_always(obj: K8sObject) -> Iterator[Hit]:
    for c, image in _images(obj):
        policy = c.spec.get("imagePullPolicy")
        if policy is not None and policy != "Always":
            yield c.hit(f"has imagePullPolicy: {policy}", "imagePullPolicy")
        elif policy is None and "@" not in image and ":" in image.rsplit("/", 1)[-1] \
                and not image.endswith(":latest"):
            yield c.hit("defaults to imagePullPolicy: IfNotPresent", "imagePullPolicy")


def _image_matches(obj: K8sObject, pattern: re.Pattern) -> Iterator[tuple[Container, str]]:
    return ((c, image) for c, image in _images(obj) if pattern.search(image))


_DASHBOARD = re.compile(r"(kubernetes-dashboard|kubernetesui/dashboard)")
_TILLER = re.compile(r"(^|/)tiller(:|@|$)")
_GIT_SYNC = re.compile(r"git-sync")


@check(id="SEC-DASHBOARD", category=Category.security, severity=Severity.medium,
       kinds=WORKLOAD_KINDS,
       title="Kubernetes dashboard deployed",
       description="The Kubernetes dashboard has been the entry point of cluster takeovers; it is rarely needed.",
       remediation="Do not deploy the dashboard; if you must, expose it only through kubectl proxy with "
                   "read-only RBAC.",
       peers={"checkov": "CKV_K8S_33"})
def dashboard(obj: K8sObject) -> Iterator[Hit]:
    for c, image in _image_matches(obj, _DASHBOARD):
        yield c.hit(f"runs the Kubernetes dashboard ('{image}')", "image")


@check(id="SEC-TILLER", category=Category.security, severity=Severity.high,
       kinds=WORKLOAD_KINDS | {"Service"},
       title="Helm v2 Tiller deployed",
       description="Tiller (Helm v2, unsupported since 2020) listens unauthenticated on port 44134 with "
                   "cluster-admin rights.",
       remediation="Remove Tiller; use Helm 3 or later, which needs no in-cluster component.",
       peers={"checkov": "CKV_K8S_34,CKV_K8S_44,CKV_K8S_45"})
def tiller(obj: K8sObject) -> Iterator[Hit]:
    for c, image in _image_matches(obj, _TILLER):
        yield c.hit(f"runs Tiller ('{image}')", "image")
    if obj.kind == "Service":
        for i, port in enumerate(as_list(spec_of(obj).get("ports"))):
            if TILLER_PORT in (as_dict(port).get("port"), as_dict(port).get("targetPort")):
                yield Hit(f"{name_of(obj)} exposes the Tiller port {TILLER_PORT}", field=f"spec.ports[{i}]")


@check(id="SEC-GIT-SYNC", category=Category.security, severity=Severity.medium,
       kinds=WORKLOAD_KINDS,
       title="git-sync with a custom git command",
       description="git-sync's GITSYNC_GIT / GIT_SYNC_GIT variable replaces the git binary it runs: whoever "
                   "controls it runs arbitrary code in the pod (CVE-2023-5528 class).",
       remediation="Remove GITSYNC_GIT/GIT_SYNC_GIT and use the git binary shipped in the image.",
       peers={"checkov": "CKV_K8S_159"})
def git_sync(obj: K8sObject) -> Iterator[Hit]:
    for c, _ in _image_matches(obj, _GIT_SYNC):
        where = next((w for w, env in c.entries("env") if as_str(env.get("name")) in ("GITSYNC_GIT", "GIT_SYNC_GIT")),
                     None)
        if where is not None:
            yield c.hit("overrides the git command of git-sync", where)


@check(id="SEC-OPENSHIFT-SCC", category=Category.security, severity=Severity.high,
       kinds={"SecurityContextConstraints"},
       title="OpenShift SCC allows privileged containers",
       description="A SecurityContextConstraints with allowPrivilegedContainer: true lets every pod admitted "
                   "under it run privileged.",
       remediation="Set allowPrivilegedContainer: false (use the restricted-v2 SCC).",
       peers={"kube-linter": "scc-deny-privileged-container"})
def openshift_scc(obj: K8sObject) -> Iterator[Hit]:
    if obj.kind == "SecurityContextConstraints" and obj.body.get("allowPrivilegedContainer") is True:
        yield Hit(f"{name_of(obj)} sets allowPrivilegedContainer: true", field="allowPrivilegedContainer")


@check(id="SEC-SSH-PORT", category=Category.security, severity=Severity.medium,
       kinds=WORKLOAD_KINDS,
       title="SSH port exposed",
       description="A container listening on port 22 suggests an SSH server in the image: a second, "
                   "unaudited way in.",
       remediation="Remove the SSH server; use kubectl exec or ephemeral debug containers.",
       peers={"kube-linter": "ssh-port"})
def ssh_port(obj: K8sObject) -> Iterator[Hit]:
    for c in containers(obj):
        for where, port in c.entries("ports"):
            if port.get("containerPort") == 22:
                yield c.hit("exposes port 22 (SSH)", f"{where}.containerPort")


@check(id="SEC-PRIVILEGED-PORT", category=Category.security, severity=Severity.low, default_enabled=False,
       kinds=WORKLOAD_KINDS,
       title="Privileged container port",
       description="A containerPort below 1024 needs root or NET_BIND_SERVICE inside the container.",
       remediation="Listen on a port of 1024 or more and map it in the Service.",
       peers={"kube-linter": "privileged-ports"})
def privileged_port(obj: K8sObject) -> Iterator[Hit]:
    for c in containers(obj):
        for where, port in c.entries("ports"):
            number = port.get("containerPort")
            if type(number) is int and 0 < number < 1024:
                yield c.hit(f"listens on privileged port {number}", f"{where}.containerPort")
