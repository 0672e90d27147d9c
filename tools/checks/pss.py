"""Pod Security Standards controls (baseline and restricted) not covered in :mod:`tools.checks.workload`, and the
host-access checks that derive from them. Container rules apply to init and ephemeral containers.

Controls that *require* a setting use the effective value (the container's, else the pod's, as the kubelet
resolves it). Controls that *forbid* a value (Unconfined, runAsUser 0) report an explicit pod-level value once,
even when every container overrides it, because Pod Security admission rejects it; containers are then
reported for their own values only, so an inherited value is not reported twice.
"""

from __future__ import annotations

from collections.abc import Iterator

from core.models import Category, K8sObject, Severity
from tools import fieldpath
from tools.checks.core import Hit, check
from tools.checks.podspec import (
    WORKLOAD_KINDS,
    Container,
    as_dict,
    as_list,
    as_str,
    containers,
    effective_security,
    is_windows,
    pod_hit,
    pod_spec,
    pod_template_path,
    template_annotations,
)

BASELINE_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP",
    "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})
DANGEROUS_CAPABILITIES = frozenset({"ALL", "SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "SYS_MODULE", "BPF"})
SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
})
RESTRICTED_VOLUME_SOURCES = frozenset({
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
})
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
_SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
_SECCOMP_CONTAINER_ANNOTATION = "container.seccomp.security.alpha.kubernetes.io/"
_APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"


def _annotation(obj: K8sObject, name: str) -> str:
    """The path of the pod template's annotation ``name``."""
    return fieldpath.key(fieldpath.join(pod_template_path(obj), "metadata.annotations"), name)


def _seccomp_field(c: Container, annotations: dict) -> str:
    """Where the seccomp profile of ``c`` is decided: the field that sets it (container, else pod), else the
    legacy annotation, else the pod's seccompProfile (where the remediation adds it)."""
    if as_dict(c.security.get("seccompProfile")):
        return c.at("securityContext.seccompProfile")
    if as_dict(as_dict(c.pod_spec.get("securityContext")).get("seccompProfile")):
        return fieldpath.join(c.pod_path, "securityContext.seccompProfile")
    for name in (_SECCOMP_CONTAINER_ANNOTATION + c.name, _SECCOMP_POD_ANNOTATION):
        if name in annotations:
            return fieldpath.key(fieldpath.join(fieldpath.parent(c.pod_path) or "", "metadata.annotations"), name)
    return fieldpath.join(c.pod_path, "securityContext.seccompProfile")


def _pod_security(obj: K8sObject) -> dict:
    return as_dict(pod_spec(obj).get("securityContext"))


def _is_zero(value: object) -> bool:
    return type(value) is int and value == 0


def _host_namespace(obj: K8sObject, field: str) -> Iterator[Hit]:
    if pod_spec(obj).get(field) is True:
        yield pod_hit(obj, f"the pod sets {field}: true", field)


@check(id="SEC-HOST-PID", category=Category.security, severity=Severity.high, pss="baseline",
       kinds=WORKLOAD_KINDS,
       title="Host PID namespace shared",
       description="hostPID: true lets the pod see and signal every process on the node.",
       remediation="Remove spec.hostPID (or set it to false).",
       peers={"kube-linter": "host-pid", "polaris": "hostPIDSet", "checkov": "CKV_K8S_17"})
def host_pid(obj: K8sObject) -> Iterator[Hit]:
    return _host_namespace(obj, "hostPID")


@check(id="SEC-HOST-IPC", category=Category.security, severity=Severity.high, pss="baseline",
       kinds=WORKLOAD_KINDS,
       title="Host IPC namespace shared",
       description="hostIPC: true gives the pod access to the node's shared memory and IPC objects.",
       remediation="Remove spec.hostIPC (or set it to false).",
       peers={"kube-linter": "host-ipc", "polaris": "hostIPCSet", "checkov": "CKV_K8S_18"})
def host_ipc(obj: K8sObject) -> Iterator[Hit]:
    return _host_namespace(obj, "hostIPC")


@check(id="SEC-HOST-NETWORK", category=Category.security, severity=Severity.high, pss="baseline",
       kinds=WORKLOAD_KINDS,
       title="Host network namespace shared",
       description="hostNetwork: true puts the pod on the node's network: it bypasses NetworkPolicies and can "
                   "bind or sniff the node's interfaces.",
       remediation="Remove spec.hostNetwork; expose the workload through a Service instead.",
       peers={"kube-linter": "host-network", "polaris": "hostNetworkSet", "checkov": "CKV_K8S_19"})
