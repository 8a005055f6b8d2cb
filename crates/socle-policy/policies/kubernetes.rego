# Socle's built-in guardrails for Kubernetes workloads (conftest conventions: package main,
# deny_* block, warn_* report). Each finding is an object: id, msg (how to fix), path, object.
package main

import rego.v1

workload_kinds := {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "Pod", "CronJob"}

pod_spec := input.spec.template.spec if input.kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}

pod_spec := input.spec if input.kind == "Pod"

pod_spec := input.spec.jobTemplate.spec.template.spec if input.kind == "CronJob"

pod_path := "spec.template.spec" if input.kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}

pod_path := "spec" if input.kind == "Pod"

pod_path := "spec.jobTemplate.spec.template.spec" if input.kind == "CronJob"

object_name := sprintf("%s/%s", [input.kind, input.metadata.name])

# Every container (init containers too), with the field path to it.
containers contains [c, sprintf("%s.containers[%d]", [pod_path, i])] if {
	some i, c in pod_spec.containers
}

containers contains [c, sprintf("%s.initContainers[%d]", [pod_path, i])] if {
	some i, c in pod_spec.initContainers
}

# Long-running containers (probes do not apply to Jobs and CronJobs, as in Checkov).
app_containers contains [c, sprintf("%s.containers[%d]", [pod_path, i])] if {
	not input.kind in {"Job", "CronJob"}
	some i, c in pod_spec.containers
}

finding(id, msg, path) := {"id": id, "msg": msg, "path": path, "object": object_name}

disabled(id) if id in object.get(data, ["socle", "disabled_rules"], [])

# An object may carry a reviewed exception in Git, like Checkov's skip annotations:
#   socle.dev/guardrail-exceptions: "prod-replicas"   (comma-separated rule ids)
# with the reason in socle.dev/guardrail-exceptions-reason. Evaluations report what was skipped.
disabled(id) if {
	list := object.get(input, ["metadata", "annotations", "socle.dev/guardrail-exceptions"], "")
	some item in split(list, ",")
	trim_space(item) == id
}

# --- probes (CKV_K8S_8, CKV_K8S_9) ------------------------------------------------------------

deny_liveness_probe contains finding("liveness-probe", sprintf("container %q has no livenessProbe: add one so that Kubernetes restarts it when it hangs", [c.name]), p) if {
	not disabled("liveness-probe")
	some [c, p] in app_containers
	not c.livenessProbe
}

deny_readiness_probe contains finding("readiness-probe", sprintf("container %q has no readinessProbe: add one so that traffic only reaches it when it is ready", [c.name]), p) if {
	not disabled("readiness-probe")
	some [c, p] in app_containers
	not c.readinessProbe
}

# --- resources (CKV_K8S_10..13) ------------------------------------------------------------------

resource_rules := {
	"cpu-requests": ["requests", "cpu"],
	"cpu-limits": ["limits", "cpu"],
	"memory-requests": ["requests", "memory"],
	"memory-limits": ["limits", "memory"],
}

deny_resources contains finding(id, sprintf("container %q sets no resources.%s.%s: set it (containers.<name>.resources in score.yaml)", [c.name, kind, res]), sprintf("%s.resources.%s.%s", [p, kind, res])) if {
	some id, [kind, res] in resource_rules
	not disabled(id)
	some [c, p] in containers
	not c.resources[kind][res]
}

# --- images (CKV_K8S_14, allowed registries) ------------------------------------------------------

image_tag(image) := tag if {
	not contains(image, "@")
	last := regex.split("/", image)[count(regex.split("/", image)) - 1]
	contains(last, ":")
	tag := split(last, ":")[1]
}

deny_image_tag contains finding("image-tag", sprintf("container %q uses image %q without a fixed tag: pin a version (or a digest), never latest", [c.name, c.image]), sprintf("%s.image", [p])) if {
	not disabled("image-tag")
	some [c, p] in containers
	not contains(c.image, "@")
	not image_tag(c.image)
}

deny_image_tag contains finding("image-tag", sprintf("container %q uses image %q: pin a version (or a digest), never latest", [c.name, c.image]), sprintf("%s.image", [p])) if {
	not disabled("image-tag")
	some [c, p] in containers
	image_tag(c.image) == "latest"
}

registry(image) := r if {
	parts := split(image, "/")
	count(parts) > 1
	contains(parts[0], ".")
	r := parts[0]
}

registry(image) := "docker.io" if {
	parts := split(image, "/")
	not contains(parts[0], ".")
}

registry(image) := "docker.io" if {
	count(split(image, "/")) == 1
}

deny_registry contains finding("allowed-registries", sprintf("container %q pulls from %q, which is not an allowed registry (%s): use an image from one of them", [c.name, registry(c.image), concat(", ", allowed)]), sprintf("%s.image", [p])) if {
	not disabled("allowed-registries")
	allowed := data.socle.allowed_registries
	count(allowed) > 0
	some [c, p] in containers
	not registry(c.image) in allowed
}

