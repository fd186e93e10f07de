# Gate: each host script travels alone as a Run Command's source, so the helpers they share are copied inline in
# each. This suite keeps the copies identical and the result-line contract whole:
#   - every function defined in more than one script (by name, from the AST, whatever the function) has the same text
#     in all of them, whitespace included (only CRLF versus LF is ignored), and no script defines a name twice;
#   - every script has $Sentinel = 'SDNATTACH-RESULT', $script:Changed = $false, Write-ResultLine and New-StepFailure,
#     and ends with the top-level catch that turns any failure into a result line and exit code 1: the common shape
#     below, plus only the named extensions listed in $CatchExtensions.
BeforeDiscovery {
    $folder = [System.IO.Path]::GetFullPath((Join-Path $PSScriptRoot '../../../../shared/arc/scripts'))
    $HostScripts = @(Get-ChildItem -LiteralPath $folder -Filter '*.ps1' -File | Sort-Object Name | ForEach-Object { @{ Name = $_.BaseName; Path = $_.FullName } })
    $definedIn = @{}
    foreach ($script in $HostScripts) {
        $ast = [System.Management.Automation.Language.Parser]::ParseFile($script.Path, [ref] $null, [ref] $null)
        foreach ($function in $ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $true)) {
            if (-not $definedIn.ContainsKey($function.Name)) { $definedIn[$function.Name] = [System.Collections.Generic.HashSet[string]]::new() }
            [void] $definedIn[$function.Name].Add($script.Name)
        }
    }
    $SharedFunctions = @($definedIn.Keys | Where-Object { $definedIn[$_].Count -gt 1 } | Sort-Object | ForEach-Object { @{ Function = $_; Scripts = (@($definedIn[$_]) | Sort-Object) -join ', ' } })
}

