# What Windows PowerShell 5.1 lacks, as rules over a script's bytes, tokens and AST (pwsh's own parser). Used by
# test/shared/arc/scripts/WindowsPowerShell51.Tests.ps1: Azure Arc Run Command runs the host scripts in Windows
# PowerShell 5.1, while the Pester suites run them in pwsh 7, which accepts all of this.
#
# Sources for what arrived after 5.1 (the version each came in is noted in the rule):
#   - What's New in PowerShell 7.0 .. 7.5 and in PowerShell Core 6.0 .. 6.2:
#     https://learn.microsoft.com/powershell/scripting/whats-new/overview
#   - Differences between Windows PowerShell 5.1 and PowerShell 7.x:
#     https://learn.microsoft.com/powershell/scripting/whats-new/differences-from-windows-powershell
#   - about_Pipeline_Chain_Operators, about_Operators (?:, ??, ??=, ?. and ?[]), about_Special_Characters (`e, `u{}),
#     about_Numeric_Literals (u, s, y, n suffixes, 0b prefix), about_Functions (clean block, 7.3), about_Enum
#     (underlying type, 6.2), about_Character_Encoding (utf8BOM, utf8NoBOM, ansi):
#     https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/
#   - each cmdlet's reference page (the parameters below are absent from its 5.1 page), and PowerShell's CHANGELOG
#     (e.g. v7.0.0-preview.5: Get-Error, pipeline chains, ?? and ??=).
#   - PSScriptAnalyzer's UseCompatibleSyntax rule (PowerShell/PSScriptAnalyzer#1426) checks the same syntax.
# Classes and enums (5.0) are fine in 5.1; 5.1 resolves a class's member types when it parses the script, so a type
# from an assembly loaded later fails there: load it first (Add-Type in a script the class is not in), or use [object].
# Windows PowerShell 5.1 runs on .NET Framework 4.x: the .NET members listed below are .NET Core or .NET 5+ only.
Set-StrictMode -Version 3.0

$script:Language = 'System.Management.Automation.Language'

# Commands that are not in Windows PowerShell 5.1 at all.
$script:Ps7OnlyCommands = @{
    'Get-Error' = '7.0'
    'Join-String' = '6.2'
    'Test-Json' = '6.1'
    'ConvertFrom-Markdown' = '6.1'
    'Show-Markdown' = '6.1'
    'Get-MarkdownOption' = '6.1'
    'Set-MarkdownOption' = '6.1'
    'Get-Uptime' = '6.0'
    'Remove-Service' = '6.0'
    'Remove-Alias' = '6.0'
    'Get-ExperimentalFeature' = '6.2'
    'Enable-ExperimentalFeature' = '6.2'
    'Disable-ExperimentalFeature' = '6.2'
    'Get-PSSubsystem' = '7.1'
    'Get-SecureRandom' = '7.4'
    'ConvertTo-CliXml' = '7.5'
    'ConvertFrom-CliXml' = '7.5'
}

