#!/usr/bin/env bash
# The checked-in contracts, proven by the field's own tools (tests/contracts/,
# `npm ci` there first):
#  - GraphQL: every document of the README (its ```graphql blocks) and of
#    bench/workloads/ is validated by GraphQL Inspector against schema.graphql
#    (within the server's depth, alias and directive limits, no deprecated
#    field) and turned into typed operations by GraphQL Code Generator;
#  - OpenAPI: openapi-typescript generates types from openapi.yaml and Redocly
#    lints it (tests/contracts/redocly.yaml: every problem is an error);
#  - TypeScript type-checks what the generators wrote.
# Fails on the first error. The generated files are left in target/contracts/.
# Usage: scripts/contracts.sh
set -euo pipefail
cd "$(dirname "$0")/.."
tools=tests/contracts/node_modules/.bin
[ -x "$tools/graphql-codegen" ] || {
  echo "the contract tools are not installed: run (cd tests/contracts && npm ci)" >&2
  exit 1
}
out=target/contracts
rm -rf "$out"
mkdir -p "$out/documents"

# Each ```graphql block of the README is one document, named by its line.
awk -v dir="$out/documents" '
  /^```graphql[[:space:]]*$/ { file = sprintf("%s/readme-line-%d.graphql", dir, NR); next }
  /^```/ && file { close(file); file = ""; next }
  file { print > file }
' README.md
readme=$(find "$out/documents" -name 'readme-*.graphql' | wc -l)
[ "$readme" -gt 0 ] || { echo "README.md has no \`\`\`graphql block" >&2; exit 1; }
cp bench/workloads/*.graphql "$out/documents/"
echo "GraphQL documents: $readme from README.md, $(ls bench/workloads/*.graphql | wc -l) from bench/workloads/"

# The server's own limits (src/graphql/mod.rs, src/http/graphql.rs).
limit() { grep -oE "$1[^0-9]*[0-9_]+" "$2" | head -1 | grep -oE '[0-9_]+$' | tr -d _; }
depth=$(limit 'MAX_DEPTH: usize =' src/graphql/mod.rs)
aliases=$(limit 'MAX_ALIASES: usize =' src/http/graphql.rs)
directives=$(limit 'limit_directives\(' src/graphql/mod.rs)
"$tools/graphql-inspector" validate "$out/documents/*.graphql" schema.graphql \
  --deprecated --maxDepth "$depth" --maxAliasCount "$aliases" --maxDirectiveCount "$directives"

(cd tests/contracts && node_modules/.bin/graphql-codegen --config codegen.yml --silent)
echo "typed operations: $out/operations.ts"

"$tools/openapi-typescript" openapi.yaml --output "$out/openapi.d.ts"
"$tools/redocly" lint --config tests/contracts/redocly.yaml --format stylish openapi.yaml

"$tools/tsc" --project tests/contracts/tsconfig.json
echo "contracts: all tools agree"