BeforeAll {
    $script:HostScriptsFolder = [System.IO.Path]::GetFullPath((Join-Path $PSScriptRoot '../../../../shared/arc/scripts'))

    # The final catch every script ends with. Its result line is what the app's parser (shared/arc/resultLine.ts)
    # reads when a step fails: the code and permanence from New-StepFailure, else ScriptFailed and retryable.
    $script:CommonCatch = @'
{
    $failure = $_.Exception
    $code = 'ScriptFailed'
    $permanent = $false
    if ($failure.Data.Contains('SdnAttachCode')) {
        $code = [string] $failure.Data['SdnAttachCode']
        $permanent = [bool] $failure.Data['SdnAttachPermanent']
    }
    [Console]::Error.WriteLine(('{0}: {1}' -f $code, $failure.Message))
    Write-ResultLine ([ordered]@{ ok = $false; changed = $script:Changed; error = [ordered]@{ code = $code; message = $failure.Message; permanent = $permanent } })
    exit 1
}
'@ -replace "`r`n", "`n"

    # The only ways a script's final catch may differ from the common one: each replaces one exact piece of it.
    $script:CatchExtensions = @(
        [pscustomobject]@{
            # The registry writers (install- and remove-private-cloud-plugin): an access failure from the registry API is
            # not worth retrying, so it becomes a permanent RegistryAccessDenied instead of a retryable ScriptFailed.
            Name = 'RegistryAccessDenied'
            Requires = 'Test-AccessDenied'
            Find = @'
        $permanent = [bool] $failure.Data['SdnAttachPermanent']
    }

'@ -replace "`r`n", "`n"
            Replace = @'
        $permanent = [bool] $failure.Data['SdnAttachPermanent']
    }
    elseif (Test-AccessDenied -Failure $failure) {
        $code = 'RegistryAccessDenied'
        $permanent = $true
    }

'@ -replace "`r`n", "`n"
        }
        [pscustomobject]@{
            # The removals (remove-container-network, remove-private-cloud-plugin): a failure that New-StepFailure gave
            # -Details (the containers or networks still in the way) carries them into the result line beside error,
            # so the app can say what blocks the removal.
            Name = 'Details'
            Requires = 'New-StepFailure'
            Find = @'
    Write-ResultLine ([ordered]@{ ok = $false; changed = $script:Changed; error = [ordered]@{ code = $code; message = $failure.Message; permanent = $permanent } })

'@ -replace "`r`n", "`n"
            Replace = @'
    $fields = [ordered]@{ ok = $false; changed = $script:Changed; error = [ordered]@{ code = $code; message = $failure.Message; permanent = $permanent } }
    if ($failure.Data.Contains('SdnAttachDetails')) {
        $details = $failure.Data['SdnAttachDetails']
        foreach ($key in $details.Keys) { $fields[$key] = $details[$key] }
    }
    Write-ResultLine $fields

'@ -replace "`r`n", "`n"
        }
    )

    function ConvertTo-ScriptSource {
        # A script's name and AST, from its file or from in-memory text.
        param([string] $Name, [string] $Path, [string] $Text)
        $errors = $null
        $ast = if ($Path) { [System.Management.Automation.Language.Parser]::ParseFile($Path, [ref] $null, [ref] $errors) } else { [System.Management.Automation.Language.Parser]::ParseInput($Text, [ref] $null, [ref] $errors) }
        if ($errors) { throw "$Name does not parse: $($errors[0].Message)" }
        return [pscustomobject]@{ Name = $Name; Ast = $ast }
    }

    function Get-HostScriptSources {
        Get-ChildItem -LiteralPath $script:HostScriptsFolder -Filter '*.ps1' -File | Sort-Object Name | ForEach-Object { ConvertTo-ScriptSource -Name $_.BaseName -Path $_.FullName }
    }

    function Get-FunctionText {
        param($Function)
        return ($Function.Extent.Text -replace "`r`n", "`n")
    }

    function Get-FirstDifference {
        # The first line where two texts differ, as "line N: <a> | <b>".
        param([string] $A, [string] $B)
        $left = $A -split "`n"
        $right = $B -split "`n"
        for ($i = 0; $i -lt [Math]::Max($left.Count, $right.Count); $i++) {
            $l = if ($i -lt $left.Count) { $left[$i] } else { '<end>' }
            $r = if ($i -lt $right.Count) { $right[$i] } else { '<end>' }
            if ($l -cne $r) { return ('line {0}: {1} | {2}' -f ($i + 1), $l.Trim(), $r.Trim()) }
        }
        return 'no difference'
    }

    function Find-HelperDrift {
        # Every function defined in more than one source must have the same text in all of them; a name defined twice
        # in one source is drift too (the later definition wins). Returns one message per problem, none when all agree.
        param([Parameter(Mandatory)] [object[]] $Sources, [string] $Function)
        $copies = @{}
        foreach ($source in $Sources) {
            $functions = $source.Ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $true)
            foreach ($group in @($functions | Group-Object -Property Name)) {
                if ($Function -and $group.Name -ne $Function) { continue }
                if ($group.Count -gt 1) { '{0}: {1} is defined {2} times' -f $source.Name, $group.Name, $group.Count }
                if (-not $copies.ContainsKey($group.Name)) { $copies[$group.Name] = [System.Collections.Generic.List[object]]::new() }
                $copies[$group.Name].Add([pscustomobject]@{ Script = $source.Name; Text = (Get-FunctionText $group.Group[0]) })
            }
        }
        foreach ($name in @($copies.Keys | Sort-Object)) {
            $variants = @($copies[$name] | Group-Object -Property Text -CaseSensitive | Sort-Object -Property Count -Descending)
            if ($variants.Count -le 1) { continue }
            $reference = $variants[0]
            foreach ($other in $variants[1..($variants.Count - 1)]) {
                '{0} differs: {1} has one text, {2} another; first difference at {3}' -f $name,
                (($reference.Group | ForEach-Object Script) -join ', '), (($other.Group | ForEach-Object Script) -join ', '),
                (Get-FirstDifference -A $reference.Name -B $other.Name)
            }
        }
    }

    function Get-AllowedCatches {
        # The common catch with every subset of the extensions applied: @{ Names = ...; Text = ... }.
        $allowed = @([pscustomobject]@{ Names = @(); Text = $script:CommonCatch })
        foreach ($extension in $script:CatchExtensions) {
            if (-not $script:CommonCatch.Contains($extension.Find)) { throw "Extension $($extension.Name) does not apply to the common catch" }
            $allowed += @($allowed | ForEach-Object { [pscustomobject]@{ Names = @($_.Names) + $extension.Name; Text = $_.Text.Replace($extension.Find, $extension.Replace) } })
        }
        return $allowed
    }

    function Test-ResultContract {
        # The result-line contract pieces of one source; returns one message per problem and, when the final catch is
        # an allowed one, "extensions: ..." naming the extensions it uses.
        param([Parameter(Mandatory)] $Source)
        $name = $Source.Name
        $top = @($Source.Ast.EndBlock.Statements)
        $topFunctions = @($top | Where-Object { $_ -is [System.Management.Automation.Language.FunctionDefinitionAst] } | ForEach-Object Name)

        $sentinels = @($Source.Ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.AssignmentStatementAst] -and $n.Left -is [System.Management.Automation.Language.VariableExpressionAst] -and $n.Left.VariablePath.UserPath -eq 'Sentinel' }, $true))
        if ($sentinels.Count -ne 1 -or $sentinels[0].Extent.Text -cne "`$Sentinel = 'SDNATTACH-RESULT'" -or $top -notcontains $sentinels[0]) {
            "${name}: needs exactly one top-level `$Sentinel = 'SDNATTACH-RESULT'"
        }
        $changed = @($top | Where-Object { $_ -is [System.Management.Automation.Language.AssignmentStatementAst] -and $_.Extent.Text -ceq '$script:Changed = $false' })
        if ($changed.Count -ne 1) { "${name}: needs one top-level `$script:Changed = `$false (the final catch reports it)" }
        foreach ($required in @('Write-ResultLine', 'New-StepFailure')) {
            if ($topFunctions -notcontains $required) { "${name}: has no top-level function $required" }
        }
        $writer = @($top | Where-Object { $_ -is [System.Management.Automation.Language.FunctionDefinitionAst] -and $_.Name -eq 'Write-ResultLine' }) | Select-Object -First 1
        if ($writer -and -not $writer.Extent.Text.Contains("Write-Output (`$Sentinel + ' ' + (ConvertTo-Json")) { "${name}: Write-ResultLine does not write `$Sentinel, a space and the JSON" }
        $failure = @($top | Where-Object { $_ -is [System.Management.Automation.Language.FunctionDefinitionAst] -and $_.Name -eq 'New-StepFailure' }) | Select-Object -First 1
        if ($failure -and -not ($failure.Extent.Text.Contains("Data['SdnAttachCode'] = `$Code") -and $failure.Extent.Text.Contains("Data['SdnAttachPermanent'] = `$Permanent"))) {
            "${name}: New-StepFailure does not set SdnAttachCode and SdnAttachPermanent in the exception's Data"
        }

        $last = if ($top.Count -gt 0) { $top[-1] } else { $null }
        if ($last -isnot [System.Management.Automation.Language.TryStatementAst] -or $last.CatchClauses.Count -ne 1 -or -not $last.CatchClauses[0].IsCatchAll -or $null -ne $last.Finally) {
            "${name}: the last top-level statement must be try { ... } catch { ... } with one untyped catch and no finally"
            return
        }
        $text = $last.CatchClauses[0].Body.Extent.Text -replace "`r`n", "`n"
        $match = @(Get-AllowedCatches | Where-Object { $_.Text -ceq $text.TrimEnd() + "`n" -or $_.Text.TrimEnd() -ceq $text.TrimEnd() }) | Select-Object -First 1
        if ($null -eq $match) {
            $closest = Get-AllowedCatches | Sort-Object { (Compare-Object ($_.Text -split "`n") ($text -split "`n") -CaseSensitive).Count } | Select-Object -First 1
            "${name}: the final catch is not the common one (extensions allowed: {0}); first difference from the closest allowed form ({1}) at {2}" -f
            (($script:CatchExtensions | ForEach-Object Name) -join ', '), ($(if ($closest.Names) { $closest.Names -join ' + ' } else { 'common' })),
            (Get-FirstDifference -A $closest.Text.TrimEnd() -B $text.TrimEnd())
            return
        }
        foreach ($extension in @($script:CatchExtensions | Where-Object { $match.Names -contains $_.Name })) {
            if ($topFunctions -notcontains $extension.Requires) { "${name}: the catch uses extension $($extension.Name) but the script has no function $($extension.Requires)" }
        }
        'extensions: ' + $(if ($match.Names) { $match.Names -join ', ' } else { 'none' })
    }
}

