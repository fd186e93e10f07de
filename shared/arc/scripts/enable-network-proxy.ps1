# sdn-attach-script: enable-network-proxy v2
#
# Step 2 of "connect container endpoints to a tenant virtual network", run as LocalSystem on the Hyper-V host
# through Azure Arc Run Command. It makes the changes of Microsoft/SDN Containers/ConfigureMCNP.ps1, made safe to
# repeat and self-checking:
#   - each registry value is written with an explicit type, and only when it differs;
#   - each "Open Port 6642" firewall rule is added only when absent ("netsh add rule" would add a duplicate); an
#     Allow rule of that name that is disabled or not TCP 6642 is removed and made again, not left beside it;
#   - an enabled inbound Block rule covering TCP 6642 (Block wins over Allow) fails the step before any change
#     (PortBlockedByFirewall, permanent): it is someone else's rule, never removed here;
#   - nchostagent serves every tenant VM on this host, so it is restarted only when something changed;
#   - the values, rules and service state are read back before success is reported.
# Windows-only commands (registry, firewall, services) are called only through the small wrappers below, so that
# tests can stand in for them; every registry handle opened is disposed.
# The script takes no parameters. Its last output line is one result line: SDNATTACH-RESULT {json}.
[CmdletBinding()]
param()

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$ScriptName = 'enable-network-proxy'
$ScriptVersion = 2
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
    param([string] $Code, [string] $Message, [bool] $Permanent, [System.Collections.IDictionary] $Details)
    $exception = [System.InvalidOperationException]::new($Message)
    $exception.Data['SdnAttachCode'] = $Code
    $exception.Data['SdnAttachPermanent'] = $Permanent
    if ($null -ne $Details) { $exception.Data['SdnAttachDetails'] = $Details }
    return $exception
}