def host_network(obj: K8sObject) -> Iterator[Hit]:
    return _host_namespace(obj, "hostNetwork")


@check(id="SEC-HOST-PORT", category=Category.security, severity=Severity.medium, pss="baseline",
       kinds=WORKLOAD_KINDS,
       title="Host port",
       description="A container port bound to a hostPort ties the pod to a node port, bypasses NetworkPolicies "
                   "and limits scheduling to one such pod per node.",
       remediation="Remove ports[].hostPort and expose the port through a Service.",
       peers={"polaris": "hostPortSet", "checkov": "CKV_K8S_26"})
def host_port(obj: K8sObject) -> Iterator[Hit]:
    for c in containers(obj):
        for where, port in c.entries("ports"):
            if port.get("hostPort") not in (None, 0):
                yield c.hit(f"binds host port {port.get('hostPort')}", f"{where}.hostPort")


@check(id="SEC-RUN-AS-USER-ZERO", category=Category.security, severity=Severity.high, pss="restricted",
       kinds=WORKLOAD_KINDS,
       title="Container runs as UID 0",
       description="An explicit runAsUser: 0 on the pod or a container runs the process as root (a pod-level "
                   "0 is rejected by Pod Security admission even when every container overrides it).",
       remediation="Set runAsUser to a non-zero UID (and runAsNonRoot: true).",
       peers={"kube-linter": "run-as-non-root"})
def run_as_user_zero(obj: K8sObject) -> Iterator[Hit]:
    if _is_zero(_pod_security(obj).get("runAsUser")):
        yield pod_hit(obj, "the pod sets runAsUser: 0 (root)", "securityContext.runAsUser")
    for c in containers(obj):
        if _is_zero(c.security.get("runAsUser")):
            yield c.hit("runs as UID 0 (root)", "securityContext.runAsUser")


def _capability_check(obj: K8sObject, allowed: frozenset[str] | None, forbidden: frozenset[str] | None,
                      why: str) -> Iterator[Hit]:
    """With ``allowed`` (a Pod Security Standards list) names compare exactly, as the admission controller compares
    them: ``chown`` or ``CAP_CHOWN`` is not the allowed ``CHOWN``. With ``forbidden`` they are normalised (any
    case, ``CAP_`` prefix), so no spelling slips a dangerous capability through."""
    for c in containers(obj):
        hint = ""
        if allowed is not None:
            bad = c.capability_names("add") - allowed
            field = c.exact_capability_field("add", bad)
            if any(n.upper().removeprefix("CAP_") in allowed for n in bad):
                hint = "; capability names are upper-case without CAP_"
        else:
            bad = c.capabilities("add") & (forbidden or frozenset())
            field = c.capability_field("add", bad)
        if bad:
            yield c.hit(f"adds {', '.join(sorted(bad))} ({why}{hint})", field)


@check(id="SEC-CAP-ADD-NONBASELINE", category=Category.security, severity=Severity.high, pss="baseline",
       kinds=WORKLOAD_KINDS,
       title="Capability beyond the baseline set",
       description="The baseline Pod Security Standard allows adding only AUDIT_WRITE, CHOWN, DAC_OVERRIDE, "
                   "FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT, "
                   "spelled exactly so (chown or CAP_CHOWN is not accepted).",
       remediation="Remove the extra capabilities from securityContext.capabilities.add.")
def cap_add_nonbaseline(obj: K8sObject) -> Iterator[Hit]:
    return _capability_check(obj, BASELINE_CAPABILITIES, None, "outside the PSS baseline set")


@check(id="SEC-CAP-ADD-ANY", category=Category.security, severity=Severity.medium, pss="restricted",
       kinds=WORKLOAD_KINDS,
       title="Capability added beyond NET_BIND_SERVICE",
       description="The restricted Pod Security Standard allows adding only NET_BIND_SERVICE.",
       remediation="Remove securityContext.capabilities.add (keep at most NET_BIND_SERVICE).",
       peers={"checkov": "CKV_K8S_25"})
def cap_add_any(obj: K8sObject) -> Iterator[Hit]:
    if is_windows(obj):
        return iter(())
    return _capability_check(obj, frozenset({"NET_BIND_SERVICE"}), None, "restricted allows NET_BIND_SERVICE only")


@check(id="SEC-CAP-ADD-DANGEROUS", category=Category.security, severity=Severity.high,
       kinds=WORKLOAD_KINDS,
       title="Dangerous capability added",
       description="ALL, SYS_ADMIN, NET_ADMIN, SYS_PTRACE, SYS_MODULE and BPF each allow escaping the container "
                   "or controlling the node's network.",
       remediation="Remove these capabilities; redesign the workload so it does not need node-level power.",
       peers={"polaris": "dangerousCapabilities", "checkov": "CKV_K8S_39"})
