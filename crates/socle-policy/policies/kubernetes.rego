# Socle's built-in guardrails for Kubernetes workloads (conftest conventions: package main,
# deny_* block, warn_* report). Each finding is an object: id, msg (how to fix), path, object, and
# for a rule about one container, container (its name).
#
# A rule that carries a Checkov id (rules.json) fails where that check of Checkov fails
# (checkov/kubernetes/checks/resource/k8s/): on the same kinds, in the same container lists, with
# the same reading of each field (a field Checkov reads with `if conf.get(...)` is unset when it is
# missing, null, false, 0, "" or []; a map, even {}, is set: Checkov's parser marks every map with
# its line numbers). CI runs both on the corpus in conformance/checkov/, whose
# exceptions.yaml lists the reviewed differences: Socle also reads spec.ephemeralContainers, which
# Checkov never does, and CKV_K8S_23 (root) in init containers too.
package main

import rego.v1

# Where each kind keeps its pod spec: the kinds Checkov's container checks read.
pod_spec_paths := {
	"Pod": ["spec"],
	"PodTemplate": ["template", "spec"],
	"Deployment": ["spec", "template", "spec"],
	"DeploymentConfig": ["spec", "template", "spec"],
	"DaemonSet": ["spec", "template", "spec"],
	"Job": ["spec", "template", "spec"],
	"ReplicaSet": ["spec", "template", "spec"],
	"ReplicationController": ["spec", "template", "spec"],
	"StatefulSet": ["spec", "template", "spec"],
	"CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
}