Describe 'shared helpers are identical copies' {
    It 'finds the host scripts (at least the seven of steps 2-4) and helpers they share' -ForEach @{ Found = $HostScripts.Count; Shared = $SharedFunctions.Count } {
        $Found | Should -BeGreaterOrEqual 7
        $Shared | Should -BeGreaterThan 0
    }

    It '<Function> is the same in <Scripts>' -ForEach $SharedFunctions {
        @(Find-HelperDrift -Sources @(Get-HostScriptSources) -Function $Function) -join "`n" | Should -BeNullOrEmpty
    }

    It 'no helper differs between scripts (whatever its name)' {
        @(Find-HelperDrift -Sources @(Get-HostScriptSources)) -join "`n" | Should -BeNullOrEmpty
    }

    It 'catches a drifted copy' {
        $a = ConvertTo-ScriptSource -Name 'a' -Text "function Get-Thing {`n    param([string] `$Name)`n    return `$Name`n}`nfunction Only-A { }"
        $same = ConvertTo-ScriptSource -Name 'same' -Text "function Get-Thing {`r`n    param([string] `$Name)`r`n    return `$Name`r`n}"
        $b = ConvertTo-ScriptSource -Name 'b' -Text "function Get-Thing {`n    param([string] `$Name)`n    return  `$Name`n}"
        $twice = ConvertTo-ScriptSource -Name 'twice' -Text "function Only-A { }`nfunction Only-A { }"
        @(Find-HelperDrift -Sources @($a, $same)) | Should -BeNullOrEmpty -Because 'CRLF versus LF is no drift'
        $drift = @(Find-HelperDrift -Sources @($a, $same, $b))
        $drift | Should -HaveCount 1
        $drift[0] | Should -BeLike 'Get-Thing differs: a, same has one text, b another; first difference at line 3: *'
        @(Find-HelperDrift -Sources @($twice)) | Should -Be @('twice: Only-A is defined 2 times')
    }
}