# --- privileges (CKV_K8S_16, 17, 18, 19, 20, 22, 23) ----------------------------------------------

deny_privileged contains finding("privileged", sprintf("container %q runs privileged: remove securityContext.privileged", [c.name]), sprintf("%s.securityContext.privileged", [p])) if {
	not disabled("privileged")
	some [c, p] in containers
	c.securityContext.privileged == true
}

host_rules := {"host-pid": "hostPID", "host-ipc": "hostIPC", "host-network": "hostNetwork"}

deny_host_namespaces contains finding(id, sprintf("the pod shares the host's %s namespace: remove %s", [field, field]), sprintf("%s.%s", [pod_path, field])) if {
	some id, field in host_rules
	not disabled(id)
	pod_spec[field] == true
}

deny_privilege_escalation contains finding("privilege-escalation", sprintf("container %q may escalate privileges: set securityContext.allowPrivilegeEscalation to false", [c.name]), sprintf("%s.securityContext.allowPrivilegeEscalation", [p])) if {
	not disabled("privilege-escalation")
	some [c, p] in containers
	not c.securityContext.allowPrivilegeEscalation == false
}

deny_read_only_root_filesystem contains finding("read-only-root-filesystem", sprintf("container %q has a writable root filesystem: set securityContext.readOnlyRootFilesystem to true (mount volumes for what it writes)", [c.name]), sprintf("%s.securityContext.readOnlyRootFilesystem", [p])) if {
	not disabled("read-only-root-filesystem")
	some [c, p] in containers
	not c.securityContext.readOnlyRootFilesystem == true
}

runs_as_non_root(c) if c.securityContext.runAsNonRoot == true

runs_as_non_root(c) if {
	pod_spec.securityContext.runAsNonRoot == true
	not c.securityContext.runAsNonRoot == false
}

runs_as_non_root(c) if c.securityContext.runAsUser > 0

deny_run_as_non_root contains finding("run-as-non-root", sprintf("container %q may run as root: set securityContext.runAsNonRoot to true", [c.name]), sprintf("%s.securityContext.runAsNonRoot", [p])) if {
	not disabled("run-as-non-root")
	some [c, p] in containers
	not runs_as_non_root(c)
}

# --- capabilities (CKV_K8S_28, CKV_K8S_37) --------------------------------------------------------

drops_all_or_net_raw(c) if {
	some cap in c.securityContext.capabilities.drop
	upper(cap) in {"ALL", "NET_RAW"}
}

deny_net_raw contains finding("drop-net-raw", sprintf("container %q keeps the NET_RAW capability: add securityContext.capabilities.drop: [ALL]", [c.name]), sprintf("%s.securityContext.capabilities.drop", [p])) if {
	not disabled("drop-net-raw")
	some [c, p] in containers
	not drops_all_or_net_raw(c)
}

deny_added_capabilities contains finding("no-added-capabilities", sprintf("container %q adds capabilities %v: remove securityContext.capabilities.add", [c.name, c.securityContext.capabilities.add]), sprintf("%s.securityContext.capabilities.add", [p])) if {
	not disabled("no-added-capabilities")
	some [c, p] in containers
	count(c.securityContext.capabilities.add) > 0
}

# --- secrets in environment variables (CKV_K8S_35) ------------------------------------------------

secret_words := {"password", "passwd", "secret", "token", "apikey", "api_key", "private_key", "credentials"}

secret_like(name) if {
	some w in secret_words
	contains(lower(name), w)
}

deny_plaintext_secret_env contains finding("plaintext-secret-env", sprintf("container %q sets %s to a literal value: take secrets from a resource output (secretKeyRef), never write them in manifests", [c.name, e.name]), sprintf("%s.env[%d].value", [p, i])) if {
	not disabled("plaintext-secret-env")
	some [c, p] in containers
	some i, e in c.env
	secret_like(e.name)
	is_string(e.value)
	not lower(e.value) in {"", "yes", "no", "true", "false", "1", "0"}
}

warn_secret_env_ref contains finding("secret-env-ref", sprintf("container %q reads secret %q through an environment variable: files are safer (Checkov CKV_K8S_35)", [c.name, e.valueFrom.secretKeyRef.name]), sprintf("%s.env[%d].valueFrom.secretKeyRef", [p, i])) if {
	not disabled("secret-env-ref")
	some [c, p] in containers
	some i, e in c.env
	e.valueFrom.secretKeyRef
}

warn_secret_env_ref contains finding("secret-env-ref", sprintf("container %q loads secret %q with envFrom: files are safer (Checkov CKV_K8S_35)", [c.name, e.secretRef.name]), sprintf("%s.envFrom[%d].secretRef", [p, i])) if {
	not disabled("secret-env-ref")
	some [c, p] in containers
	some i, e in c.envFrom
	e.secretRef
}