# Parameters that commands of 5.1 lack (name = version that added it). A parameter given by an unambiguous prefix
# (-AsHash) counts too.
$script:Ps7OnlyParameters = @{
    'ConvertFrom-Json' = @{ AsHashtable = '6.0'; Depth = '6.2'; NoEnumerate = '7.0'; DateKind = '7.5' }
    'ConvertTo-Json' = @{ EnumsAsStrings = '6.2'; AsArray = '6.2'; EscapeHandling = '6.2' }
    'ForEach-Object' = @{ Parallel = '7.0'; ThrottleLimit = '7.0'; TimeoutSeconds = '7.0'; AsJob = '7.0'; UseNewRunspace = '7.1' }
    'Join-Path' = @{ AdditionalChildPath = '6.0' }
    'Select-String' = @{ Raw = '7.0'; NoEmphasis = '7.0'; Culture = '7.0' }
    'Get-Content' = @{ AsByteStream = '6.0' }
    'Set-Content' = @{ AsByteStream = '6.0' }
    'Add-Content' = @{ AsByteStream = '6.0' }
    'Split-Path' = @{ LeafBase = '6.0'; Extension = '6.0' }
    'Where-Object' = @{ Not = '6.1' }
    'Sort-Object' = @{ Top = '6.1'; Bottom = '6.1' }
    'Get-Random' = @{ Shuffle = '7.1' }
    'Select-Object' = @{ SkipIndex = '6.0' }
    'Get-Date' = @{ AsUTC = '7.1' }
    'ConvertTo-Csv' = @{ UseQuotes = '7.0'; QuoteFields = '7.0' }
    'Export-Csv' = @{ UseQuotes = '7.0'; QuoteFields = '7.0' }
    'Test-Connection' = @{ TargetName = '6.0'; TcpPort = '6.0'; Traceroute = '6.0'; MtuSize = '6.0'; Repeat = '6.0' }
    'Get-Command' = @{ UseFuzzyMatching = '6.2'; UseAbbreviationExpansion = '6.2' }
    'Invoke-WebRequest' = @{ SkipCertificateCheck = '6.0'; Authentication = '6.0'; Token = '6.0'; SslProtocol = '6.0'; SkipHeaderValidation = '6.0'; Form = '6.1'; Resume = '6.1'; SkipHttpErrorCheck = '7.0'; NoProxy = '6.0'; MaximumRetryCount = '6.1'; RetryIntervalSec = '6.1'; CustomMethod = '6.0'; AllowUnencryptedAuthentication = '6.0'; HttpVersion = '7.2' }
    'Invoke-RestMethod' = @{ SkipCertificateCheck = '6.0'; Authentication = '6.0'; Token = '6.0'; SslProtocol = '6.0'; SkipHeaderValidation = '6.0'; Form = '6.1'; Resume = '6.1'; SkipHttpErrorCheck = '7.0'; NoProxy = '6.0'; MaximumRetryCount = '6.1'; RetryIntervalSec = '6.1'; CustomMethod = '6.0'; AllowUnencryptedAuthentication = '6.0'; HttpVersion = '7.2'; StatusCodeVariable = '7.0'; ResponseHeadersVariable = '6.0'; FollowRelLink = '6.0' }
}

# The aliases of those commands that 5.1 also has, so that "% -Parallel" is caught like "ForEach-Object -Parallel".
$script:CommandAliases = @{
    '%' = 'ForEach-Object'; 'foreach' = 'ForEach-Object'; '?' = 'Where-Object'; 'where' = 'Where-Object'
    'gc' = 'Get-Content'; 'cat' = 'Get-Content'; 'type' = 'Get-Content'; 'sc' = 'Set-Content'; 'ac' = 'Add-Content'
    'sls' = 'Select-String'; 'select' = 'Select-Object'; 'sort' = 'Sort-Object'; 'iwr' = 'Invoke-WebRequest'
    'irm' = 'Invoke-RestMethod'; 'gcm' = 'Get-Command'
}

# The -Encoding values 5.1 knows (FileSystemCmdletProviderEncoding and Out-File's set). utf8BOM and utf8NoBOM (6.0),
# ansi (7.4), latin1 and code page numbers (7.1) are 7-only. Note that "utf8" itself means UTF-8 with a BOM in 5.1
# and without one in 7.
$script:Ps51Encodings = @('Unknown', 'String', 'Unicode', 'BigEndianUnicode', 'BigEndianUTF32', 'UTF8', 'UTF7', 'UTF32', 'ASCII', 'Default', 'OEM', 'Byte')

# Automatic and preference variables that do not exist in 5.1: there they read as $null, so "if ($IsWindows)" is
# false on Windows and setting $PSNativeCommandUseErrorActionPreference changes nothing.
$script:Ps7OnlyVariables = @{
    'PSStyle' = '7.2'; 'IsWindows' = '6.0'; 'IsLinux' = '6.0'; 'IsMacOS' = '6.0'; 'IsCoreCLR' = '6.0'
    'PSNativeCommandUseErrorActionPreference' = '7.3'; 'PSNativeCommandArgumentPassing' = '7.3'; 'EnabledExperimentalFeatures' = '6.2'
}