def cap_add_dangerous(obj: K8sObject) -> Iterator[Hit]:
    return _capability_check(obj, None, DANGEROUS_CAPABILITIES, "node-level power")


@check(id="SEC-CAP-DROP-ALL", category=Category.security, severity=Severity.medium, pss="restricted",
       kinds=WORKLOAD_KINDS,
       title="Capabilities not dropped",
       description="The restricted Pod Security Standard requires every container to drop ALL capabilities "
                   "(and add back at most NET_BIND_SERVICE).",
       remediation="Set securityContext.capabilities.drop: [ALL] on every container.",
       peers={"polaris": "insecureCapabilities", "checkov": "CKV_K8S_37"})
def cap_drop_all(obj: K8sObject) -> Iterator[Hit]:
    if is_windows(obj):
        return
    for c in containers(obj):
        if "ALL" not in c.capabilities("drop"):
            yield c.hit("does not drop ALL capabilities", "securityContext.capabilities.drop")


@check(id="SEC-CAP-DROP-NET-RAW", category=Category.security, severity=Severity.low, default_enabled=False,
       kinds=WORKLOAD_KINDS,
       title="NET_RAW not dropped",
       description="NET_RAW allows crafting packets (ARP/DNS spoofing inside the node). SEC-CAP-DROP-ALL covers "
                   "this in the default profile; this narrower check is for teams that cannot drop ALL.",
       remediation="Add NET_RAW (or ALL) to securityContext.capabilities.drop.",
       peers={"kube-linter": "drop-net-raw-capability", "checkov": "CKV_K8S_28"})
def cap_drop_net_raw(obj: K8sObject) -> Iterator[Hit]:
    for c in containers(obj):
        if not c.capabilities("drop") & {"ALL", "NET_RAW"}:
            yield c.hit("does not drop NET_RAW", "securityContext.capabilities.drop")


def _legacy_seccomp(value: object) -> str | None:
    """The seccomp type named by a legacy annotation value (``unconfined``, ``runtime/default``, ``localhost/p``)."""
    if value is None:
        return None
    text = str(value)
    return "Unconfined" if text == "unconfined" else "RuntimeDefault" if "default" in text else "Localhost"


def _seccomp_type(c: Container, annotations: dict) -> str | None:
    """The effective seccomp type: field (container over pod), else the legacy annotations (lower-cased)."""
    profile = as_dict(effective_security(c, "seccompProfile"))
    if profile.get("type"):
        return str(profile["type"])
    return _legacy_seccomp(annotations.get(_SECCOMP_CONTAINER_ANNOTATION + c.name)
                           or annotations.get(_SECCOMP_POD_ANNOTATION))


@check(id="SEC-SECCOMP-NOT-UNCONFINED", category=Category.security, severity=Severity.high, pss="baseline",
       kinds=WORKLOAD_KINDS,
       title="Seccomp explicitly unconfined",
       description="seccompProfile.type: Unconfined (or the legacy 'unconfined' annotation) turns off syscall "
                   "filtering.",
       remediation="Use seccompProfile.type: RuntimeDefault (or a Localhost profile).")
def seccomp_not_unconfined(obj: K8sObject) -> Iterator[Hit]:
    annotations = template_annotations(obj)
    pod_type = as_dict(_pod_security(obj).get("seccompProfile")).get("type")
    if pod_type == "Unconfined":
        yield pod_hit(obj, "the pod sets seccomp Unconfined", "securityContext.seccompProfile.type")
    elif _legacy_seccomp(annotations.get(_SECCOMP_POD_ANNOTATION)) == "Unconfined":
        yield Hit("the pod sets seccomp Unconfined", field=_annotation(obj, _SECCOMP_POD_ANNOTATION))
    for c in containers(obj):
        annotation = _SECCOMP_CONTAINER_ANNOTATION + c.name
        if as_dict(c.security.get("seccompProfile")).get("type") == "Unconfined":
            yield c.hit("runs with seccomp Unconfined", "securityContext.seccompProfile.type")
        elif _legacy_seccomp(annotations.get(annotation)) == "Unconfined":
            yield c.hit("runs with seccomp Unconfined", path=_annotation(obj, annotation))


