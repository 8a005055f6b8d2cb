# Socle's built-in data access policy. A request to read a data product's columns of one
# classification is refused when any `deny` rule holds; the platform adds its own rules in
# `data-access/*.rego` (same package). The input:
#   {"user": {"name": "user:default/ann", "teams": ["group:default/analytics"]},
#    "team": "group:default/analytics", "purpose": "churn model for Q3", "days": 30,
#    "classification": "pii", "columns": ["customers.email"],
#    "product": {"ref": "datacontract:default/customers", "owner": "group:default/crm",
#                "tier": "gold", "domain": "sales"}}
package socle.data.access

import rego.v1

personal := {"pii", "personal", "sensitive"}

deny contains "state the purpose of the access in at least 10 characters (GDPR art. 5(1)(b): purpose limitation)" if {
	count(trim_space(input.purpose)) < 10
}

deny contains "the requester belongs to no team: access is granted to a member of a team" if {
	input.team == ""
}

deny contains sprintf("access to %s data is granted for at most 90 days; %d were asked (GDPR art. 5(1)(e): storage limitation)", [input.classification, input.days]) if {
	lower(input.classification) in personal
	input.days > 90
}

deny contains "columns classified secret are never granted through a request: ask the product's owners" if {
	lower(input.classification) == "secret"
}

deny contains "the product's owner team reads its own data without a grant" if {
	input.team == input.product.owner
}
