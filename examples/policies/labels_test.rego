# The policy's own tests. Try: socle policy test examples/policies
package main

import rego.v1

test_a_deployment_without_team_is_denied if {
	count(deny) == 1 with input as {"kind": "Deployment", "metadata": {"name": "x", "labels": {}}}
}

test_a_deployment_with_team_passes if {
	count(deny) == 0 with input as {"kind": "Deployment", "metadata": {"name": "x", "labels": {"team": "routing"}}}
}
