# sdn-attach-script: inspect-hyperv-host v2
#
# Verification of step 2, run as LocalSystem on the Hyper-V host through Azure Arc Run Command. It changes nothing
# (changed is always false) and reports what enable-network-proxy.ps1 sets and checks:
#   - each registry value of ConfigureMCNP.ps1: Expected, Missing or Different (wrong type or data);
#   - each "Open Port 6642" firewall rule (in and out): present or not, how many match (netsh adds duplicates), and
#     how many Allow rules of that name enable-network-proxy.ps1 would replace (disabled, or not TCP 6642);
#   - every enabled inbound Block rule covering TCP 6642 (it wins over the Allow rule);
#   - the nchostagent service: installed or not, and its status.
# networkProxyEnabled is true when all of these are as enable-network-proxy.ps1 leaves them, with no Block rule. A
# machine that is not an SDN host is reported as such (service not installed), not as a failure.
# Windows-only commands are called only through the same wrappers as enable-network-proxy.ps1; every registry handle
# opened is disposed.
# The script takes no parameters. Its only output line is one result line: SDNATTACH-RESULT {json}.
[CmdletBinding()]
param()

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$ScriptName = 'inspect-hyperv-host'
$ScriptVersion = 2
$Sentinel = 'SDNATTACH-RESULT'
$ServiceName = 'nchostagent'
$FirewallRuleName = 'Open Port 6642'
$FirewallPort = '6642'

$script:Changed = $false

# The registry table of ConfigureMCNP.ps1, as enable-network-proxy.ps1 writes it; keys are under HKLM.
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
    param([string] $Code, [string] $Message, [bool] $Permanent, [System.Collections.IDictionary] $Details)
    $exception = [System.InvalidOperationException]::new($Message)
    $exception.Data['SdnAttachCode'] = $Code
    $exception.Data['SdnAttachPermanent'] = $Permanent
    if ($null -ne $Details) { $exception.Data['SdnAttachDetails'] = $Details }
    return $exception
}

function Get-LocalMachineBase {
    # The 64-bit view, whatever the bitness of the host process. The caller disposes it.
    return [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, [Microsoft.Win32.RegistryView]::Registry64)
}

function Get-ServiceStatus {
    # The status as text, or $null when the service is not installed.
    param([string] $Name)
    $service = Get-Service -Name $Name -ErrorAction SilentlyContinue
    if ($null -eq $service) { return $null }
    return [string] $service.Status
}

function Get-FirewallRuleFacts {
    # The rules of this display name, or with -InboundBlock every enabled inbound Block rule in force (the active
    # store, so Group Policy rules too), each with its port filter and the rule itself for removal. "Not found" is
    # no rule; any other lookup failure stops the script rather than passing for "no rule".
    param([string] $DisplayName, [switch] $InboundBlock)
    $lookupErrors = $null
    if ($InboundBlock) {
        $rules = @(Get-NetFirewallRule -PolicyStore ActiveStore -Direction Inbound -Action Block -Enabled True -ErrorAction SilentlyContinue -ErrorVariable lookupErrors)
    }
    else {
        $rules = @(Get-NetFirewallRule -DisplayName $DisplayName -ErrorAction SilentlyContinue -ErrorVariable lookupErrors)
    }
    foreach ($lookupError in @($lookupErrors)) {
        if ($null -ne $lookupError -and [string] $lookupError.CategoryInfo.Category -ne 'ObjectNotFound') { throw $lookupError }
    }
    foreach ($rule in $rules) {
        $ports = $rule | Get-NetFirewallPortFilter
        [pscustomobject]@{
            Rule = $rule
            DisplayName = [string] $rule.DisplayName
            Direction = [string] $rule.Direction
            Action = [string] $rule.Action
            Enabled = ([string] $rule.Enabled -eq 'True')
            Protocol = [string] $ports.Protocol
            LocalPort = @(@($ports.LocalPort) | ForEach-Object { ([string] $_) -split ',' } | ForEach-Object { $_.Trim() })
        }
    }
}

