# sdn-attach-script: install-private-cloud-plugin v1
#
# Step 3 of "connect container endpoints to a tenant virtual network", run as LocalSystem inside the container host
# VM through Azure Arc Run Command. It makes the plugin registration of Microsoft/SDN
# Containers/InstallPrivateCloudPlugin.ps1, made safe to repeat and self-checking:
#   - no ownership change: the original sets the key owner to "$env:userdomain\$env:username", which under
#     LocalSystem is the machine account and can fail; LocalSystem can already write the hns keys, and a key it
#     cannot write is reported as RegistryAccessDenied instead;
#   - the plugin key is opened, never recreated: the original's New-Item -Force deletes the key and so wipes agent
#     settings (AgentIPAddress, AgentPort, AgentPath, AgentFormat) already there; they are kept unless new ones are
#     given, and then all four must be given;
#   - every value is written with an explicit type, and only when it differs;
#   - hns is restarted only when something changed (a restart disturbs the VM's container networks);
#   - the values and the hns state are read back before success is reported.
# Its last output line is one result line: SDNATTACH-RESULT {json}.
[CmdletBinding()]
param(
    [ValidatePattern('^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$(?!\n)', Options = 'None')]
    [string] $AgentIPAddress,

    [ValidatePattern('^[0-9]{1,5}$(?!\n)', Options = 'None')]
    [string] $AgentPort,

    [ValidatePattern('^/[A-Za-z0-9/_.~-]{0,255}$(?!\n)', Options = 'None')]
    [string] $AgentPath,

    [ValidatePattern('^(xml|json)$(?!\n)', Options = 'None')]
    [string] $AgentFormat
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$ScriptName = 'install-private-cloud-plugin'
$ScriptVersion = 1
$Sentinel = 'SDNATTACH-RESULT'
$ServiceName = 'hns'
$PluginKey = 'SYSTEM\CurrentControlSet\Services\hns\Parameters\Plugins\D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D'
$PluginDll = 'c:\windows\system32\PrivateCloudHNSPlugin.dll'

$script:Changed = $false
$script:ValuesSet = 0

# The registration of InstallPrivateCloudPlugin.ps1; keys are under HKLM, Name '' is the key's (default) value.
$DesiredValues = @(
    @{ Key = 'SYSTEM\CurrentControlSet\Services\hns\Parameters\Plugins\D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D'; Name = 'Priority'; Kind = 'DWord'; Data = 1000 },
    @{ Key = 'SYSTEM\CurrentControlSet\Services\hns\Parameters\Plugins\D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D'; Name = 'NetworkRequests'; Kind = 'DWord'; Data = 31 },
    @{ Key = 'SYSTEM\CurrentControlSet\Services\hns\Parameters\Plugins\D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D'; Name = 'EndpointRequests'; Kind = 'DWord'; Data = 31 },
    @{ Key = 'SYSTEM\CurrentControlSet\Services\hns\Parameters\Plugins\D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D'; Name = 'ServiceRequests'; Kind = 'DWord'; Data = 7 },
    @{ Key = 'Software\Classes\CLSID\{D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D}'; Name = ''; Kind = 'String'; Data = 'Private Cloud HNS Plugin' },
    @{ Key = 'Software\Classes\CLSID\{D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D}\InprocServer32'; Name = ''; Kind = 'String'; Data = 'c:\windows\system32\PrivateCloudHNSPlugin.dll' },
    @{ Key = 'Software\Classes\CLSID\{D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D}\InprocServer32'; Name = 'ThreadingModel'; Kind = 'String'; Data = 'Both' }
)

function Write-ResultLine {
    param([System.Collections.IDictionary] $Fields)
    $result = [ordered]@{ script = $ScriptName; version = $ScriptVersion }
    foreach ($key in $Fields.Keys) { $result[$key] = $Fields[$key] }
    Write-Output ($Sentinel + ' ' + (ConvertTo-Json -InputObject $result -Compress -Depth 6))
}

function New-StepFailure {
    param([string] $Code, [string] $Message, [bool] $Permanent)
    $exception = [System.InvalidOperationException]::new($Message)
    $exception.Data['SdnAttachCode'] = $Code
    $exception.Data['SdnAttachPermanent'] = $Permanent
    return $exception
}

function Get-LocalMachineBase {
    # The 64-bit view, whatever the bitness of the host process.
    return [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, [Microsoft.Win32.RegistryView]::Registry64)
}

function Test-RegistryValue {
    param([string] $Key, [string] $Name, [Microsoft.Win32.RegistryValueKind] $Kind, $Data)
    $handle = (Get-LocalMachineBase).OpenSubKey($Key)
    if ($null -eq $handle) { return $false }
    try {
        if (-not ($handle.GetValueNames() -contains $Name)) { return $false }
        if ($handle.GetValueKind($Name) -ne $Kind) { return $false }
        $current = $handle.GetValue($Name, $null, [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames)
        return ((@($current) -join "`n") -ceq (@($Data) -join "`n"))
    }
    finally {
        $handle.Close()
    }
}

function Test-RegistryValueName {
    param([string] $Key, [string] $Name)
    $handle = (Get-LocalMachineBase).OpenSubKey($Key)
    if ($null -eq $handle) { return $false }
    try { return ($handle.GetValueNames() -contains $Name) } finally { $handle.Close() }
}

function Set-RegistryValue {
    param([string] $Key, [string] $Name, [Microsoft.Win32.RegistryValueKind] $Kind, $Data)
    if (Test-RegistryValue -Key $Key -Name $Name -Kind $Kind -Data $Data) { return }
    # CreateSubKey opens an existing key as it is; New-Item -Force would delete and recreate it.
    $handle = (Get-LocalMachineBase).CreateSubKey($Key)
    try {
        if ($Kind -eq [Microsoft.Win32.RegistryValueKind]::MultiString) { $handle.SetValue($Name, [string[]] $Data, $Kind) }
        elseif ($Kind -eq [Microsoft.Win32.RegistryValueKind]::DWord) { $handle.SetValue($Name, [int] $Data, $Kind) }
        else { $handle.SetValue($Name, [string] $Data, $Kind) }
    }
    finally {
        $handle.Close()
    }
    $script:Changed = $true
    $script:ValuesSet++
    $displayName = if ($Name) { $Name } else { '(default)' }
    Write-Output ('set HKLM\{0}\{1} ({2})' -f $Key, $displayName, $Kind)
}

function Test-AccessDenied {
    param([System.Exception] $Failure)
    for ($current = $Failure; $null -ne $current; $current = $current.InnerException) {
        if ($current -is [System.UnauthorizedAccessException] -or $current -is [System.Security.SecurityException]) { return $true }
    }
    return $false
}

try {
    $agentParameterCount = @($PSBoundParameters.Keys | Where-Object { $_ -like 'Agent*' }).Count
    if ($agentParameterCount -ne 0 -and $agentParameterCount -ne 4) {
        throw (New-StepFailure 'InvalidParameters' 'AgentIPAddress, AgentPort, AgentPath and AgentFormat must be given together or not at all.' $true)
    }
    if ($agentParameterCount -eq 4 -and ([int] $AgentPort -lt 1 -or [int] $AgentPort -gt 65535)) {
        throw (New-StepFailure 'InvalidParameters' 'AgentPort must be between 1 and 65535.' $true)
    }
    if ($null -eq (Get-Service -Name $ServiceName -ErrorAction SilentlyContinue)) {
        throw (New-StepFailure 'HnsNotFound' 'The hns service (Host Network Service) is not installed: this machine cannot run Windows containers.' $true)
    }

    $values = @($DesiredValues)
    if ($agentParameterCount -eq 4) {
        $values += @(
            @{ Key = $PluginKey; Name = 'AgentIPAddress'; Kind = 'String'; Data = $AgentIPAddress },
            @{ Key = $PluginKey; Name = 'AgentFormat'; Kind = 'String'; Data = $AgentFormat },
            @{ Key = $PluginKey; Name = 'AgentPort'; Kind = 'DWord'; Data = [int] $AgentPort },
            @{ Key = $PluginKey; Name = 'AgentPath'; Kind = 'String'; Data = $AgentPath }
        )
    }
    foreach ($value in $values) {
        Set-RegistryValue -Key $value.Key -Name $value.Name -Kind $value.Kind -Data $value.Data
    }

    $serviceAction = 'none'
    if ($script:Changed) {
        Restart-Service -Name $ServiceName -Force
        $serviceAction = 'restarted'
        Write-Output ('restarted service {0}' -f $ServiceName)
    }
    elseif ((Get-Service -Name $ServiceName).Status -ne 'Running') {
        Start-Service -Name $ServiceName
        $script:Changed = $true
        $serviceAction = 'started'
        Write-Output ('started service {0}' -f $ServiceName)
    }

    $service = Get-Service -Name $ServiceName
    try { $service.WaitForStatus('Running', [TimeSpan]::FromSeconds(60)) } catch { }
    $service.Refresh()
    if ($service.Status -ne 'Running') {
        throw (New-StepFailure 'ServiceNotRunning' ('The hns service is {0} after the change; it must be Running.' -f $service.Status) $false)
    }
    foreach ($value in $values) {
        if (-not (Test-RegistryValue -Key $value.Key -Name $value.Name -Kind $value.Kind -Data $value.Data)) {
            throw (New-StepFailure 'VerificationFailed' ('HKLM\{0}\{1} does not hold the expected {2} value after writing it.' -f $value.Key, $value.Name, $value.Kind) $false)
        }
    }
    $agentSettings = if ($agentParameterCount -eq 4) { 'written' } elseif (Test-RegistryValueName -Key $PluginKey -Name 'AgentIPAddress') { 'kept' } else { 'none' }

    Write-ResultLine ([ordered]@{ ok = $true; changed = $script:Changed; registryValuesSet = $script:ValuesSet; serviceAction = $serviceAction; serviceStatus = 'Running'; agentSettings = $agentSettings; pluginDllPresent = (Test-Path -LiteralPath $PluginDll) })
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
    elseif (Test-AccessDenied -Failure $failure) {
        $code = 'RegistryAccessDenied'
        $permanent = $true
    }
    [Console]::Error.WriteLine(('{0}: {1}' -f $code, $failure.Message))
    Write-ResultLine ([ordered]@{ ok = $false; changed = $script:Changed; error = [ordered]@{ code = $code; message = $failure.Message; permanent = $permanent } })
    exit 1
}