@check(id="SEC-SECCOMP-REQUIRED", category=Category.security, severity=Severity.medium, pss="restricted",
       kinds=WORKLOAD_KINDS,
       title="Seccomp profile not set",
       description="The restricted Pod Security Standard requires seccompProfile RuntimeDefault or Localhost on "
                   "the pod or on every container.",
       remediation="Set spec.securityContext.seccompProfile.type: RuntimeDefault.",
       peers={"kube-score": "container-seccomp-profile", "polaris": "linuxHardening", "checkov": "CKV_K8S_31"})
def seccomp_required(obj: K8sObject) -> Iterator[Hit]:
    if is_windows(obj):
        return
    annotations = template_annotations(obj)
    for c in containers(obj):
        if _seccomp_type(c, annotations) not in ("RuntimeDefault", "Localhost"):
            yield c.hit("has no RuntimeDefault or Localhost seccomp profile", path=_seccomp_field(c, annotations))


@check(id="SEC-APPARMOR", category=Category.security, severity=Severity.high, pss="baseline",
       kinds=WORKLOAD_KINDS,
       title="AppArmor unconfined",
       description="An AppArmor profile of type Unconfined (field or legacy annotation) removes the default "
                   "mandatory access control.",
       remediation="Use appArmorProfile.type: RuntimeDefault (or Localhost), or remove the override.")
def apparmor(obj: K8sObject) -> Iterator[Hit]:
    annotations = template_annotations(obj)
    if as_dict(_pod_security(obj).get("appArmorProfile")).get("type") == "Unconfined":
        yield pod_hit(obj, "the pod sets AppArmor Unconfined", "securityContext.appArmorProfile.type")
    for c in containers(obj):
        if as_dict(c.security.get("appArmorProfile")).get("type") == "Unconfined":
            yield c.hit("runs with AppArmor Unconfined", "securityContext.appArmorProfile.type")
        elif annotations.get(_APPARMOR_ANNOTATION + c.name) == "unconfined":
            yield c.hit("runs with AppArmor Unconfined", path=_annotation(obj, _APPARMOR_ANNOTATION + c.name))


def _selinux_problem(options: dict) -> str | None:
    if str(options.get("type") or "") not in SELINUX_TYPES:
        return f"SELinux type '{options.get('type')}'"
    if options.get("user") or options.get("role"):
        return "a custom SELinux user or role"
    return None


@check(id="SEC-SELINUX", category=Category.security, severity=Severity.high, pss="baseline",
       kinds=WORKLOAD_KINDS,
       title="Custom SELinux options",
       description="The baseline Pod Security Standard allows only the container_t, container_init_t, "
                   "container_kvm_t and container_engine_t types and forbids setting the SELinux user or role.",
       remediation="Remove seLinuxOptions.user/role and use an allowed type (or no seLinuxOptions).")
def selinux(obj: K8sObject) -> Iterator[Hit]:
    pod_problem = _selinux_problem(as_dict(_pod_security(obj).get("seLinuxOptions")))
    if pod_problem:
        yield pod_hit(obj, f"the pod sets {pod_problem}", "securityContext.seLinuxOptions")
    for c in containers(obj):
        problem = _selinux_problem(as_dict(c.security.get("seLinuxOptions")))
        if problem:
            yield c.hit(f"sets {problem}", "securityContext.seLinuxOptions")


@check(id="SEC-PROC-MOUNT", category=Category.security, severity=Severity.high, pss="baseline",
       kinds=WORKLOAD_KINDS,
       title="Unmasked /proc",
       description="procMount: Unmasked exposes the host's /proc paths that the runtime normally masks; the "
                   "baseline standard allows it only in a user namespace (hostUsers: false).",
       remediation="Remove securityContext.procMount (Default) or run the pod with hostUsers: false.",
       peers={"kube-linter": "unsafe-proc-mount", "polaris": "procMount"})
def proc_mount(obj: K8sObject) -> Iterator[Hit]:
    if pod_spec(obj).get("hostUsers") is False:
        return
    for c in containers(obj):
        if c.security.get("procMount") not in (None, "Default"):
            yield c.hit(f"sets procMount: {c.security.get('procMount')}", "securityContext.procMount")


@check(id="SEC-PROC-MOUNT-RESTRICTED", category=Category.security, severity=Severity.medium, pss="restricted",
       kinds=WORKLOAD_KINDS,
       title="Unmasked /proc in a user namespace",
       description="The restricted Pod Security Standard requires procMount Default even when the pod runs in a "
                   "user namespace (hostUsers: false), which the baseline level allows (SEC-PROC-MOUNT covers "
                   "the other pods). Not for Windows pods.",
       remediation="Remove securityContext.procMount (Default).",
       peers={"kube-linter": "unsafe-proc-mount"})