# Static .NET members that .NET Framework 4.x lacks (type without "System." = member names).
$script:DotNetCoreOnlyStatics = @{
    'IO.Path' = @('GetRelativePath', 'Join', 'TrimEndingDirectorySeparator', 'EndsInDirectorySeparator')
    'IO.File' = @('ReadAllTextAsync', 'WriteAllTextAsync', 'ReadAllLinesAsync', 'ReadAllBytesAsync', 'WriteAllBytesAsync', 'AppendAllTextAsync')
    'Convert' = @('ToHexString', 'FromHexString')
    'OperatingSystem' = @('IsWindows', 'IsLinux', 'IsMacOS')
    'Text.Encoding' = @('Latin1')
    'Environment' = @('ProcessPath', 'ProcessId')
    'Security.Cryptography.SHA256' = @('HashData')
    'Security.Cryptography.SHA1' = @('HashData')
    'Security.Cryptography.SHA384' = @('HashData')
    'Security.Cryptography.SHA512' = @('HashData')
    'Security.Cryptography.MD5' = @('HashData')
    'Math' = @('Clamp')
    'Random' = @('Shared')
}
# Instance members of .NET Core only that a host script may reach for: ProcessStartInfo.ArgumentList (.NET Core 2.1)
# would spare the quoting of ConvertTo-ArgumentText, but 5.1 has no such property; likewise StandardInputEncoding.
$script:DotNetCoreOnlyMembers = @('ArgumentList', 'StandardInputEncoding')

function Get-ScriptContext {
    # The bytes, text, tokens, AST and parse errors of a script file, or of in-memory text (as UTF-8 bytes unless
    # Bytes are given), for the rules.
    param(
        [Parameter(Mandatory, ParameterSetName = 'File')] [string] $Path,
        [Parameter(Mandatory, ParameterSetName = 'Text')] [AllowEmptyString()] [string] $Text,
        [Parameter(ParameterSetName = 'Text')] [byte[]] $Bytes,
        [Parameter(ParameterSetName = 'Text')] [string] $Name = 'sample'
    )
    $tokens = $null
    $errors = $null
    if ($PSCmdlet.ParameterSetName -eq 'File') {
        $Name = Split-Path -Leaf $Path
        $Bytes = [System.IO.File]::ReadAllBytes($Path)
        $ast = [System.Management.Automation.Language.Parser]::ParseFile($Path, [ref] $tokens, [ref] $errors)
    }
    else {
        if ($null -eq $Bytes) { $Bytes = [System.Text.UTF8Encoding]::new($false).GetBytes($Text) }
        $ast = [System.Management.Automation.Language.Parser]::ParseInput($Text, [ref] $tokens, [ref] $errors)
    }
    return [pscustomobject]@{ Name = $Name; Bytes = $Bytes; Ast = $ast; Tokens = $tokens; ParseErrors = $errors }
}

function Find-Ast {
    param($Context, [scriptblock] $Predicate)
    return @($Context.Ast.FindAll($Predicate, $true))
}

function Get-CanonicalCommandName {
    param([System.Management.Automation.Language.CommandAst] $Command)
    $name = $Command.GetCommandName()
    if ($null -eq $name) { return $null }
    $name = $name -replace '^[A-Za-z0-9.]+\\', ''
    if ($script:CommandAliases.ContainsKey($name)) { return $script:CommandAliases[$name] }
    foreach ($known in @($script:Ps7OnlyCommands.Keys) + @($script:Ps7OnlyParameters.Keys)) {
        if ($known -eq $name) { return $known }
    }
    return $name
}

function Get-ByteLine {
    param([byte[]] $Bytes, [int] $Offset)
    $line = 1
    for ($i = 0; $i -lt $Offset; $i++) { if ($Bytes[$i] -eq 10) { $line++ } }
    return $line
}

function New-Hit {
    # One finding: the line and what the rule saw there.
    param([int] $Line, [string] $Text)
    $first = ($Text -split "`r?`n")[0]
    if ($first.Length -gt 80) { $first = $first.Substring(0, 80) + '...' }
    return [pscustomobject]@{ Line = $Line; Text = $first }
}

function New-AstHit {
    param($Ast)
    return New-Hit -Line $Ast.Extent.StartLineNumber -Text $Ast.Extent.Text
}

