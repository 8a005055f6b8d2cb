# Built-in guardrails for Score workloads before resolution (input: the score.yaml document), so
# that problems show up in `socle policy eval score.yaml` and CI, long before a deploy.
package main

import rego.v1

is_score if input.apiVersion == "score.dev/v1b1"

score_name := object.get(input.metadata, "name", "workload")

deny_score_image contains {"id": "score-image-tag", "msg": sprintf("container %q of %s uses image %q: pin a version (or use \".\" and pass --image at deploy)", [name, score_name, c.image]), "path": sprintf("containers.%s.image", [name]), "object": score_name} if {
	not disabled("score-image-tag")
	is_score
	some name, c in input.containers
	is_string(c.image)
	c.image != "."
	not contains(c.image, "@")
	image_tag(c.image) == ""
}

deny_score_image contains {"id": "score-image-tag", "msg": sprintf("container %q of %s uses image %q: pin a version, never latest", [name, score_name, c.image]), "path": sprintf("containers.%s.image", [name]), "object": score_name} if {
	not disabled("score-image-tag")
	is_score
	some name, c in input.containers
	image_tag(c.image) == "latest"
}

deny_score_probes contains {"id": "score-probes", "msg": sprintf("container %q of %s declares no %s: add one to score.yaml", [name, score_name, probe]), "path": sprintf("containers.%s.%s", [name, probe]), "object": score_name} if {
	not disabled("score-probes")
	is_score
	some name, c in input.containers
	some probe in ["livenessProbe", "readinessProbe"]
	not c[probe]
}

deny_score_resources contains {"id": "score-resources", "msg": sprintf("container %q of %s declares no resources.%s.%s: add it to score.yaml", [name, score_name, kind, res]), "path": sprintf("containers.%s.resources.%s.%s", [name, kind, res]), "object": score_name} if {
	not disabled("score-resources")
	is_score
	some name, c in input.containers
	some kind in ["requests", "limits"]
	some res in ["cpu", "memory"]
	not c.resources[kind][res]
}