# --- availability -----------------------------------------------------------------------------------

production_environments := object.get(data, ["socle", "production_environments"], ["prod"])

deny_replicas contains finding("prod-replicas", sprintf("%s runs %d replica(s) in production: run at least 2", [object_name, object.get(input.spec, "replicas", 1)]), "spec.replicas") if {
	not disabled("prod-replicas")
	input.kind in {"Deployment", "StatefulSet"}
	input.metadata.labels["socle.dev/environment"] in production_environments
	object.get(input.spec, "replicas", 1) < 2
}

# --- kinds a workload may not create -----------------------------------------------------------------
# Cluster-scoped kinds reach beyond the environment's namespace (the objects the Kubernetes v1.33 API
# serves with namespaced: false, plus External Secrets Operator's cluster-wide stores, which would
# read every environment's secrets); Role and RoleBinding grant permissions (a RoleBinding can bind
# cluster-admin inside the namespace). None belongs in a workload's output — resource definitions'
# manifests included — unless the platform allows the kind in its data:
#   socle: {allowed_cluster_kinds: [PriorityClass]}
# Only platform data can let one through (or data.socle.disabled_rules): an object's
# socle.dev/guardrail-exceptions annotation cannot, since whoever writes the object sets it.
# Kinds are matched by name whatever their API group, so a look-alike from a custom group is
# refused too.

restricted_kinds := {
	"APIService": "it registers an API server for the whole cluster",
	"CSIDriver": "it is cluster-scoped",
	"CSINode": "it is cluster-scoped",
	"CertificateSigningRequest": "it asks the cluster to sign credentials",
	"ClusterExternalSecret": "it copies secrets into other namespaces",
	"ClusterRole": "it defines permissions across the cluster",
	"ClusterRoleBinding": "it grants permissions across the cluster",
	"ClusterSecretStore": "it reads secrets for the whole cluster",
	"ClusterTrustBundle": "it changes what the cluster trusts",
	"ComponentStatus": "it is cluster-scoped",
	"CustomResourceDefinition": "it adds an API to the whole cluster",
	"DeviceClass": "it is cluster-scoped",
	"DeviceTaintRule": "it is cluster-scoped",
	"FlowSchema": "it changes how the API server prioritises every client",
	"IPAddress": "it is cluster-scoped",
	"IngressClass": "it is cluster-scoped",
	"MutatingAdmissionPolicy": "it rewrites objects across the cluster",
	"MutatingAdmissionPolicyBinding": "it rewrites objects across the cluster",
	"MutatingWebhookConfiguration": "it intercepts and rewrites objects across the cluster",
	"Namespace": "it creates or takes over a namespace",
	"Node": "it is cluster-scoped",
	"PersistentVolume": "it claims storage outside the namespace's quota",
	"PriorityClass": "it can pre-empt other teams' pods",
	"PriorityLevelConfiguration": "it changes how the API server prioritises every client",
	"ResourceSlice": "it is cluster-scoped",
	"Role": "it grants permissions",
	"RoleBinding": "it grants permissions",
	"RuntimeClass": "it is cluster-scoped",
	"SelfSubjectAccessReview": "it is cluster-scoped",
	"SelfSubjectReview": "it is cluster-scoped",
	"SelfSubjectRulesReview": "it is cluster-scoped",
	"ServiceCIDR": "it changes the cluster's service network",
	"StorageClass": "it is cluster-scoped",
	"StorageVersion": "it is cluster-scoped",
	"StorageVersionMigration": "it is cluster-scoped",
	"SubjectAccessReview": "it is cluster-scoped",
	"TokenReview": "it is cluster-scoped",
	"ValidatingAdmissionPolicy": "it admits or rejects objects across the cluster",
	"ValidatingAdmissionPolicyBinding": "it admits or rejects objects across the cluster",
	"ValidatingWebhookConfiguration": "it intercepts objects across the cluster",
	"VolumeAttachment": "it is cluster-scoped",
	"VolumeAttributesClass": "it is cluster-scoped",
}

platform_disabled(id) if id in object.get(data, ["socle", "disabled_rules"], [])

# The finding is built here rather than with finding(): an object without metadata.name is denied too.
deny_restricted_kind contains {"id": "restricted-kind", "path": "kind", "object": object_name_of(input), "msg": sprintf("%s is not allowed in a workload's output: %s. Remove it (a resource definition declares what it renders in spec.manifestKinds); a platform admin who wants it managed this way lists %q in data socle.allowed_cluster_kinds", [object_name_of(input), why, input.kind])} if {
	not platform_disabled("restricted-kind")
	why := restricted_kinds[input.kind]
	not input.kind in object.get(data, ["socle", "allowed_cluster_kinds"], [])
}

object_name_of(o) := sprintf("%s/%s", [o.kind, object.get(o, ["metadata", "name"], "(unnamed)")])
