# Unit tests of the built-in pack (run with `socle policy test`).
package main

import rego.v1

pod(container) := {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"securityContext": {"runAsNonRoot": true}, "containers": [container]}}

good := {
	"name": "app",
	"image": "ghcr.io/acme/app:1.0.0",
	"resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "128Mi"}},
	"livenessProbe": {"httpGet": {"path": "/", "port": 80}},
	"readinessProbe": {"httpGet": {"path": "/", "port": 80}},
	"securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}},
}

ids(findings) := {f.id | some f in findings}

all_denials := ((((((((((deny_liveness_probe | deny_readiness_probe) | deny_resources) | deny_image_tag) | deny_privileged) | deny_host_namespaces) | deny_privilege_escalation) | deny_read_only_root_filesystem) | deny_run_as_non_root) | deny_net_raw) | deny_drop_all) | deny_added_capabilities

# A container with its securityContext replaced (object.union merges recursively).
with_sc(c, sc) := object.union(object.remove(c, ["securityContext"]), {"securityContext": sc})

with_caps(caps) := with_sc(good, object.union(object.remove(good.securityContext, ["capabilities"]), {"capabilities": caps}))

deployment(spec) := {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {"spec": spec}}}

test_good_pod_passes if {
	count(all_denials) == 0 with input as pod(good)
	count(deny_plaintext_secret_env) == 0 with input as pod(good)
}

test_missing_probes if {
	c := object.remove(good, ["livenessProbe", "readinessProbe"])
	ids(deny_liveness_probe) == {"liveness-probe"} with input as pod(c)
	ids(deny_readiness_probe) == {"readiness-probe"} with input as pod(c)
}

test_missing_resources if {
	c := object.remove(good, ["resources"])
	ids(deny_resources) == {"cpu-requests", "cpu-limits", "memory-requests", "memory-limits"} with input as pod(c)
}

test_latest_and_untagged_images if {
	ids(deny_image_tag) == {"image-tag"} with input as pod(object.union(good, {"image": "nginx"}))
	ids(deny_image_tag) == {"image-tag"} with input as pod(object.union(good, {"image": "nginx:latest"}))
	count(deny_image_tag) == 0 with input as pod(object.union(good, {"image": "nginx@sha256:abc"}))
	count(deny_image_tag) == 0 with input as pod(object.union(good, {"image": "registry.local:5000/nginx:1.2"}))
}

test_registry_allow_list if {
	count(deny_registry) == 1 with input as pod(good) with data.socle.allowed_registries as ["docker.io"]
	count(deny_registry) == 0 with input as pod(good) with data.socle.allowed_registries as ["ghcr.io"]
}

test_privileged if {
	c := object.union(good, {"securityContext": object.union(good.securityContext, {"privileged": true})})
	ids(deny_privileged) == {"privileged"} with input as pod(c)
}

test_host_namespaces if {
	p := object.union(pod(good), {"spec": object.union(pod(good).spec, {"hostPID": true, "hostNetwork": true})})
	ids(deny_host_namespaces) == {"host-pid", "host-network"} with input as p
}

test_privilege_escalation_and_root if {
	# object.union merges recursively: replace securityContext wholesale instead.
	c := object.union(object.remove(good, ["securityContext"]), {"securityContext": {"capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": true}})
	ids(deny_privilege_escalation) == {"privilege-escalation"} with input as pod(c)
	p := {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [good]}}
	ids(deny_run_as_non_root) == {"run-as-non-root"} with input as p
}

test_capabilities if {
	c := with_caps({"add": ["NET_ADMIN"]})
	ids(deny_added_capabilities) == {"no-added-capabilities"} with input as pod(c)
	ids(deny_net_raw) == {"drop-net-raw"} with input as pod(c)
	ids(deny_drop_all) == {"drop-all-capabilities"} with input as pod(c)
}

