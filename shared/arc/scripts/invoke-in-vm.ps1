# sdn-attach-script: invoke-in-vm v1
#
# Runs one of the product's own scripts inside a tenant VM that has no Arc agent, from the Hyper-V host that runs it,
# through Azure Arc Run Command on the host and PowerShell Direct (Invoke-Command -VMName) into the guest. Host and
# guest must be Windows Server 2016 or later, and the VM must run on this host.
#   - InnerScript is the inner script's text, gzip-compressed, in base64; InnerParameters its named parameters as a
#     JSON object of strings, in base64 (the inner script checks them with its own [ValidatePattern]);
#   - GuestUserName and GuestPassword (base64 of the UTF-8 password, sent as a protected parameter) are the guest
#     account PowerShell Direct signs in with; the password is never printed;
#   - the inner script's own output, its result line last and unchanged, is this script's output: the app reads it as
#     if the inner script had run in the VM, and this script exits 0 exactly when that line says ok;
#   - the path itself fails with its own codes: VmNotOnHost and VmNameAmbiguous (permanent), VmNotRunning
#     (retryable), GuestCredentialRejected (permanent), PowerShellDirectUnavailable (permanent without the Hyper-V
#     module on the host, retryable otherwise: the guest may still be starting), GuestResultMissing (retryable).
# Its last output line is one result line: SDNATTACH-RESULT {json}.
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [ValidatePattern('^[A-Za-z0-9+/=]{4,262144}$(?!\n)', Options = 'None')]
    [string] $InnerScript,
    [Parameter(Mandatory = $true)]
    [ValidatePattern('^[A-Za-z0-9+/=]{4,16384}$(?!\n)', Options = 'None')]
    [string] $InnerParameters,
    [Parameter(Mandatory = $true)]
    [ValidatePattern('^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$(?!\n)', Options = 'None')]
    [string] $VmName,
    [Parameter(Mandatory = $true)]
    [ValidatePattern('^[A-Za-z0-9._\\@-]{1,104}$(?!\n)', Options = 'None')]
    [string] $GuestUserName,
    [Parameter(Mandatory = $true)]
    [ValidatePattern('^[A-Za-z0-9+/=]{4,1368}$(?!\n)', Options = 'None')]
    [string] $GuestPassword
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$ScriptName = 'invoke-in-vm'
$ScriptVersion = 1
$Sentinel = 'SDNATTACH-RESULT'

$script:Changed = $false

function Write-ResultLine {
    param([System.Collections.IDictionary] $Fields)
    $result = [ordered]@{ script = $ScriptName; version = $ScriptVersion }
    foreach ($key in $Fields.Keys) { $result[$key] = $Fields[$key] }
    Write-Output ($Sentinel + ' ' + (ConvertTo-Json -InputObject $result -Compress -Depth 6))
}

function New-StepFailure {
    param([string] $Code, [string] $Message, [bool] $Permanent, [System.Collections.IDictionary] $Details)
    $exception = [System.InvalidOperationException]::new($Message)
    $exception.Data['SdnAttachCode'] = $Code
    $exception.Data['SdnAttachPermanent'] = $Permanent
    if ($null -ne $Details) { $exception.Data['SdnAttachDetails'] = $Details }
    return $exception
}

function ConvertFrom-Base64Text {
    param([string] $Value)
    return [System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String($Value))
}

function Expand-ScriptText {
    param([string] $Value)
    $compressed = [System.IO.MemoryStream]::new([System.Convert]::FromBase64String($Value))
    $gzip = [System.IO.Compression.GZipStream]::new($compressed, [System.IO.Compression.CompressionMode]::Decompress)
    $reader = [System.IO.StreamReader]::new($gzip, [System.Text.Encoding]::UTF8)
    try { return $reader.ReadToEnd() } finally { $reader.Dispose() }
}

function Get-HostedVm {
    # Hyper-V's own cmdlet; a host without the Hyper-V PowerShell module cannot run PowerShell Direct.
    param([string] $Name)
    return @(Get-VM -Name $Name -ErrorAction SilentlyContinue)
}

function Test-HyperVModule {
    return ($null -ne (Get-Command -Name 'Get-VM' -ErrorAction SilentlyContinue))
}

function New-GuestCredential {
    param([string] $UserName, [string] $Password)
    $secure = ConvertTo-SecureString -String $Password -AsPlainText -Force
    return New-Object -TypeName System.Management.Automation.PSCredential -ArgumentList $UserName, $secure
}

function Invoke-GuestScript {
    # Runs in the guest: the inner script's text runs there in a PowerShell instance of its own, with its named
    # parameters, so that its 'exit' ends only itself; a parameter it refuses becomes one output line.
    param([string] $Text, [string] $ParametersJson)
    $arguments = @{}
    $parsed = ConvertFrom-Json -InputObject $ParametersJson
    if ($null -ne $parsed) {
        foreach ($property in $parsed.PSObject.Properties) { $arguments[$property.Name] = [string] $property.Value }
    }
    $instance = [powershell]::Create()
    try {
        $null = $instance.AddScript($Text).AddParameters($arguments)
        try { $instance.Invoke() | ForEach-Object { [string] $_ } }
        catch { Write-Output ('guest: {0}' -f $_.Exception.Message) }
    }
    finally { $instance.Dispose() }
}