def proc_mount_restricted(obj: K8sObject) -> Iterator[Hit]:
    if pod_spec(obj).get("hostUsers") is not False or is_windows(obj):
        return
    for c in containers(obj):
        if c.security.get("procMount") not in (None, "Default"):
            yield c.hit(f"sets procMount: {c.security.get('procMount')} (restricted requires Default, user "
                        "namespace or not)", "securityContext.procMount")


@check(id="SEC-SYSCTLS", category=Category.security, severity=Severity.high, pss="baseline",
       kinds=WORKLOAD_KINDS,
       title="Unsafe sysctl",
       description="Only namespaced, safe sysctls may be set (kernel.shm_rmid_forced and the net.ipv4 port "
                   "range, syncookies, ping group and keepalive settings); others affect the whole node.",
       remediation="Remove the unsafe sysctls from spec.securityContext.sysctls.",
       peers={"kube-linter": "unsafe-sysctls"})
def sysctls(obj: K8sObject) -> Iterator[Hit]:
    for i, entry in enumerate(as_list(_pod_security(obj).get("sysctls"))):
        name = as_str(as_dict(entry).get("name"))
        if name not in SAFE_SYSCTLS:
            yield pod_hit(obj, f"the pod sets the unsafe sysctl '{name}'", f"securityContext.sysctls[{i}]")


@check(id="SEC-WIN-HOSTPROCESS", category=Category.security, severity=Severity.critical, pss="baseline",
       kinds=WORKLOAD_KINDS,
       title="Windows HostProcess container",
       description="A Windows HostProcess container runs directly on the host with the host's privileges.",
       remediation="Remove windowsOptions.hostProcess.",
       peers={"polaris": "hostProcess"})
def windows_host_process(obj: K8sObject) -> Iterator[Hit]:
    """The pod-level setting is reported once, at the pod (it makes every container HostProcess, even one whose
    own windowsOptions omit hostProcess); a container's own setting at the container."""
    if as_dict(_pod_security(obj).get("windowsOptions")).get("hostProcess") is True:
        yield pod_hit(obj, "the pod is a Windows HostProcess pod (every container runs on the host)",
                      "securityContext.windowsOptions.hostProcess")
    for c in containers(obj):
        if as_dict(c.security.get("windowsOptions")).get("hostProcess") is True:
            yield c.hit("is a Windows HostProcess container", "securityContext.windowsOptions.hostProcess")


def _handler_hosts(c: Container) -> Iterator[tuple[str, str]]:
    """``(path relative to the container, message)`` of every probe or lifecycle handler host."""
    handlers = dict(c.probes())
    lifecycle = as_dict(c.spec.get("lifecycle"))
    handlers.update({f"lifecycle.{k}": as_dict(v) for k, v in lifecycle.items() if isinstance(k, str)})
    for where, handler in handlers.items():
        for kind in ("httpGet", "tcpSocket"):
            host = as_dict(handler.get(kind)).get("host")
            if host:
                yield f"{where}.{kind}.host", f"{where}.{kind}.host is '{host}'"


@check(id="SEC-HOST-PROBES", category=Category.security, severity=Severity.medium, pss="baseline",
       kinds=WORKLOAD_KINDS,
       title="Probe or lifecycle handler targets another host",
       description="A host field on an httpGet/tcpSocket probe or lifecycle handler makes the kubelet connect to "
                   "an arbitrary address (server-side request forgery from the node).",
       remediation="Remove the host field: probes and handlers should target the pod itself.")
def host_probes(obj: K8sObject) -> Iterator[Hit]:
    for c in containers(obj):
        for where, text in _handler_hosts(c):
            yield c.hit(text, where)


@check(id="SEC-RESTRICTED-VOLUMES", category=Category.security, severity=Severity.medium, pss="restricted",
       kinds=WORKLOAD_KINDS,
       title="Volume type not allowed by restricted",
       description="The restricted Pod Security Standard allows only configMap, csi, downwardAPI, emptyDir, "
                   "ephemeral, persistentVolumeClaim, projected and secret volumes.",
       remediation="Replace the volume with one of the allowed types (usually a PersistentVolumeClaim).")
def restricted_volumes(obj: K8sObject) -> Iterator[Hit]:
    for i, volume in enumerate(as_list(pod_spec(obj).get("volumes"))):
        sources = sorted(set(as_dict(volume)) - {"name"} - RESTRICTED_VOLUME_SOURCES)
        if sources:
            yield pod_hit(obj, f"volume '{as_dict(volume).get('name', '<unnamed>')}' is of type {', '.join(sources)}",
                          fieldpath.key(f"volumes[{i}]", sources[0]))
