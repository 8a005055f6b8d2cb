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

all_denials := (((((((((deny_liveness_probe | deny_readiness_probe) | deny_resources) | deny_image_tag) | deny_privileged) | deny_host_namespaces) | deny_privilege_escalation) | deny_read_only_root_filesystem) | deny_run_as_non_root) | deny_net_raw) | deny_added_capabilities

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
	sc := object.union(object.remove(good.securityContext, ["capabilities"]), {"capabilities": {"add": ["NET_ADMIN"]}})
	c := object.union(object.remove(good, ["securityContext"]), {"securityContext": sc})
	ids(deny_added_capabilities) == {"no-added-capabilities"} with input as pod(c)
	ids(deny_net_raw) == {"drop-net-raw"} with input as pod(c)
}

test_plaintext_secret_env if {
	c := object.union(good, {"env": [{"name": "DB_PASSWORD", "value": "x"}, {"name": "GREETING", "value": "hi"}]})
	ids(deny_plaintext_secret_env) == {"plaintext-secret-env"} with input as pod(c)
	r := object.union(good, {"env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]})
	count(deny_plaintext_secret_env) == 0 with input as pod(r)
	ids(warn_secret_env_ref) == {"secret-env-ref"} with input as pod(r)
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
