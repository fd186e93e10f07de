#!/usr/bin/env bash
# Compiles and lints every Bicep template with the Bicep CLI restored from NuGet (`npm run bicep:restore`). Any
# diagnostic fails: the linter rules are at error level in infra/bicepconfig.json, and compiler warnings count too.
set -euo pipefail
cd "$(dirname "$0")/../.."

version=$(sed -n 's/.*Include="Azure.Bicep.CommandLine.linux-x64" Version="\[\([^]]*\)\]".*/\1/p' infra/tools/Bicep.csproj)
bicep=".tools/nuget/azure.bicep.commandline.linux-x64/${version}/tools/bicep"
if [[ ! -x "$bicep" ]]; then
  echo "infra:check: $bicep is missing; run npm run bicep:restore (needs the .NET SDK)" >&2
  exit 1
fi
"$bicep" --version

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=0
templates=0
while IFS= read -r -d '' template; do
  templates=$((templates + 1))
  for command in build lint; do
    if [[ $command == build ]]; then
      args=(build "$template" --outfile "$scratch/template.json")
    else
      args=(lint "$template")
    fi
    if ! output=$("$bicep" "${args[@]}" 2>&1) || grep -Eq ' : (Warning|Error|Info) ' <<<"$output"; then
      echo "FAIL bicep $command $template"
      echo "$output"
      failed=1
    else
      echo "ok   bicep $command $template"
    fi
  done
done < <(find infra -name '*.bicep' -not -path 'infra/tools/*' -print0 | sort -z)

if [[ $templates -eq 0 ]]; then
  echo "infra:check: no templates found under infra/" >&2
  exit 1
fi
exit $failed