function Get-RegistryValueState {
    param([string] $Key, [string] $Name, [Microsoft.Win32.RegistryValueKind] $Kind, $Data)
    # The same comparison as the writing scripts' Test-RegistryValue: type, then data as text, case-sensitive.
    $base = Get-LocalMachineBase
    try {
        $handle = $base.OpenSubKey($Key)
        if ($null -eq $handle) { return 'Missing' }
        try {
            if (-not ($handle.GetValueNames() -contains $Name)) { return 'Missing' }
            if ($handle.GetValueKind($Name) -ne $Kind) { return 'Different' }
            $current = $handle.GetValue($Name, $null, [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames)
            if ((@($current) -join "`n") -ceq (@($Data) -join "`n")) { return 'Expected' }
            return 'Different'
        }
        finally {
            $handle.Dispose()
        }
    }
    finally {
        $base.Dispose()
    }
}

function Test-CoversPort {
    # Whether a rule's port filter takes in TCP $FirewallPort: TCP or any protocol, and a local port of Any, the
    # port itself or a range around it.
    param($Facts)
    if (@('TCP', '6', 'Any') -notcontains $Facts.Protocol) { return $false }
    foreach ($entry in @($Facts.LocalPort)) {
        if ($entry -eq 'Any' -or $entry -eq $FirewallPort) { return $true }
        if ($entry -match '^(\d+)-(\d+)$' -and [int] $Matches[1] -le [int] $FirewallPort -and [int] $FirewallPort -le [int] $Matches[2]) { return $true }
    }
    return $false
}

function Test-ProxyRule {
    # The rule ConfigureMCNP.ps1 adds: enabled, allow, TCP, local port 6642.
    param($Facts)
    return ($Facts.Action -eq 'Allow' -and $Facts.Enabled -and $Facts.Protocol -eq 'TCP' -and @($Facts.LocalPort) -contains $FirewallPort)
}

try {
    $registryValues = @()
    foreach ($value in $DesiredValues) {
        $state = Get-RegistryValueState -Key $value.Key -Name $value.Name -Kind $value.Kind -Data $value.Data
        $registryValues += [ordered]@{ key = $value.Key; name = $value.Name; state = $state }
    }

    # The same matches as enable-network-proxy.ps1, counted instead of stopping at the first.
    $ourRules = @(Get-FirewallRuleFacts -DisplayName $FirewallRuleName)
    $firewallRules = @()
    foreach ($direction in $FirewallDirections) {
        $inDirection = @($ourRules | Where-Object { $_.Direction -eq $direction })
        $count = @($inDirection | Where-Object { Test-ProxyRule $_ }).Count
        $toReplace = @($inDirection | Where-Object { $_.Action -eq 'Allow' -and -not (Test-ProxyRule $_) }).Count
        $firewallRules += [ordered]@{ direction = $direction; present = ($count -gt 0); count = $count; toReplace = $toReplace }
    }
    $blockRules = @()
    foreach ($rule in @(Get-FirewallRuleFacts -InboundBlock | Where-Object { Test-CoversPort $_ })) {
        $blockRules += [ordered]@{ displayName = $rule.DisplayName; protocol = $rule.Protocol; localPort = (@($rule.LocalPort) -join ',') }
    }

    $status = Get-ServiceStatus -Name $ServiceName
    $service = [ordered]@{ name = $ServiceName; installed = ($null -ne $status); status = $status }

    $enabled = $service.status -eq 'Running' -and
        @($registryValues | Where-Object { $_.state -ne 'Expected' }).Count -eq 0 -and
        @($firewallRules | Where-Object { -not $_.present }).Count -eq 0 -and
        $blockRules.Count -eq 0

    Write-ResultLine ([ordered]@{ ok = $true; changed = $false; networkProxyEnabled = $enabled; registryValues = $registryValues; firewallRules = $firewallRules; firewallBlockRules = $blockRules; service = $service })
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
