# sdn-attach-script: enable-network-proxy v1
#
# Step 2 of "connect container endpoints to a tenant virtual network", run as LocalSystem on the Hyper-V host
# through Azure Arc Run Command. It makes the changes of Microsoft/SDN Containers/ConfigureMCNP.ps1, made safe to
# repeat and self-checking:
#   - each registry value is written with an explicit type, and only when it differs;
#   - each "Open Port 6642" firewall rule is added only when absent ("netsh add rule" would add a duplicate);
#   - nchostagent serves every tenant VM on this host, so it is restarted only when something changed;
#   - the values, rules and service state are read back before success is reported.
# The script takes no parameters. Its last output line is one result line: SDNATTACH-RESULT {json}.
[CmdletBinding()]
param()

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$ScriptName = 'enable-network-proxy'
$ScriptVersion = 1
$Sentinel = 'SDNATTACH-RESULT'
$ServiceName = 'nchostagent'
$FirewallRuleName = 'Open Port 6642'
$FirewallPort = '6642'

$script:Changed = $false
$script:ValuesSet = 0

# The registry table of ConfigureMCNP.ps1; keys are under HKLM.
$DesiredValues = @(
    @{ Key = 'SYSTEM\CurrentControlSet\Services\NcHostAgent\Parameters\Plugins\Vnet\ProxiedServices\c79d8d8d-bbb4-42ea-8a8f-a492efc40a94'; Name = 'ServerAddress'; Kind = 'String'; Data = 'localhost' },
    @{ Key = 'SYSTEM\CurrentControlSet\Services\NcHostAgent\Parameters\Plugins\Vnet\ProxiedServices\c79d8d8d-bbb4-42ea-8a8f-a492efc40a94'; Name = 'ServiceName'; Kind = 'String'; Data = 'mds' },
    @{ Key = 'SYSTEM\CurrentControlSet\Services\NcHostAgent\Parameters\Plugins\Vnet\ProxiedServices\c79d8d8d-bbb4-42ea-8a8f-a492efc40a94'; Name = 'ServerPort'; Kind = 'DWord'; Data = 6642 },
    @{ Key = 'SYSTEM\CurrentControlSet\Services\NcHostAgent\Parameters\Plugins\Vnet\ProxiedServices\c79d8d8d-bbb4-42ea-8a8f-a492efc40a94'; Name = 'ProxyListeningPort'; Kind = 'DWord'; Data = 6642 },
    @{ Key = 'SYSTEM\CurrentControlSet\Services\NcHostAgent\Parameters\Plugins\Vnet\ProxiedServices\c79d8d8d-bbb4-42ea-8a8f-a492efc40a94'; Name = 'ProxyListeningAddress'; Kind = 'String'; Data = '0.0.0.0' },
    @{ Key = 'SYSTEM\CurrentControlSet\Services\NcHostAgent\Parameters\Plugins\Vnet\ProxiedServices\c79d8d8d-bbb4-42ea-8a8f-a492efc40a94'; Name = 'ProxyProtocol'; Kind = 'String'; Data = 'HttpUriPrefix' },
    @{ Key = 'SYSTEM\CurrentControlSet\Services\NcHostAgent\Parameters\Plugins\Vnet\InfraServices\MetadataServer'; Name = 'Port'; Kind = 'DWord'; Data = 6642 },
    @{ Key = 'SYSTEM\CurrentControlSet\Services\NcHostAgent\Parameters\Plugins\Vnet\InfraServices\MetadataServer'; Name = 'ProxyPort'; Kind = 'DWord'; Data = 6642 },
    @{ Key = 'SYSTEM\CurrentControlSet\Services\NcHostAgent\Parameters\Plugins\Vnet\InfraServices\MetadataServer'; Name = 'IP'; Kind = 'String'; Data = '169.254.169.254' },
    @{ Key = 'SYSTEM\CurrentControlSet\Services\NcHostAgent\Parameters\Plugins\Vnet\InfraServices\MetadataServer'; Name = 'MAC'; Kind = 'String'; Data = '22-22-22-22-22-22' },
    @{ Key = 'SYSTEM\CurrentControlSet\Services\NcHostAgent\Parameters\Plugins\Vnet\NdResponder'; Name = 'MetadataServer'; Kind = 'MultiString'; Data = @('169.254.169.254', '22-22-22-22-22-22') },
    @{ Key = 'SYSTEM\CurrentControlSet\Services\NcHostAgent\Parameters'; Name = 'MetadataServerPort'; Kind = 'DWord'; Data = 6642 }
)

$FirewallDirections = @('Inbound', 'Outbound')

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

function Test-FirewallRule {
    param([string] $Direction)
    $candidates = @(Get-NetFirewallRule -DisplayName $FirewallRuleName -ErrorAction SilentlyContinue |
            Where-Object { $_.Direction -eq $Direction -and $_.Action -eq 'Allow' -and $_.Enabled -eq 'True' })
    foreach ($rule in $candidates) {
        $ports = $rule | Get-NetFirewallPortFilter
        if ($ports.Protocol -eq 'TCP' -and @($ports.LocalPort) -contains $FirewallPort) { return $true }
    }
    return $false
}

try {
    if ($null -eq (Get-Service -Name $ServiceName -ErrorAction SilentlyContinue)) {
        throw (New-StepFailure 'HostAgentNotFound' 'The nchostagent service (Network Controller Host Agent) is not installed: this machine is not an SDN Hyper-V host.' $true)
    }

    foreach ($value in $DesiredValues) {
        Set-RegistryValue -Key $value.Key -Name $value.Name -Kind $value.Kind -Data $value.Data
    }

    $rulesAdded = 0
    foreach ($direction in $FirewallDirections) {
        if (-not (Test-FirewallRule -Direction $direction)) {
            New-NetFirewallRule -DisplayName $FirewallRuleName -Direction $direction -Action Allow -Protocol TCP -LocalPort $FirewallPort -Profile Any | Out-Null
            $script:Changed = $true
            $rulesAdded++
            Write-Output ("added firewall rule '{0}' ({1})" -f $FirewallRuleName, $direction)
        }
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
        throw (New-StepFailure 'ServiceNotRunning' ('The nchostagent service is {0} after the change; it must be Running.' -f $service.Status) $false)
    }
    foreach ($value in $DesiredValues) {
        if (-not (Test-RegistryValue -Key $value.Key -Name $value.Name -Kind $value.Kind -Data $value.Data)) {
            throw (New-StepFailure 'VerificationFailed' ('HKLM\{0}\{1} does not hold the expected {2} value after writing it.' -f $value.Key, $value.Name, $value.Kind) $false)
        }
    }
    foreach ($direction in $FirewallDirections) {
        if (-not (Test-FirewallRule -Direction $direction)) {
            throw (New-StepFailure 'VerificationFailed' ("The {0} firewall rule '{1}' (TCP {2}, allow) is missing after adding it." -f $direction, $FirewallRuleName, $FirewallPort) $false)
        }
    }

    Write-ResultLine ([ordered]@{ ok = $true; changed = $script:Changed; registryValuesSet = $script:ValuesSet; firewallRulesAdded = $rulesAdded; serviceAction = $serviceAction; serviceStatus = 'Running' })
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
    Write-ResultLine ([ordered]@{ ok = $false; changed = $script:Changed; error = [ordered]@{ code = $code; message = $failure.Message; permanent = $permanent } })
    exit 1
}
