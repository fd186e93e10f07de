# Gate: every host script (shared/arc/scripts/*.ps1) uses only what Windows PowerShell 5.1 has, because Azure Arc Run
# Command runs them there while these suites run them in pwsh 7. The rules, with their sources, are in
# test/support/WindowsPowerShell51Rules.ps1; each rule is first shown to catch a bad sample, so the gate cannot pass
# by finding nothing.
BeforeDiscovery {
    . "$PSScriptRoot/../../../support/WindowsPowerShell51Rules.ps1"
    $folder = [System.IO.Path]::GetFullPath((Join-Path $PSScriptRoot '../../../../shared/arc/scripts'))
    $HostScripts = @(Get-ChildItem -LiteralPath $folder -Filter '*.ps1' -File | Sort-Object Name | ForEach-Object { @{ Name = $_.Name; Path = $_.FullName } })
    $Rules = @(Get-WindowsPowerShell51Rule | ForEach-Object { @{ Id = $_.Id } })
}

BeforeAll {
    . "$PSScriptRoot/../../../support/WindowsPowerShell51Rules.ps1"
}

Describe 'Windows PowerShell 5.1 rules' {
    It 'finds the host scripts (at least the seven of steps 2-4)' -ForEach @{ Found = $HostScripts.Count } {
        $Found | Should -BeGreaterOrEqual 7
    }

    It '<Id> catches each of its bad samples' -ForEach $Rules {
        $rule = Get-WindowsPowerShell51Rule -Id $Id
        foreach ($sample in @($rule.Sample)) {
            $found = @(Find-WindowsPowerShell51Violation -Context (Get-ScriptContext -Text $sample) -RuleId $Id)
            $found.Count | Should -BeGreaterThan 0 -Because "the sample is: $sample"
            $found[0] | Should -Match ('^sample:[0-9]+ \[' + [regex]::Escape($Id) + '\] ')
        }
    }

    It 'no rule fires on 5.1-clean code' {
        $clean = @'
[CmdletBinding()]
param([string] $Name)
$a = if ($b) { 1 } else { 2 }
$c = [System.IO.Path]::Combine('a', 'b')
$d = Join-Path 'a' 'b'
$e = Join-Path -Path $a -ChildPath 'b' -Resolve
$j = '{}' | ConvertFrom-Json
$k = ConvertTo-Json -InputObject $j -Compress -Depth 6
$l = Get-Content -LiteralPath $d -Raw -Encoding UTF8
$m = "tab`t, newline`n, escaped ``e and ``u{41}"
$n = 10l + 1d + 0x1F + 2kb + 1e3
$o = 'abc' -replace 'b', 'c'
$p = 1..3 | ForEach-Object -Process { $_ } | Where-Object { $_ -gt 1 } | Sort-Object
$q = $start.Arguments
enum Color { Red }
class Box { [string] $Name }
'@
        @(Find-WindowsPowerShell51Violation -Context (Get-ScriptContext -Text $clean)) | Should -BeNullOrEmpty
    }

    It 'a BOM keeps bom-less-non-ascii quiet but not non-ascii' {
        $text = "Write-Output 'caf" + [char] 0x00E9 + "'"
        $bytes = [System.Text.UTF8Encoding]::new($true).GetPreamble() + [System.Text.UTF8Encoding]::new($false).GetBytes($text)
        $context = Get-ScriptContext -Text $text -Bytes $bytes
        @(Find-WindowsPowerShell51Violation -Context $context -RuleId 'bom-less-non-ascii') | Should -BeNullOrEmpty
        @(Find-WindowsPowerShell51Violation -Context $context -RuleId 'non-ascii') | Should -HaveCount 1
    }

    It 'reports file, line and rule' {
        $context = Get-ScriptContext -Text "`$a = 1`n`$b = `$a ?? 2" -Name 'drifted.ps1'
        Find-WindowsPowerShell51Violation -Context $context | Should -Be @('drifted.ps1:2 [null-coalescing] $a ?? 2: ?? is PowerShell 7.0 syntax; 5.1 fails to parse the script')
    }
}

Describe 'host scripts run in Windows PowerShell 5.1' {
    It '<Name> uses nothing 5.1 lacks' -ForEach $HostScripts {
        $violations = @(Find-WindowsPowerShell51Violation -Context (Get-ScriptContext -Path $Path))
        ($violations -join "`n") | Should -BeNullOrEmpty -Because 'Azure Arc Run Command runs the script in Windows PowerShell 5.1'
    }
}