$script:WindowsPowerShell51Rules = @(
    [pscustomobject]@{
        Id = 'parse-error'
        Why = 'the script must parse; a parse error stops it before its first line'
        Sample = 'if ($x { }'
        Check = { param($c) foreach ($e in @($c.ParseErrors)) { New-Hit -Line $e.Extent.StartLineNumber -Text $e.Message } }
    }
    [pscustomobject]@{
        Id = 'ternary-operator'
        Why = 'a ? b : c is PowerShell 7.0 syntax; 5.1 fails to parse the script'
        Sample = '$a = $b ? 1 : 2'
        Check = { param($c) Find-Ast $c { param($n) $n -is [System.Management.Automation.Language.TernaryExpressionAst] } | ForEach-Object { New-AstHit $_ } }
    }
    [pscustomobject]@{
        Id = 'null-coalescing'
        Why = '?? is PowerShell 7.0 syntax; 5.1 fails to parse the script'
        Sample = '$a = $b ?? 1'
        Check = { param($c) Find-Ast $c { param($n) $n -is [System.Management.Automation.Language.BinaryExpressionAst] -and $n.Operator -eq [System.Management.Automation.Language.TokenKind]::QuestionQuestion } | ForEach-Object { New-AstHit $_ } }
    }
    [pscustomobject]@{
        Id = 'null-coalescing-assignment'
        Why = '??= is PowerShell 7.0 syntax; 5.1 fails to parse the script'
        Sample = '$a ??= 1'
        Check = { param($c) Find-Ast $c { param($n) $n -is [System.Management.Automation.Language.AssignmentStatementAst] -and $n.Operator -eq [System.Management.Automation.Language.TokenKind]::QuestionQuestionEquals } | ForEach-Object { New-AstHit $_ } }
    }
    [pscustomobject]@{
        Id = 'null-conditional-member'
        Why = '${x}?.Member and ${x}?.Method() are PowerShell 7.0 syntax; 5.1 reads them as a variable named "x?"'
        Sample = @('${a}?.Name', '${a}?.GetType()')
        Check = { param($c) Find-Ast $c { param($n) $n -is [System.Management.Automation.Language.MemberExpressionAst] -and $n.NullConditional } | ForEach-Object { New-AstHit $_ } }
    }
    [pscustomobject]@{
        Id = 'null-conditional-index'
        Why = '${x}?[i] is PowerShell 7.0 syntax'
        Sample = '${a}?[0]'
        Check = { param($c) Find-Ast $c { param($n) $n -is [System.Management.Automation.Language.IndexExpressionAst] -and $n.NullConditional } | ForEach-Object { New-AstHit $_ } }
    }
    [pscustomobject]@{
        Id = 'pipeline-chain'
        Why = '&& and || between pipelines are PowerShell 7.0 syntax; 5.1 fails to parse the script'
        Sample = @('Get-Item a && Get-Item b', 'Get-Item a || Get-Item b')
        Check = { param($c) Find-Ast $c { param($n) $n -is [System.Management.Automation.Language.PipelineChainAst] } | ForEach-Object { New-AstHit $_ } }
    }
    [pscustomobject]@{
        Id = 'background-operator'
        Why = 'a trailing & (run as a job) is PowerShell 6.0 syntax; 5.1 fails to parse the script'
        Sample = 'Start-Sleep 1 &'
        Check = {
            param($c)
            Find-Ast $c { param($n) ($n -is [System.Management.Automation.Language.PipelineBaseAst]) -and $n.PSObject.Properties['Background'] -and $n.Background } | ForEach-Object { New-AstHit $_ }
        }
    }
    [pscustomobject]@{
        Id = 'clean-block'
        Why = 'the clean {} block is PowerShell 7.3 syntax; 5.1 fails to parse the script'
        Sample = 'function f { process { } clean { } }'
        Check = { param($c) Find-Ast $c { param($n) $n -is [System.Management.Automation.Language.ScriptBlockAst] -and $null -ne $n.CleanBlock } | ForEach-Object { New-AstHit $_.CleanBlock } }
    }
    [pscustomobject]@{
        Id = 'generic-method-call'
        Why = 'explicit generic arguments on a method call ([Array]::Empty[int]()) are PowerShell 7.3 syntax'
        Sample = '[Array]::Empty[int]()'
        Check = {
            param($c)
            Find-Ast $c { param($n) $n -is [System.Management.Automation.Language.InvokeMemberExpressionAst] -and $n.PSObject.Properties['GenericTypeArguments'] -and $null -ne $n.GenericTypeArguments -and $n.GenericTypeArguments.Count -gt 0 } | ForEach-Object { New-AstHit $_ }
        }
    }
    [pscustomobject]@{
        Id = 'enum-underlying-type'
        Why = 'an enum with an underlying type (enum E : byte) is PowerShell 6.2 syntax; plain enums and classes are fine'
        Sample = 'enum Color : byte { Red }'
        Check = { param($c) Find-Ast $c { param($n) $n -is [System.Management.Automation.Language.TypeDefinitionAst] -and $n.IsEnum -and $n.BaseTypes.Count -gt 0 } | ForEach-Object { New-AstHit $_ } }
    }
    [pscustomobject]@{
        Id = 'escape-sequence'
        Why = '`e and `u{...} in double-quoted strings are PowerShell 6.0; 5.1 reads them as the letters e and u{...}'
        Sample = @('$a = "`e[0m"', '$a = "`u{2713}"', '$b = @"
x`u{2713}
"@')
        Check = {
            param($c)
            foreach ($token in @($c.Tokens)) {
                if ($token.Kind -ne [System.Management.Automation.Language.TokenKind]::StringExpandable -and $token.Kind -ne [System.Management.Automation.Language.TokenKind]::HereStringExpandable) { continue }
                if ($token.Text -cmatch '(?<!`)(?:``)*`(?:e|u\{)') { New-Hit -Line $token.Extent.StartLineNumber -Text $token.Text }
            }
        }
    }
    [pscustomobject]@{
        Id = 'numeric-literal'
        Why = 'the 0b prefix (7.0) and the u, s, y, us, uy, ul and n suffixes (6.2, 7.0) are not numbers in 5.1; it has l and d only'
        Sample = @('$a = 0b101', '$a = 10u', '$a = 5y', '$a = 1n', '$a = 0xFFul', '$a = 1uskb')
        Check = {
            param($c)
            foreach ($token in @($c.Tokens)) {
                if ($token.Kind -ne [System.Management.Automation.Language.TokenKind]::Number) { continue }
                $text = $token.Text -replace '^[-+]', '' -replace '(?i)(kb|mb|gb|tb|pb)$', ''
                $suffix = ''
                if ($text -match '^(?i)0b') { $suffix = '0b' }
                elseif ($text -match '^(?i)0x[0-9a-f]+(.*)$') { $suffix = $Matches[1] }
                elseif ($text -match '^(?i)[0-9.]+(?:e[-+]?[0-9]+)?(.*)$') { $suffix = $Matches[1] }
                if ($suffix -notin @('', 'l', 'd')) { New-Hit -Line $token.Extent.StartLineNumber -Text $token.Text }
            }
        }
    }
    [pscustomobject]@{
        Id = 'replace-scriptblock'
        Why = 'a script block as the -replace substitution is PowerShell 6.1; 5.1 replaces with the block''s text'
        Sample = '"abc" -replace "b", { $_.Value.ToUpper() }'
        Check = {
            param($c)
            Find-Ast $c {
                param($n)
                $n -is [System.Management.Automation.Language.BinaryExpressionAst] -and
                $n.Operator -in @([System.Management.Automation.Language.TokenKind]::Ireplace, [System.Management.Automation.Language.TokenKind]::Creplace) -and
                $n.Right -is [System.Management.Automation.Language.ArrayLiteralAst] -and
                @($n.Right.Elements | Where-Object { $_ -is [System.Management.Automation.Language.ScriptBlockExpressionAst] }).Count -gt 0
            } | ForEach-Object { New-AstHit $_ }
        }
    }
    [pscustomobject]@{
        Id = 'ps7-variable'
        Why = 'this automatic or preference variable does not exist in 5.1 (reads as $null there)'
        Sample = @('$PSStyle.Reset', 'if ($IsWindows) { }', '$global:PSNativeCommandUseErrorActionPreference = $true')
        Check = {
            param($c)
            Find-Ast $c {
                param($n)
                $n -is [System.Management.Automation.Language.VariableExpressionAst] -and
                $script:Ps7OnlyVariables.ContainsKey(($n.VariablePath.UserPath -replace '^(?i)(global|script|local|private):', ''))
            } | ForEach-Object { New-AstHit $_ }
        }
    }
    [pscustomobject]@{
        Id = 'ps7-command'
        Why = 'this command does not exist in 5.1'
        Sample = @('Get-Error', '$x | Join-String', 'Test-Json -Json "{}"', 'Microsoft.PowerShell.Utility\Join-String')
        Check = {
            param($c)
            Find-Ast $c { param($n) $n -is [System.Management.Automation.Language.CommandAst] -and $script:Ps7OnlyCommands.ContainsKey([string] (Get-CanonicalCommandName $n)) } | ForEach-Object { New-AstHit $_ }
        }
    }
    [pscustomobject]@{
        Id = 'ps7-parameter'
        Why = 'the command exists in 5.1 without this parameter'
        Sample = @('$j | ConvertFrom-Json -AsHashtable', '$j | ConvertFrom-Json -Depth 5', '$j | ConvertFrom-Json -AsHash', '$o | ConvertTo-Json -EnumsAsStrings', '$o | ConvertTo-Json -AsArray', '1..2 | ForEach-Object -Parallel { $_ }', '1..2 | % -Parallel { $_ }', 'Select-String -Raw x', 'Get-Content -AsByteStream f', 'Join-Path a b -AdditionalChildPath c')
        Check = {
            param($c)
            foreach ($command in (Find-Ast $c { param($n) $n -is [System.Management.Automation.Language.CommandAst] })) {
                $name = Get-CanonicalCommandName $command
                if ($null -eq $name -or -not $script:Ps7OnlyParameters.ContainsKey($name)) { continue }
                $added = $script:Ps7OnlyParameters[$name]
                foreach ($parameter in @($command.CommandElements | Where-Object { $_ -is [System.Management.Automation.Language.CommandParameterAst] })) {
                    $used = $parameter.ParameterName
                    $match = @($added.Keys | Where-Object { $_ -eq $used -or ($used.Length -ge 2 -and $_.StartsWith($used, [System.StringComparison]::OrdinalIgnoreCase)) })
                    if ($match.Count -gt 0) { New-Hit -Line $parameter.Extent.StartLineNumber -Text ('{0} -{1} ({2})' -f $name, $match[0], $added[$match[0]]) }
                }
            }
        }
    }
    [pscustomobject]@{
        Id = 'join-path-child-paths'
        Why = 'Join-Path takes one parent and one child in 5.1; more child paths (-AdditionalChildPath, positional) are 6.0'
        Sample = @('Join-Path a b c', 'Join-Path -Path a -ChildPath b c', 'Join-Path a -ChildPath:b c')
        Check = {
            param($c)
            foreach ($command in (Find-Ast $c { param($n) $n -is [System.Management.Automation.Language.CommandAst] -and (Get-CanonicalCommandName $n) -eq 'Join-Path' })) {
                $paths = 0
                $elements = @($command.CommandElements)
                for ($i = 1; $i -lt $elements.Count; $i++) {
                    $element = $elements[$i]
                    if ($element -is [System.Management.Automation.Language.CommandParameterAst]) {
                        $takesValue = $element.ParameterName -match '^(?i)(Path|ChildPath|Credential|AdditionalChildPath|ErrorAction|WarningAction|InformationAction|ErrorVariable|WarningVariable|InformationVariable|OutVariable|OutBuffer|PipelineVariable)$'
                        if ($element.ParameterName -match '^(?i)(Path|ChildPath)$') { $paths++ }
                        if ($takesValue -and $null -eq $element.Argument) { $i++ }
                        continue
                    }
                    $paths++
                }
                if ($paths -gt 2) { New-AstHit $command }
            }
        }
    }
    [pscustomobject]@{
        Id = 'encoding-value'
        Why = 'this -Encoding value is not one 5.1 knows (utf8BOM and utf8NoBOM are 6.0, ansi 7.4, code pages 7.1)'
        Sample = @('Set-Content -Path f -Value x -Encoding utf8NoBOM', 'Out-File f -Encoding:utf8BOM', 'Get-Content f -Encoding 65001', 'Add-Content f x -Encoding ansi')
        Check = {
            param($c)
            foreach ($command in (Find-Ast $c { param($n) $n -is [System.Management.Automation.Language.CommandAst] })) {
                $elements = @($command.CommandElements)
                for ($i = 1; $i -lt $elements.Count; $i++) {
                    $element = $elements[$i]
                    if ($element -isnot [System.Management.Automation.Language.CommandParameterAst] -or $element.ParameterName -notmatch '^(?i)Encoding$') { continue }
                    $value = if ($null -ne $element.Argument) { $element.Argument } elseif ($i + 1 -lt $elements.Count) { $elements[$i + 1] } else { $null }
                    if ($value -is [System.Management.Automation.Language.ConstantExpressionAst] -and [string] $value.Value -notin $script:Ps51Encodings) {
                        New-Hit -Line $element.Extent.StartLineNumber -Text ('-Encoding {0}' -f $value.Value)
                    }
                }
            }
        }
    }
    [pscustomobject]@{
        Id = 'dotnet-core-api'
        Why = 'this .NET member is .NET Core or .NET 5+ only; Windows PowerShell 5.1 runs on .NET Framework 4.x'
        Sample = @('[System.IO.Path]::GetRelativePath("a", "b")', '[IO.Path]::Join("a", "b")', '[Convert]::ToHexString($b)', '[System.Security.Cryptography.SHA256]::HashData($b)', '$start.ArgumentList.Add("x")')
        Check = {
            param($c)
            foreach ($member in (Find-Ast $c { param($n) $n -is [System.Management.Automation.Language.MemberExpressionAst] -and $n.Member -is [System.Management.Automation.Language.StringConstantExpressionAst] })) {
                $name = $member.Member.Value
                if ($member.Static -and $member.Expression -is [System.Management.Automation.Language.TypeExpressionAst]) {
                    $type = $member.Expression.TypeName.FullName -replace '^(?i)System\.', ''
                    $known = @($script:DotNetCoreOnlyStatics.Keys | Where-Object { $_ -eq $type })
                    if ($known.Count -gt 0 -and $script:DotNetCoreOnlyStatics[$known[0]] -contains $name) { New-AstHit $member }
                }
                elseif (-not $member.Static -and $script:DotNetCoreOnlyMembers -contains $name) {
                    New-AstHit $member
                }
            }
        }
    }
    [pscustomobject]@{
        Id = 'non-ascii'
        Why = 'host scripts are ASCII only: Run Command sends their text, and 5.1 decodes a file by its BOM or the ANSI code page'
        Sample = "'caf" + [char] 0x00E9 + "'"
        Check = {
            param($c)
            $bytes = $c.Bytes
            $lastLine = 0
            for ($i = 0; $i -lt $bytes.Length; $i++) {
                if ($bytes[$i] -lt 0x80) { continue }
                $line = Get-ByteLine -Bytes $bytes -Offset $i
                if ($line -ne $lastLine) { New-Hit -Line $line -Text ('byte 0x{0:X2} at offset {1}' -f $bytes[$i], $i) }
                $lastLine = $line
            }
        }
    }
    [pscustomobject]@{
        Id = 'bom-less-non-ascii'
        Why = 'a file without a BOM is read by 5.1 in the ANSI code page, so its non-ASCII text changes meaning'
        Sample = "Write-Output 'na" + [char] 0x00EF + "ve'"
        Check = {
            param($c)
            $bytes = $c.Bytes
            $bom = ($bytes.Length -ge 3 -and $bytes[0] -eq 0xEF -and $bytes[1] -eq 0xBB -and $bytes[2] -eq 0xBF) -or
                ($bytes.Length -ge 2 -and (($bytes[0] -eq 0xFF -and $bytes[1] -eq 0xFE) -or ($bytes[0] -eq 0xFE -and $bytes[1] -eq 0xFF)))
            if (-not $bom) {
                for ($i = 0; $i -lt $bytes.Length; $i++) {
                    if ($bytes[$i] -ge 0x80) { New-Hit -Line (Get-ByteLine -Bytes $bytes -Offset $i) -Text 'non-ASCII byte in a file without a BOM'; break }
                }
            }
        }
    }
)

function Get-WindowsPowerShell51Rule {
    param([string] $Id)
    if (-not $Id) { return $script:WindowsPowerShell51Rules }
    $rule = @($script:WindowsPowerShell51Rules | Where-Object { $_.Id -eq $Id })
    if ($rule.Count -ne 1) { throw "No rule $Id" }
    return $rule[0]
}

function Find-WindowsPowerShell51Violation {
    # Every finding of the rules (or of one rule) in a script context, as "file:line [rule] what: why".
    param([Parameter(Mandatory)] $Context, [string] $RuleId)
    foreach ($rule in @(Get-WindowsPowerShell51Rule -Id $RuleId)) {
        foreach ($hit in @(& $rule.Check $Context)) {
            if ($null -eq $hit) { continue }
            '{0}:{1} [{2}] {3}: {4}' -f $Context.Name, $hit.Line, $rule.Id, $hit.Text, $rule.Why
        }
    }
}