function Invoke-InVm {
    param([string] $Name, [System.Management.Automation.PSCredential] $Credential, [string] $Text, [string] $ParametersJson)
    return @(Invoke-Command -VMName $Name -Credential $Credential -ScriptBlock ${function:Invoke-GuestScript} -ArgumentList $Text, $ParametersJson -ErrorAction Stop)
}

function Get-FailureText {
    param([System.Exception] $Failure)
    $parts = @()
    for ($current = $Failure; $null -ne $current; $current = $current.InnerException) { $parts += $current.Message }
    return ($parts -join ' | ')
}

function ConvertTo-PathFailure {
    # What PowerShell Direct's own errors mean for the step: a refused sign-in is permanent, a VM that stopped meanwhile
    # is retried, anything else says PowerShell Direct could not reach the guest.
    param([System.Exception] $Failure)
    $text = Get-FailureText -Failure $Failure
    if ($text -match 'credential is invalid|user name or password is incorrect|logon failure|account (is )?(disabled|locked)|0x8007052E|0x80070569') {
        return (New-StepFailure 'GuestCredentialRejected' ('The guest of VM {0} refused the credential for {1}; correct the Key Vault secret or the account in the VM.' -f $VmName, $GuestUserName) $true)
    }
    if ($text -match 'not in running state|is not running|is turned off') {
        return (New-StepFailure 'VmNotRunning' ('VM {0} stopped before PowerShell Direct could reach it.' -f $VmName) $false)
    }
    return (New-StepFailure 'PowerShellDirectUnavailable' ('PowerShell Direct could not reach the guest of VM {0} (host and guest need Windows Server 2016 or later, and the guest must have finished starting): {1}' -f $VmName, $text) $false)
}

try {
    $innerText = Expand-ScriptText -Value $InnerScript
    $parametersJson = ConvertFrom-Base64Text -Value $InnerParameters
    if (-not (Test-HyperVModule)) {
        throw (New-StepFailure 'PowerShellDirectUnavailable' 'The Hyper-V PowerShell module is not on this host, so PowerShell Direct cannot be used from it.' $true)
    }
    $vms = @(Get-HostedVm -Name $VmName)
    if ($vms.Count -eq 0) {
        throw (New-StepFailure 'VmNotOnHost' ('No VM named {0} runs on this Hyper-V host; PowerShell Direct reaches only the VMs of the host it runs on.' -f $VmName) $true)
    }
    if ($vms.Count -gt 1) {
        throw (New-StepFailure 'VmNameAmbiguous' ('{0} VMs on this host are named {1}; rename them so that the name is unique.' -f $vms.Count, $VmName) $true)
    }
    $state = [string] $vms[0].State
    if ($state -ne 'Running') {
        throw (New-StepFailure 'VmNotRunning' ('VM {0} is {1}; it must be Running for PowerShell Direct.' -f $VmName, $state) $false)
    }
    $credential = New-GuestCredential -UserName $GuestUserName -Password (ConvertFrom-Base64Text -Value $GuestPassword)
    try {
        $lines = @(Invoke-InVm -Name $VmName -Credential $credential -Text $innerText -ParametersJson $parametersJson | ForEach-Object { [string] $_ })
    }
    catch {
        throw (ConvertTo-PathFailure -Failure $_.Exception)
    }
    $last = -1
    for ($index = 0; $index -lt $lines.Count; $index++) { if ($lines[$index].StartsWith($Sentinel + ' ')) { $last = $index } }
    if ($last -lt 0) {
        $lastLine = @($lines | Select-Object -Last 1)
        throw (New-StepFailure 'GuestResultMissing' ('The script in VM {0} ended without its result line. {1}' -f $VmName, ($lastLine -join '')) $false)
    }
    $resultLine = $lines[$last]
    $ok = $false
    try { $ok = ((ConvertFrom-Json -InputObject $resultLine.Substring($Sentinel.Length + 1)).ok -eq $true) } catch { $ok = $false }
    # The guest's lines as they came, its result line moved last and left as it is.
    for ($index = 0; $index -lt $lines.Count; $index++) { if ($index -ne $last) { Write-Output $lines[$index] } }
    Write-Output $resultLine
    if (-not $ok) { exit 1 }
    exit 0
}
catch {
    $failure = $_.Exception
    $code = 'ScriptFailed'
    $permanent = $false
    if ($failure.Data.Contains('SdnAttachCode')) {
        $code = [string] $failure.Data['SdnAttachCode']
        $permanent = [bool] $failure.Data['SdnAttachPermanent']
    }
    [Console]::Error.WriteLine(('{0}: {1}' -f $code, $failure.Message))
    $fields = [ordered]@{ ok = $false; changed = $script:Changed; error = [ordered]@{ code = $code; message = $failure.Message; permanent = $permanent } }
    if ($failure.Data.Contains('SdnAttachDetails')) {
        $details = $failure.Data['SdnAttachDetails']
        foreach ($key in $details.Keys) { $fields[$key] = $details[$key] }
    }
    Write-ResultLine $fields
    exit 1
}