function Test-AccessDenied {
    param([System.Exception] $Failure)
    for ($current = $Failure; $null -ne $current; $current = $current.InnerException) {
        if ($current -is [System.UnauthorizedAccessException] -or $current -is [System.Security.SecurityException]) { return $true }
    }
    return $false
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

function Restart-NamedService {
    param([string] $Name)
    Restart-Service -Name $Name -Force
}

function Start-NamedService {
    param([string] $Name)
    Start-Service -Name $Name
}

function Wait-ServiceRunning {
    # Waits up to 60 s for Running, then answers the status.
    param([string] $Name)
    $service = Get-Service -Name $Name
    try { $service.WaitForStatus('Running', [TimeSpan]::FromSeconds(60)) } catch { }
    $service.Refresh()
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

function New-ProxyFirewallRule {
    param([string] $Direction)
    New-NetFirewallRule -DisplayName $FirewallRuleName -Direction $Direction -Action Allow -Protocol TCP -LocalPort $FirewallPort -Profile Any | Out-Null
}

function Remove-ProxyFirewallRule {
    param($Facts)
    Remove-NetFirewallRule -InputObject $Facts.Rule
}

function Test-RegistryValue {
    param([string] $Key, [string] $Name, [Microsoft.Win32.RegistryValueKind] $Kind, $Data)
    $base = Get-LocalMachineBase
    try {
        $handle = $base.OpenSubKey($Key)
        if ($null -eq $handle) { return $false }
        try {
            if (-not ($handle.GetValueNames() -contains $Name)) { return $false }
            if ($handle.GetValueKind($Name) -ne $Kind) { return $false }
            $current = $handle.GetValue($Name, $null, [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames)
            return ((@($current) -join "`n") -ceq (@($Data) -join "`n"))
        }
        finally {
            $handle.Dispose()
        }
    }
    finally {
        $base.Dispose()
    }
}

function Set-RegistryValue {
    param([string] $Key, [string] $Name, [Microsoft.Win32.RegistryValueKind] $Kind, $Data)
    if (Test-RegistryValue -Key $Key -Name $Name -Kind $Kind -Data $Data) { return }
    $base = Get-LocalMachineBase
    try {
        # CreateSubKey opens an existing key as it is; New-Item -Force would delete and recreate it.
        $handle = $base.CreateSubKey($Key)
        try {
            if ($Kind -eq [Microsoft.Win32.RegistryValueKind]::MultiString) { $handle.SetValue($Name, [string[]] $Data, $Kind) }
            elseif ($Kind -eq [Microsoft.Win32.RegistryValueKind]::DWord) { $handle.SetValue($Name, [int] $Data, $Kind) }
            else { $handle.SetValue($Name, [string] $Data, $Kind) }
        }
        finally {
            $handle.Dispose()
        }
    }
    finally {
        $base.Dispose()
    }
    $script:Changed = $true
    $script:ValuesSet++
    $displayName = if ($Name) { $Name } else { '(default)' }
    Write-Output ('set HKLM\{0}\{1} ({2})' -f $Key, $displayName, $Kind)
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

function Get-ProxyRuleFacts {
    param([string] $Direction)
    return @(Get-FirewallRuleFacts -DisplayName $FirewallRuleName | Where-Object { $_.Direction -eq $Direction })
}

function Assert-PortNotBlocked {
    # Windows Firewall lets a Block rule win over any Allow rule, so an enabled one covering the port would leave
    # the proxy unreachable behind a rule that looks right. It belongs to whoever made it: reported, never removed.
    $blocking = @(Get-FirewallRuleFacts -InboundBlock | Where-Object { Test-CoversPort $_ })
    if ($blocking.Count -gt 0) {
        $names = ($blocking | ForEach-Object { "'" + $_.DisplayName + "'" }) -join ', '
        throw (New-StepFailure 'PortBlockedByFirewall' ('Inbound TCP {0} is blocked by the enabled firewall Block rule {1}, which wins over any Allow rule; remove or narrow it on this host, then retry.' -f $FirewallPort, $names) $true)
    }
}

try {
    if ($null -eq (Get-ServiceStatus -Name $ServiceName)) {
        throw (New-StepFailure 'HostAgentNotFound' 'The nchostagent service (Network Controller Host Agent) is not installed: this machine is not an SDN Hyper-V host.' $true)
    }
    # Before any change: on a blocked port the step cannot succeed, so it must not restart nchostagent for nothing.
    Assert-PortNotBlocked

    foreach ($value in $DesiredValues) {
        Set-RegistryValue -Key $value.Key -Name $value.Name -Kind $value.Kind -Data $value.Data
    }

    $rulesAdded = 0
    $rulesRemoved = 0
    foreach ($direction in $FirewallDirections) {
        $rules = Get-ProxyRuleFacts -Direction $direction
        # An Allow rule of our name that would not let the proxy through is replaced, not left beside the new one.
        # A Block rule of that name is not one ConfigureMCNP.ps1 makes: it is left to whoever made it.
        foreach ($rule in @($rules | Where-Object { $_.Action -eq 'Allow' -and -not (Test-ProxyRule $_) })) {
            Remove-ProxyFirewallRule -Facts $rule
            $script:Changed = $true
            $rulesRemoved++
            $state = if ($rule.Enabled) { 'enabled' } else { 'disabled' }
            Write-Output ("removed firewall rule '{0}' ({1}, {2}, {3} {4})" -f $FirewallRuleName, $direction, $state, $rule.Protocol, (@($rule.LocalPort) -join ','))
        }
        if (@($rules | Where-Object { Test-ProxyRule $_ }).Count -eq 0) {
            New-ProxyFirewallRule -Direction $direction
            $script:Changed = $true
            $rulesAdded++
            Write-Output ("added firewall rule '{0}' ({1})" -f $FirewallRuleName, $direction)
        }
    }

    $serviceAction = 'none'
    if ($script:Changed) {
        Restart-NamedService -Name $ServiceName
        $serviceAction = 'restarted'
        Write-Output ('restarted service {0}' -f $ServiceName)
    }
    elseif ((Get-ServiceStatus -Name $ServiceName) -ne 'Running') {
        Start-NamedService -Name $ServiceName
        $script:Changed = $true
        $serviceAction = 'started'
        Write-Output ('started service {0}' -f $ServiceName)
    }

    $status = Wait-ServiceRunning -Name $ServiceName
    if ($status -ne 'Running') {
        throw (New-StepFailure 'ServiceNotRunning' ('The nchostagent service is {0} after the change; it must be Running.' -f $status) $false)
    }
    foreach ($value in $DesiredValues) {
        if (-not (Test-RegistryValue -Key $value.Key -Name $value.Name -Kind $value.Kind -Data $value.Data)) {
            throw (New-StepFailure 'VerificationFailed' ('HKLM\{0}\{1} does not hold the expected {2} value after writing it.' -f $value.Key, $value.Name, $value.Kind) $false)
        }
    }
    foreach ($direction in $FirewallDirections) {
        $rules = Get-ProxyRuleFacts -Direction $direction
        if (@($rules | Where-Object { Test-ProxyRule $_ }).Count -eq 0) {
            throw (New-StepFailure 'VerificationFailed' ("The {0} firewall rule '{1}' (TCP {2}, allow) is missing after adding it." -f $direction, $FirewallRuleName, $FirewallPort) $false)
        }
        if (@($rules | Where-Object { $_.Action -eq 'Allow' -and -not (Test-ProxyRule $_) }).Count -gt 0) {
            throw (New-StepFailure 'VerificationFailed' ("A disabled or wrong {0} firewall rule '{1}' is still there after removing it." -f $direction, $FirewallRuleName) $false)
        }
    }

    Write-ResultLine ([ordered]@{ ok = $true; changed = $script:Changed; registryValuesSet = $script:ValuesSet; firewallRulesAdded = $rulesAdded; firewallRulesRemoved = $rulesRemoved; serviceAction = $serviceAction; serviceStatus = 'Running' })
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
