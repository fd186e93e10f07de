# Runs Pester suites in one pwsh and writes each test's outcome as JSON for the vitest side to report.
param(
    [Parameter(Mandatory)] [string[]] $Path,
    [Parameter(Mandatory)] [string] $PesterModule,
    [Parameter(Mandatory)] [string] $ResultPath
)
$ErrorActionPreference = 'Stop'
# pwsh -File passes each argument as one string, so the suites arrive joined by the path separator (: or ;).
$Path = @($Path | ForEach-Object { $_ -split [regex]::Escape([string] [System.IO.Path]::PathSeparator) } | Where-Object { $_ })
Import-Module $PesterModule -Force
$configuration = New-PesterConfiguration
$configuration.Run.Path = $Path
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = 'None'
$run = Invoke-Pester -Configuration $configuration
$tests = foreach ($test in $run.Tests) {
    [ordered]@{
        file = $test.ScriptBlock.File
        name = $test.ExpandedPath
        result = [string] $test.Result
        error = $(if ($test.ErrorRecord.Count -gt 0) { ($test.ErrorRecord | ForEach-Object { $_.ToString() }) -join "`n" } else { $null })
    }
}
$containers = foreach ($container in $run.Containers) {
    [ordered]@{
        file = [string] $container.Item
        result = [string] $container.Result
        error = $(if ($container.ErrorRecord.Count -gt 0) { ($container.ErrorRecord | ForEach-Object { $_.ToString() }) -join "`n" } else { $null })
    }
}
Set-Content -LiteralPath $ResultPath -Value (ConvertTo-Json -InputObject ([ordered]@{ tests = @($tests); containers = @($containers) }) -Depth 5)
