# Lets schemathesis send NDJSON bodies (POST /api/v1/import): the generated
# string is sent as UTF-8 bytes.
import json
import schemathesis


@schemathesis.serializer("application/x-ndjson", "application/jsonl", "application/jsonlines")
def ndjson(ctx, value):
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return (json.dumps(value) + "\n").encode("utf-8")
