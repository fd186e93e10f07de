# Shared by the Pester suites of the host scripts (test/shared/arc/scripts/*.Tests.ps1). Dot-source it in BeforeAll:
#   BeforeAll { . "$PSScriptRoot/../../../support/HostScripts.ps1"; . (Get-HostScriptFunctions 'enable-network-proxy') }
# The second line defines the script's own functions in the suite's scope so that Pester can Mock them (Mock needs
# the command to exist); a Pester mock is an alias, which wins over the function the script defines when it runs.
Set-StrictMode -Version 3.0

$script:HostScriptsFolder = [System.IO.Path]::GetFullPath((Join-Path $PSScriptRoot '../../shared/arc/scripts'))

function Get-HostScriptPath {
    param([Parameter(Mandatory)] [string] $Name)
    $path = Join-Path $script:HostScriptsFolder ($Name + '.ps1')
    if (-not (Test-Path -LiteralPath $path)) { throw "No host script named $Name in $script:HostScriptsFolder" }
    return $path
}

function Get-HostScriptFunctions {
    # A script block defining every top-level function of the script; dot-source it.
    param([Parameter(Mandatory)] [string] $Name)
    $errors = $null
    $ast = [System.Management.Automation.Language.Parser]::ParseFile((Get-HostScriptPath $Name), [ref] $null, [ref] $errors)
    if ($errors) { throw "$Name does not parse: $($errors[0].Message)" }
    $functions = $ast.EndBlock.Statements | Where-Object { $_ -is [System.Management.Automation.Language.FunctionDefinitionAst] }
    return [scriptblock]::Create((($functions | ForEach-Object { $_.Extent.Text }) -join "`n"))
}

function Invoke-HostScript {
    # Runs the script as Arc Run Command does: named string parameters, the script's own exit code, its output lines.
    # Called from an It block, the suite's mocks are in scope. Every run is logged for the vitest side, which parses
    # each result line with the app's own schema (test/shared/arc/scripts/pester.test.ts).
    param(
        [Parameter(Mandatory)] [string] $Name,
        [System.Collections.IDictionary] $Parameters = @{}
    )
    foreach ($key in $Parameters.Keys) {
        if ($Parameters[$key] -isnot [string]) { throw "Run Command passes strings only; parameter $key is a $($Parameters[$key].GetType().Name)" }
    }
    $path = Get-HostScriptPath $Name
    $bindingError = $null
    $lines = @()
    $global:LASTEXITCODE = 0
    try {
        $lines = @(& $path @Parameters | ForEach-Object { [string] $_ })
        $exitCode = $global:LASTEXITCODE
    }
    catch [System.Management.Automation.ParameterBindingException] {
        # Run Command reports a refused parameter as a failed run with the binder's message and no script output.
        $bindingError = $_.Exception.Message
        $exitCode = 1
    }
    $resultLine = @($lines | Where-Object { $_.StartsWith('SDNATTACH-RESULT ') }) | Select-Object -Last 1
    $result = if ($resultLine) { $resultLine.Substring('SDNATTACH-RESULT '.Length) | ConvertFrom-Json -AsHashtable } else { $null }
    if ($env:SDNATTACH_SCRIPT_RUN_LOG) {
        $entry = [ordered]@{
            script = $Name
            test = $(if ($null -ne (Get-Variable -Name ____Pester -Scope Global -ErrorAction Ignore)) { $____Pester.CurrentTest.ExpandedPath } else { $null })
            parameters = $Parameters
            exitCode = $exitCode
            lines = $lines
            bindingError = $bindingError
        }
        Add-Content -LiteralPath $env:SDNATTACH_SCRIPT_RUN_LOG -Value (ConvertTo-Json -InputObject $entry -Compress -Depth 6)
    }
    return [pscustomobject]@{
        ExitCode = $exitCode
        Lines = $lines
        ResultLine = $resultLine
        Result = $result
        BindingError = $bindingError
    }
}

function Assert-Failed {
    # A failed run as the app must see it: exit 1, ok false, nothing changed, this code and permanence.
    param($Run, [string] $Code, [bool] $Permanent)
    $Run.ExitCode | Should -Be 1
    $Run.Result.ok | Should -BeFalse
    $Run.Result.changed | Should -BeFalse
    $Run.Result.error.code | Should -Be $Code
    $Run.Result.error.permanent | Should -Be $Permanent
}