# CKV_K8S_37 asks for drop: [ALL]; adding a capability back on top of it is CKV_K8S_25's business.
test_adding_on_top_of_drop_all_passes_drop_all if {
	c := with_caps({"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]})
	count(deny_drop_all) == 0 with input as pod(c)
	count(deny_net_raw) == 0 with input as pod(c)
	ids(deny_added_capabilities) == {"no-added-capabilities"} with input as pod(c)
}

test_dropping_net_raw_alone_is_not_dropping_all if {
	c := with_caps({"drop": ["NET_RAW"]})
	count(deny_net_raw) == 0 with input as pod(c)
	ids(deny_drop_all) == {"drop-all-capabilities"} with input as pod(c)
}

# As Checkov: the name is looked for inside each entry, case-sensitively, "all" accepted.
test_capability_names_are_read_as_checkov_reads_them if {
	count(deny_net_raw) == 0 with input as pod(with_caps({"drop": ["CAP_NET_RAW"]}))
	ids(deny_net_raw) == {"drop-net-raw"} with input as pod(with_caps({"drop": ["net_raw"]}))
	count(deny_net_raw | deny_drop_all) == 0 with input as pod(with_caps({"drop": ["all"]}))
	ids(deny_drop_all) == {"drop-all-capabilities"} with input as pod(with_caps({"drop": ["All"]}))
}

test_plaintext_secret_env if {
	c := object.union(good, {"env": [{"name": "DB_PASSWORD", "value": "x"}, {"name": "GREETING", "value": "hi"}]})
	ids(deny_plaintext_secret_env) == {"plaintext-secret-env"} with input as pod(c)
	r := object.union(good, {"env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]})
	count(deny_plaintext_secret_env) == 0 with input as pod(r)
	ids(warn_secret_env_ref) == {"secret-env-ref"} with input as pod(r)
}

test_a_file_variable_holding_a_path_is_not_a_secret if {
	c := object.union(good, {"env": [{"name": "DB_PASSWORD_FILE", "value": "/run/secrets/db/password"}, {"name": "TOKEN_PATH", "value": "./token"}]})
	count(deny_plaintext_secret_env) == 0 with input as pod(c)
	leaked := object.union(good, {"env": [{"name": "DB_PASSWORD_FILE", "value": "hunter2"}]})
	ids(deny_plaintext_secret_env) == {"plaintext-secret-env"} with input as pod(leaked)
}

test_secrets_loaded_with_env_from if {
	c := object.union(good, {"envFrom": [{"configMapRef": {"name": "settings"}}, {"secretRef": {"name": "creds"}}]})
	findings := warn_secret_env_ref with input as pod(c)
	[f.path | some f in findings] == ["spec.containers[0].envFrom[1].secretRef"]
	count(warn_secret_env_ref) == 0 with input as pod(object.union(good, {"envFrom": [{"configMapRef": {"name": "settings"}}]}))
}

user(n) := with_sc(good, object.union(good.securityContext, {"runAsUser": n}))

non_root_false := with_sc(good, object.union(good.securityContext, {"runAsNonRoot": false}))

# CKV_K8S_23: the pod's settings against each container's.
test_run_as_non_root_weighs_pod_and_container if {
	# The pod names a non-root user: passes, unless a container sets user 0.
	count(deny_run_as_non_root) == 0 with input as deployment({"securityContext": {"runAsUser": 1000}, "containers": [good]})
	ids(deny_run_as_non_root) == {"run-as-non-root"} with input as deployment({"securityContext": {"runAsUser": 1000}, "containers": [user(0)]})
	# The pod says runAsNonRoot: a container's false fails, unless it names a non-root user.
	ids(deny_run_as_non_root) == {"run-as-non-root"} with input as deployment({"securityContext": {"runAsNonRoot": true}, "containers": [non_root_false]})
	count(deny_run_as_non_root) == 0 with input as deployment({"securityContext": {"runAsNonRoot": true}, "containers": [object.union(non_root_false, {"securityContext": {"runAsUser": 10}})]})
	# Neither: every container says it itself.
	count(deny_run_as_non_root) == 0 with input as deployment({"securityContext": {"runAsNonRoot": false}, "containers": [user(1001)]})
	ids(deny_run_as_non_root) == {"run-as-non-root"} with input as deployment({"containers": [user(1001), good]})
}

test_run_as_non_root_reads_init_containers_too if {
	root := with_sc(good, object.union(good.securityContext, {"runAsNonRoot": false, "runAsUser": 0}))
	findings := deny_run_as_non_root with input as deployment({"securityContext": {"runAsNonRoot": true}, "containers": [good], "initContainers": [object.union(root, {"name": "chown"})]})
	[[f.path, f.container] | some f in findings] == [["spec.template.spec.initContainers[0].securityContext.runAsNonRoot", "chown"]]
}

test_a_workload_without_a_pod_spec_may_run_as_root if {
	d := {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {"metadata": {}}}}
	findings := deny_run_as_non_root with input as d
	[f.path | some f in findings] == ["spec.template.spec"]
}

test_images_are_read_as_checkov_reads_them if {
	bad := ["nginx", "nginx:latest", "ghcr.io/acme/app:", "registry.local:5000/tools/migrate", "localhost:5000/a/b:latest"]
	every image in bad {
		ids(deny_image_tag) == {"image-tag"} with input as pod(object.union(good, {"image": image}))
	}
	ok := ["registry.local:5000/tools/migrate:2.1", "nginx:1.27@sha256:abc", "ghcr.io/acme/app:latest@sha256:abc", "nginx:LATEST"]
	every image in ok {
		count(deny_image_tag) == 0 with input as pod(object.union(good, {"image": image}))
	}
	ids(deny_image_tag) == {"image-tag"} with input as pod(object.remove(good, ["image"]))
}

test_limits_alone_stand_for_requests if {
	c := object.union(object.remove(good, ["resources"]), {"resources": {"limits": {"cpu": "1", "memory": "128Mi"}}})
	count(deny_resources) == 0 with input as pod(c)
	e := object.union(object.remove(good, ["resources"]), {"resources": {"requests": {}, "limits": {"cpu": "1", "memory": "128Mi"}}})
	ids(deny_resources) == {"cpu-requests", "memory-requests"} with input as pod(e)
}

test_every_workload_kind_and_container_list_is_read if {
	bad := object.remove(good, ["livenessProbe"])
	rc := {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "rc"}, "spec": {"template": {"spec": {"containers": [bad]}}}}
	ids(deny_liveness_probe) == {"liveness-probe"} with input as rc
	tpl := {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"}, "template": {"spec": {"hostNetwork": true, "containers": [bad]}}}
	ids(deny_liveness_probe) == {"liveness-probe"} with input as tpl
	# Checkov's pod-level checks do not read PodTemplate.
	count(deny_host_namespaces) == 0 with input as tpl
	cron := {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"}, "spec": {"jobTemplate": {"spec": {"template": {"spec": {"hostIPC": true, "containers": [good]}}}}}}
	ids(deny_host_namespaces) == {"host-ipc"} with input as cron
	# Init containers: no probes asked, everything else checked.
	init := deployment({"securityContext": {"runAsNonRoot": true}, "containers": [good], "initContainers": [object.union(bad, {"name": "init", "image": "busybox"})]})
	count(deny_liveness_probe) == 0 with input as init
	ids(deny_image_tag) == {"image-tag"} with input as init
}

test_ephemeral_containers_are_held_to_the_security_rules if {
	debug := {"name": "debugger", "image": "busybox:latest"}
	p := object.union(pod(good), {"spec": object.union(pod(good).spec, {"ephemeralContainers": [debug]})})
	ids(all_denials) == {"image-tag", "privilege-escalation", "read-only-root-filesystem", "drop-net-raw", "drop-all-capabilities"} with input as p
	findings := deny_image_tag with input as p
	count(findings) == 1
	every f in findings {
		f.container == "debugger"
		f.path == "spec.ephemeralContainers[0].image"
	}
}

test_container_findings_name_the_container if {
	c := object.union(object.remove(good, ["readinessProbe"]), {"name": "web"})
	findings := deny_readiness_probe with input as deployment({"containers": [good, c]})
	[[f.container, f.path, f.object] | some f in findings] == [["web", "spec.template.spec.containers[1].readinessProbe", "Deployment/d"]]
}

test_prod_replicas if {
	d := {"kind": "Deployment", "metadata": {"name": "d", "labels": {"socle.dev/environment": "prod"}}, "spec": {"replicas": 1, "template": {"spec": {"containers": [good]}}}}
	ids(deny_replicas) == {"prod-replicas"} with input as d
	count(deny_replicas) == 0 with input as object.union(d, {"spec": object.union(d.spec, {"replicas": 2})})
	count(deny_replicas) == 0 with input as object.union(d, {"metadata": {"name": "d", "labels": {"socle.dev/environment": "dev"}}})
}

test_disabled_rules if {
	c := object.remove(good, ["livenessProbe"])
	count(deny_liveness_probe) == 0 with input as pod(c) with data.socle.disabled_rules as ["liveness-probe"]
}

test_entity_owner_must_exist if {
	e := {"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "x"}, "spec": {"owner": "ghost", "lifecycle": "experimental"}, "relations": [{"type": "ownedBy", "targetRef": "group:default/ghost", "exists": false}]}
	ids(deny_entity_owner) == {"owner-exists"} with input as e
	ok := object.union(e, {"relations": [{"type": "ownedBy", "targetRef": "group:default/a", "exists": true}]})
	count(deny_entity_owner) == 0 with input as ok
}

test_production_component_needs_a_system if {
	e := {"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "x"}, "spec": {"owner": "a", "lifecycle": "production"}, "relations": []}
	ids(deny_entity_system) == {"production-has-system"} with input as e
	count(deny_entity_system) == 0 with input as object.union(e, {"spec": {"owner": "a", "lifecycle": "production", "system": "s"}})
}

test_jobs_need_no_probes if {
	j := {"kind": "Job", "metadata": {"name": "j"}, "spec": {"template": {"spec": {"containers": [object.remove(good, ["livenessProbe", "readinessProbe"])]}}}}
	count(deny_liveness_probe) == 0 with input as j
	count(deny_readiness_probe) == 0 with input as j
}

test_boolean_settings_are_not_secrets if {
	c := object.union(good, {"env": [{"name": "MYSQL_RANDOM_ROOT_PASSWORD", "value": "yes"}]})
	count(deny_plaintext_secret_env) == 0 with input as pod(c)
}

score_good := {"apiVersion": "score.dev/v1b1", "metadata": {"name": "w"}, "containers": {"web": {
	"image": ".",
	"livenessProbe": {"httpGet": {"path": "/", "port": 80}},
	"readinessProbe": {"httpGet": {"path": "/", "port": 80}},
	"resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "128Mi"}},
}}}

test_score_workloads if {
	count(deny_score_image | (deny_score_probes | deny_score_resources)) == 0 with input as score_good
	bad := {"apiVersion": "score.dev/v1b1", "metadata": {"name": "w"}, "containers": {"web": {"image": "nginx"}}}
	ids(deny_score_image) == {"score-image-tag"} with input as bad
	count(deny_score_probes) == 2 with input as bad
	count(deny_score_resources) == 4 with input as bad
}

test_object_level_exception if {
	d := {"kind": "StatefulSet", "metadata": {"name": "db", "labels": {"socle.dev/environment": "prod"}, "annotations": {"socle.dev/guardrail-exceptions": "prod-replicas, other"}}, "spec": {"replicas": 1, "template": {"spec": {"containers": [good]}}}}
	count(deny_replicas) == 0 with input as d
	plain := object.union(object.remove(d, ["metadata"]), {"metadata": {"name": "db", "labels": {"socle.dev/environment": "prod"}}})
	ids(deny_replicas) == {"prod-replicas"} with input as plain
}

crb := {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "pwn"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"}, "subjects": [{"kind": "User", "name": "mallory"}]}

test_cluster_scoped_kinds_are_denied if {
	ids(deny_restricted_kind) == {"restricted-kind"} with input as crb
	every kind in ["Namespace", "CustomResourceDefinition", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "ClusterRole", "PersistentVolume", "StorageClass", "PriorityClass", "APIService"] {
		ids(deny_restricted_kind) == {"restricted-kind"} with input as {"apiVersion": "v1", "kind": kind, "metadata": {"name": "x"}}
	}
}

test_a_nameless_object_is_denied_too if {
	ids(deny_restricted_kind) == {"restricted-kind"} with input as object.remove(crb, ["metadata"])
}

test_rbac_bindings_in_the_namespace_are_denied if {
	rb := object.union(crb, {"kind": "RoleBinding", "metadata": {"name": "pwn", "namespace": "dev"}})
	ids(deny_restricted_kind) == {"restricted-kind"} with input as rb
}

test_namespaced_workload_kinds_pass_the_kind_rule if {
	count(deny_restricted_kind) == 0 with input as pod(good)
	count(deny_restricted_kind) == 0 with input as {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}
}

test_an_annotation_cannot_waive_the_kind_rule if {
	annotated := object.union(crb, {"metadata": {"name": "pwn", "annotations": {"socle.dev/guardrail-exceptions": "restricted-kind"}}})
	ids(deny_restricted_kind) == {"restricted-kind"} with input as annotated
}

test_the_platform_can_allow_a_kind if {
	count(deny_restricted_kind) == 0 with input as crb with data.socle.allowed_cluster_kinds as ["ClusterRoleBinding"]
	ids(deny_restricted_kind) == {"restricted-kind"} with input as crb with data.socle.allowed_cluster_kinds as ["ClusterRole"]
}

test_the_kind_rule_names_the_object_and_the_fix if {
	findings := deny_restricted_kind with input as crb
	some f in findings
	f.object == "ClusterRoleBinding/pwn"
	contains(f.msg, "grants permissions across the cluster")
	contains(f.msg, "socle.allowed_cluster_kinds")
}