# Kinds whose pod-level settings are checked (host namespaces, root user): Checkov's list for those
# checks has neither PodTemplate nor DeploymentConfig.
pod_level_kinds := {"Pod", "Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "ReplicationController", "Job", "CronJob"}

# Probes are not asked of run-to-completion kinds (as in Checkov).
probe_kinds := {k | some k, _ in pod_spec_paths} - {"Job", "CronJob"}

pod_path := concat(".", pod_spec_paths[input.kind])

pod_spec := object.get(input, pod_spec_paths[input.kind], null)

object_name := object_name_of(input)

# Python's false values, as Checkov reads an optional field (its maps are never empty).
false_values := {null, false, 0, "", []}

falsy(x) if x in false_values

# Whether the field at `path` (an array of keys) of the map `x` is set to a true value.
set_at(x, path) if {
	is_object(x)
	not falsy(object.get(x, path, null))
}

# Every container of the pod, with its list and its field path. Checkov reads `containers` and
# `initContainers`; Socle reads `ephemeralContainers` too (a debug container shares the pod). The
# security rules read every list; requests and limits, containers and init containers (an
# ephemeral container may not set them); probes, long-running containers only (init and ephemeral
# containers take none). Each rule picks its lists itself: a helper set per selection would be
# computed again for every rule (each rule is evaluated on its own).
pod_containers contains [list, c, sprintf("%s.%s[%d]", [pod_path, list, i])] if {
	is_object(pod_spec)
	some list in ["containers", "initContainers", "ephemeralContainers"]
	is_array(pod_spec[list])
	some i, c in pod_spec[list]
	is_object(c)
}

container_name(c) := object.get(c, "name", "(unnamed)")

finding(id, msg, path) := {"id": id, "msg": msg, "path": path, "object": object_name}

container_finding(id, msg, path, c) := {"id": id, "msg": msg, "path": path, "object": object_name, "container": container_name(c)}

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

deny_liveness_probe contains container_finding("liveness-probe", sprintf("container %q has no livenessProbe: add one so that Kubernetes restarts it when it hangs", [container_name(c)]), sprintf("%s.livenessProbe", [p]), c) if {
	not disabled("liveness-probe")
	input.kind in probe_kinds
	some ["containers", c, p] in pod_containers
	not set_at(c, ["livenessProbe"])
}

deny_readiness_probe contains container_finding("readiness-probe", sprintf("container %q has no readinessProbe: add one so that traffic only reaches it when it is ready", [container_name(c)]), sprintf("%s.readinessProbe", [p]), c) if {
	not disabled("readiness-probe")
	input.kind in probe_kinds
	some ["containers", c, p] in pod_containers
	not set_at(c, ["readinessProbe"])
}

# --- resources (CKV_K8S_10..13) ------------------------------------------------------------------

resource_rules := {
	"cpu-requests": ["requests", "cpu"],
	"cpu-limits": ["limits", "cpu"],
	"memory-requests": ["requests", "memory"],
	"memory-limits": ["limits", "memory"],
}

# As Checkov reads them: no resources at all is a failure; resources that are not a map are not
# judged; a request is missing only where `requests` is a map (with limits alone, Kubernetes
# copies the limits to the requests); a limit is missing wherever resources are set.
missing_resource(c, _, _) if not set_at(c, ["resources"])

missing_resource(c, "requests", res) if {
	is_object(c.resources)
	is_object(c.resources.requests)
	not set_at(c.resources.requests, [res])
}

missing_resource(c, "limits", res) if {
	set_at(c, ["resources"])
	is_object(c.resources)
	not set_at(c.resources, ["limits", res])
}

deny_resources contains container_finding(id, sprintf("container %q sets no resources.%s.%s: set it (containers.<name>.resources in score.yaml)", [container_name(c), kind, res]), sprintf("%s.resources.%s.%s", [p, kind, res]), c) if {
	some id, [kind, res] in resource_rules
	not disabled(id)
	some [list, c, p] in pod_containers
	list != "ephemeralContainers"
	missing_resource(c, kind, res)
}

# --- images (CKV_K8S_14, allowed registries) ------------------------------------------------------

# Checkov's reading of an image reference (DOCKER_IMAGE_REGEX): an optional first segment
# (registry), the name, then the tag after the first colon that follows. (`\s` spelled out: the
# regex engine is built without Unicode classes.)
image_tag(image) := regex.find_all_string_submatch_n(`(?:[^\t\n\v\f\r /]+/)?([^\t\n\v\f\r :]+):?([^\t\n\v\f\r ]*)`, image, 1)[0][2]

deny_image_tag contains container_finding("image-tag", sprintf("container %q names no image: set one, with a fixed tag (or a digest)", [container_name(c)]), sprintf("%s.image", [p]), c) if {
	not disabled("image-tag")
	some [_, c, p] in pod_containers
	not set_at(c, ["image"])
}

deny_image_tag contains container_finding("image-tag", sprintf("container %q uses image %q without a fixed tag: pin a version (or a digest), never latest", [container_name(c), c.image]), sprintf("%s.image", [p]), c) if {
	not disabled("image-tag")
	some [_, c, p] in pod_containers
	is_string(c.image)
	trim_space(c.image) != ""
	not contains(c.image, "@")
	image_tag(c.image) in {"", "latest"}
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

deny_registry contains container_finding("allowed-registries", sprintf("container %q pulls from %q, which is not an allowed registry (%s): use an image from one of them", [container_name(c), registry(c.image), concat(", ", allowed)]), sprintf("%s.image", [p]), c) if {
	not disabled("allowed-registries")
	allowed := data.socle.allowed_registries
	count(allowed) > 0
	some [_, c, p] in pod_containers
	is_string(c.image)
	not registry(c.image) in allowed
}

# --- privileges (CKV_K8S_16, 17, 18, 19, 20, 22, 23) ----------------------------------------------

deny_privileged contains container_finding("privileged", sprintf("container %q runs privileged: remove securityContext.privileged", [container_name(c)]), sprintf("%s.securityContext.privileged", [p]), c) if {
	not disabled("privileged")
	some [_, c, p] in pod_containers
	set_at(c, ["securityContext", "privileged"])
}

host_rules := {"host-pid": "hostPID", "host-ipc": "hostIPC", "host-network": "hostNetwork"}

deny_host_namespaces contains finding(id, sprintf("the pod shares the host's %s namespace: remove %s", [field, field]), sprintf("%s.%s", [pod_path, field])) if {
	some id, field in host_rules
	not disabled(id)
	input.kind in pod_level_kinds
	set_at(pod_spec, [field])
}

deny_privilege_escalation contains container_finding("privilege-escalation", sprintf("container %q may escalate privileges: set securityContext.allowPrivilegeEscalation to false", [container_name(c)]), sprintf("%s.securityContext.allowPrivilegeEscalation", [p]), c) if {
	not disabled("privilege-escalation")
	some [_, c, p] in pod_containers
	not object.get(c, ["securityContext", "allowPrivilegeEscalation"], null) == false
}

deny_read_only_root_filesystem contains container_finding("read-only-root-filesystem", sprintf("container %q has a writable root filesystem: set securityContext.readOnlyRootFilesystem to true (mount volumes for what it writes)", [container_name(c)]), sprintf("%s.securityContext.readOnlyRootFilesystem", [p]), c) if {
	not disabled("read-only-root-filesystem")
	some [_, c, p] in pod_containers
	not set_at(c, ["securityContext", "readOnlyRootFilesystem"])
}

# Root: Checkov's CKV_K8S_23 weighs the pod's securityContext against each container's. Each of
# runAsNonRoot and runAsUser is PASSED (true; an integer of at least 1), FAILED (set otherwise)
# or ABSENT; a container's setting overrides the pod's.
security_context(x) := sc if {
	sc := x.securityContext
	is_object(sc)
}

non_root(x) := "PASSED" if {
	v := security_context(x).runAsNonRoot
	not falsy(v)
} else := "FAILED" if {
	"runAsNonRoot" in object.keys(security_context(x))
} else := "ABSENT"

run_as_user(x) := "PASSED" if {
	u := security_context(x).runAsUser
	is_number(u)
	u == floor(u)
	u >= 1
} else := "FAILED" if {
	"runAsUser" in object.keys(security_context(x))
} else := "ABSENT"

# The pod runs as non-root: a container fails only by setting runAsNonRoot: false without a
# non-root user.
may_run_as_root(c) if {
	non_root(pod_spec) == "PASSED"
	non_root(c) == "FAILED"
	run_as_user(c) != "PASSED"
}

# The pod runs as a non-root user: a container fails by setting a root (or invalid) user.
may_run_as_root(c) if {
	non_root(pod_spec) != "PASSED"
	run_as_user(pod_spec) == "PASSED"
	run_as_user(c) == "FAILED"
}

# Neither: each container must say runAsNonRoot: true or a non-root user itself.
may_run_as_root(c) if {
	non_root(pod_spec) != "PASSED"
	run_as_user(pod_spec) != "PASSED"
	non_root(c) != "PASSED"
	run_as_user(c) != "PASSED"
}

deny_run_as_non_root contains container_finding("run-as-non-root", sprintf("container %q may run as root: set securityContext.runAsNonRoot to true (or runAsUser above 0), on the pod or the container", [container_name(c)]), sprintf("%s.securityContext.runAsNonRoot", [p]), c) if {
	not disabled("run-as-non-root")
	input.kind in pod_level_kinds
	some [_, c, p] in pod_containers
	may_run_as_root(c)
}

# A workload without a pod spec says nothing that keeps it from running as root: Checkov fails it.
deny_run_as_non_root contains finding("run-as-non-root", sprintf("%s has no pod spec at %s: nothing keeps it from running as root", [object_name, pod_path]), pod_path) if {
	not disabled("run-as-non-root")
	input.kind in pod_level_kinds
	not is_object(pod_spec)
}

# --- capabilities (CKV_K8S_25, CKV_K8S_28, CKV_K8S_37) --------------------------------------------

# Whether an entry of capabilities.drop names one of `names`: Checkov looks for the text inside
# each entry ("CAP_NET_RAW" names NET_RAW), case-sensitively, with "all" accepted for "ALL".
drops(c, names) if {
	list := object.get(c, ["securityContext", "capabilities", "drop"], null)
	not falsy(list)
	is_array(list)
	some cap in list
	is_string(cap)
	some name in names
	contains(cap, name)
}

deny_net_raw contains container_finding("drop-net-raw", sprintf("container %q keeps the NET_RAW capability: add securityContext.capabilities.drop: [ALL]", [container_name(c)]), sprintf("%s.securityContext.capabilities.drop", [p]), c) if {
	not disabled("drop-net-raw")
	some [_, c, p] in pod_containers
	not drops(c, ["ALL", "all", "NET_RAW"])
}

deny_drop_all contains container_finding("drop-all-capabilities", sprintf("container %q does not drop all capabilities: set securityContext.capabilities.drop: [ALL] (and add back only what it needs)", [container_name(c)]), sprintf("%s.securityContext.capabilities.drop", [p]), c) if {
	not disabled("drop-all-capabilities")
	some [_, c, p] in pod_containers
	not drops(c, ["ALL", "all"])
}

deny_added_capabilities contains container_finding("no-added-capabilities", sprintf("container %q adds capabilities %v: remove securityContext.capabilities.add", [container_name(c), c.securityContext.capabilities.add]), sprintf("%s.securityContext.capabilities.add", [p]), c) if {
	not disabled("no-added-capabilities")
	some [_, c, p] in pod_containers
	set_at(c, ["securityContext", "capabilities", "add"])
}

# --- secrets in environment variables -------------------------------------------------------------

secret_words := {"password", "passwd", "secret", "token", "apikey", "api_key", "private_key", "credentials"}

secret_like(name) if {
	some w in secret_words
	contains(lower(name), w)
}

# A variable whose name says it holds a location (DB_PASSWORD_FILE=/run/secrets/db) points at the
# secret, as recommended, rather than holding it.
holds_a_path(e) if {
	some suffix in ["_file", "_path", "_dir"]
	endswith(lower(e.name), suffix)
	regex.match(`^(/|\./|\.\./)[^\t\n\v\f\r ]*$`, e.value)
}

# No Checkov check looks at literal values.
deny_plaintext_secret_env contains container_finding("plaintext-secret-env", sprintf("container %q sets %s to a literal value: take secrets from a resource output (secretKeyRef), never write them in manifests", [container_name(c), e.name]), sprintf("%s.env[%d].value", [p, i]), c) if {
	not disabled("plaintext-secret-env")
	some [_, c, p] in pod_containers
	some i, e in c.env
	is_string(e.name)
	secret_like(e.name)
	is_string(e.value)
	not lower(e.value) in {"", "yes", "no", "true", "false", "1", "0"}
	not holds_a_path(e)
}

# CKV_K8S_35: secrets reach the container through environment variables (files are safer: they
# do not leak into child processes, crash dumps or `env` output). A warning: Socle's own
# renderer hands secret outputs over with secretKeyRef.
warn_secret_env_ref contains container_finding("secret-env-ref", sprintf("container %q reads secret %q through an environment variable: mount it as a file instead", [container_name(c), object.get(e, ["valueFrom", "secretKeyRef", "name"], "")]), sprintf("%s.env[%d].valueFrom.secretKeyRef", [p, i]), c) if {
	not disabled("secret-env-ref")
	some [_, c, p] in pod_containers
	some i, e in c.env
	is_object(e.valueFrom)
	"secretKeyRef" in object.keys(e.valueFrom)
}

warn_secret_env_ref contains container_finding("secret-env-ref", sprintf("container %q loads secret %q with envFrom: mount it as a file instead", [container_name(c), object.get(e, ["secretRef", "name"], "")]), sprintf("%s.envFrom[%d].secretRef", [p, i]), c) if {
	not disabled("secret-env-ref")
	some [_, c, p] in pod_containers
	is_array(c.envFrom)
	some i, e in c.envFrom
	is_object(e)
	"secretRef" in object.keys(e)
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
