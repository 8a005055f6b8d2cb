# Built-in guardrails for catalog entities. The input is the entity as served by the API, with
# its relations and whether each target exists:
#   {"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {...}, "spec": {...},
#    "relations": [{"type": "ownedBy", "targetRef": "group:default/team-a", "exists": true}, ...]}
package main

import rego.v1

is_entity if startswith(input.apiVersion, "backstage.io/")

entity_name := sprintf("%s:%s/%s", [lower(input.kind), object.get(input.metadata, "namespace", "default"), input.metadata.name])

owned_kinds := {"Component", "API", "Resource", "System", "Domain"}

deny_entity_owner contains {"id": "owner-exists", "msg": sprintf("%s has no owner that exists in the catalog (spec.owner %q): point spec.owner at an existing Group or User", [entity_name, object.get(input.spec, "owner", "")]), "path": "spec.owner", "object": entity_name} if {
	not disabled("owner-exists")
	is_entity
	input.kind in owned_kinds
	not owner_exists
}

owner_exists if {
	some r in input.relations
	r.type == "ownedBy"
	r.exists == true
}

deny_entity_system contains {"id": "production-has-system", "msg": sprintf("%s is in production but belongs to no System: set spec.system", [entity_name]), "path": "spec.system", "object": entity_name} if {
	not disabled("production-has-system")
	is_entity
	input.kind == "Component"
	input.spec.lifecycle == "production"
	not input.spec.system
}
