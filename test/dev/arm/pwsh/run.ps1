# Runs a product script under the Windows stand-ins of mocks.ps1, then saves their state for the test to compare.
param([string] $ScriptPath, [string] $StatePath, [string] $ParametersJson)
. (Join-Path $PSScriptRoot 'mocks.ps1') -StatePath $StatePath
$parameters = $ParametersJson | ConvertFrom-Json -AsHashtable
& $ScriptPath @parameters
$code = $LASTEXITCODE
Save-FakeState -Path $StatePath
exit $code
