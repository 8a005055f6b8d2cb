"""Schemathesis hooks for scripts/check-api-contract.sh.

`POST /api/v1/dora/events` takes JSON Lines (`application/x-ndjson`): text, one JSON object per
line. The OpenAPI document describes the body as a string under that media type; a string of
JSON Lines is sent as its UTF-8 bytes, as Schemathesis sends `text/plain`.
"""

import schemathesis

schemathesis.serializer.alias("application/x-ndjson", "text/plain")
