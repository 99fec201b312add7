"""Expands a JSON-LD document (stdin) with `pyld` and prints the expanded
form as JSON. The schema.org context is served by a local document loader
(no network at test time): a minimal context with schema.org's own `@vocab`
(`http://schema.org/`, as in schema.org's published context), so every term
and type of the document expands to its schema.org IRI and `@id` links stay
links. Any other remote document is refused."""

import json
import sys

from pyld import jsonld

SCHEMA_ORG = {"@context": {"@vocab": "http://schema.org/", "schema": "http://schema.org/"}}


def loader(url, options=None):
    if url.rstrip("/") in ("https://schema.org", "http://schema.org"):
        return {
            "contentType": "application/ld+json",
            "contextUrl": None,
            "documentUrl": url,
            "document": SCHEMA_ORG,
        }
    raise jsonld.JsonLdError("no network in tests", "jsonld.LoadDocumentError", {"url": url})


doc = json.load(sys.stdin)
print(json.dumps(jsonld.expand(doc, {"documentLoader": loader})))