Describe 'result-line contract' {
    It '<Name> has the sentinel, Write-ResultLine, New-StepFailure and the final catch' -ForEach $HostScripts {
        $findings = @(Test-ResultContract -Source (ConvertTo-ScriptSource -Name $Name -Path $Path))
        @($findings | Where-Object { $_ -notlike 'extensions: *' }) -join "`n" | Should -BeNullOrEmpty
        @($findings | Where-Object { $_ -like 'extensions: *' }) | Should -HaveCount 1
    }

    It 'every catch extension is used by some script' {
        $used = @(Get-HostScriptSources | ForEach-Object { Test-ResultContract -Source $_ } | Where-Object { $_ -like 'extensions: *' } | ForEach-Object { $_.Substring('extensions: '.Length) -split ', ' })
        foreach ($extension in $script:CatchExtensions) { $used | Should -Contain $extension.Name }
    }

    It 'catches a drifted catch, and names the extensions of an allowed one' {
        $helpers = @'
$Sentinel = 'SDNATTACH-RESULT'
$script:Changed = $false
function Write-ResultLine {
    param([System.Collections.IDictionary] $Fields)
    Write-Output ($Sentinel + ' ' + (ConvertTo-Json -InputObject $Fields -Compress -Depth 6))
}
function New-StepFailure {
    param([string] $Code, [string] $Message, [bool] $Permanent)
    $exception = [System.InvalidOperationException]::new($Message)
    $exception.Data['SdnAttachCode'] = $Code
    $exception.Data['SdnAttachPermanent'] = $Permanent
    return $exception
}
function Test-AccessDenied { param($Failure) return $false }
try {
    Write-ResultLine ([ordered]@{ ok = $true })
    exit 0
}
catch
'@
        $common = $helpers + $script:CommonCatch
        Test-ResultContract -Source (ConvertTo-ScriptSource -Name 'common' -Text $common) | Should -Be @('extensions: none')

        $both = $helpers + (Get-AllowedCatches | Where-Object { $_.Names.Count -eq 2 }).Text
        Test-ResultContract -Source (ConvertTo-ScriptSource -Name 'both' -Text $both) | Should -Be @('extensions: RegistryAccessDenied, Details')

        $exitTwo = $helpers + $script:CommonCatch.Replace('exit 1', 'exit 2')
        $found = @(Test-ResultContract -Source (ConvertTo-ScriptSource -Name 'exit-two' -Text $exitTwo))
        $found | Should -HaveCount 1
        $found[0] | Should -BeLike 'exit-two: the final catch is not the common one*at line 11: exit 1 | exit 2'

        $noStderr = $helpers + $script:CommonCatch.Replace("    [Console]::Error.WriteLine(('{0}: {1}' -f `$code, `$failure.Message))`n", '')
        @(Test-ResultContract -Source (ConvertTo-ScriptSource -Name 'no-stderr' -Text $noStderr))[0] | Should -BeLike 'no-stderr: the final catch is not the common one*'

        $noSentinel = ($helpers -replace "\`$Sentinel = 'SDNATTACH-RESULT'", "`$Sentinel = 'SDNATTACH'") + $script:CommonCatch
        Test-ResultContract -Source (ConvertTo-ScriptSource -Name 'no-sentinel' -Text $noSentinel) | Should -Contain "no-sentinel: needs exactly one top-level `$Sentinel = 'SDNATTACH-RESULT'"

        $noFailure = ($helpers -replace '(?s)function New-StepFailure \{.*?\n\}\n', '') + $script:CommonCatch
        Test-ResultContract -Source (ConvertTo-ScriptSource -Name 'no-failure' -Text $noFailure) | Should -Contain 'no-failure: has no top-level function New-StepFailure'

        $trailing = $common + "`nWrite-Output 'after'"
        @(Test-ResultContract -Source (ConvertTo-ScriptSource -Name 'trailing' -Text $trailing))[0] | Should -BeLike 'trailing: the last top-level statement must be try*'
    }
}
