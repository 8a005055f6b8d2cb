# A team's own guardrail in conftest's style: every Deployment names its team in a label.
# Try: socle policy eval -p examples/policies examples/k8s   (exits 1: the example has no team label)
package main

import rego.v1

deny contains msg if {
	input.kind == "Deployment"
	not input.metadata.labels.team
	msg := sprintf("Deployment %s has no team label", [input.metadata.name])
}
