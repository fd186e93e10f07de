# A stand-in SDN Hyper-V host for the Pester suites of enable-network-proxy.ps1 and inspect-hyperv-host.ps1: the HKLM
# registry behind the scripts' Get-LocalMachineBase (counting every handle opened and disposed), the firewall rules
# behind Get-FirewallRuleFacts / New-ProxyFirewallRule / Remove-ProxyFirewallRule, and nchostagent behind the
# service wrappers. Dot-source it in BeforeAll; Use-FakeHyperVHost (in BeforeEach) mocks the wrappers onto the
# host in $FakeWindowsHost, which the mock bodies find by dynamic scope while the script runs.

# What ConfigureMCNP.ps1 writes (Microsoft/SDN Containers/ConfigureMCNP.ps1), written out here on its own so that
# the suites check the scripts against the original, not against themselves.
$script:ProxyValues = @(
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

class FakeFirewallRule {
    [string] $DisplayName
    [string] $Direction
    [string] $Action
    [bool] $Enabled
    [string] $Protocol
    [string[]] $LocalPort
}

class FakeHyperVHost {
    # Key path (case-insensitive, as the registry) -> value name -> @{ Kind; Data }.
    [hashtable] $Registry = @{}
    [System.Collections.ArrayList] $Rules = [System.Collections.ArrayList]::new()
    # $null: nchostagent is not installed (untyped: a [string] would turn $null into '').
    $ServiceStatus = 'Running'
    # What a restart or start leaves it in.
    [string] $StatusAfterStart = 'Running'
    # Every handle opened and disposed, and of those the base keys (Get-LocalMachineBase).
    [int] $Opened = 0
    [int] $Disposed = 0
    [int] $BasesOpened = 0
    [int] $BasesDisposed = 0
    [int] $ValueWrites = 0
    [int] $Restarts = 0
    [int] $Starts = 0
    [bool] $DenyWrites = $false
    [bool] $DenyReads = $false

    [object] OpenBase() {
        $this.Opened++
        $this.BasesOpened++
        return [FakeRegistryKey]::new($this, '')
    }

    [bool] KeyExists([string] $path) {
        foreach ($key in $this.Registry.Keys) {
            if ($key -eq $path -or $key.StartsWith($path + '\', [System.StringComparison]::OrdinalIgnoreCase)) { return $true }
        }
        return $false
    }

    [void] SetValue([string] $key, [string] $name, [string] $kind, [object] $data) {
        if (-not $this.Registry.ContainsKey($key)) { $this.Registry[$key] = @{} }
        $this.Registry[$key][$name] = @{ Kind = [Microsoft.Win32.RegistryValueKind] $kind; Data = $data }
    }

    [object] GetValue([string] $key, [string] $name) {
        if (-not $this.Registry.ContainsKey($key)) { return $null }
        return $this.Registry[$key][$name]
    }

    [FakeFirewallRule] AddRule([string] $displayName, [string] $direction, [string] $action, [bool] $enabled, [string] $protocol, [string[]] $localPort) {
        $rule = [FakeFirewallRule]@{ DisplayName = $displayName; Direction = $direction; Action = $action; Enabled = $enabled; Protocol = $protocol; LocalPort = $localPort }
        [void] $this.Rules.Add($rule)
        return $rule
    }

    # What Get-FirewallRuleFacts answers: the rules of a display name, or every enabled inbound Block rule.
    [object[]] RuleFacts([string] $displayName, [bool] $inboundBlock) {
        $facts = @()
        foreach ($rule in $this.Rules) {
            if ($inboundBlock) {
                if (-not ($rule.Enabled -and $rule.Direction -eq 'Inbound' -and $rule.Action -eq 'Block')) { continue }
            }
            elseif ($rule.DisplayName -ne $displayName) { continue }
            $facts += [pscustomobject]@{ Rule = $rule; DisplayName = $rule.DisplayName; Direction = $rule.Direction; Action = $rule.Action; Enabled = $rule.Enabled; Protocol = $rule.Protocol; LocalPort = $rule.LocalPort }
        }
        return $facts
    }

    [void] RemoveRule([FakeFirewallRule] $rule) {
        $this.Rules.Remove($rule)
    }

    [void] StartService([bool] $restart) {
        if ($restart) { $this.Restarts++ } else { $this.Starts++ }
        $this.ServiceStatus = $this.StatusAfterStart
    }

    # A host as enable-network-proxy leaves it: every value, one rule each way, nchostagent running.
    [void] Configure([object[]] $values) {
        foreach ($value in $values) { $this.SetValue($value.Key, $value.Name, $value.Kind, $value.Data) }
        $this.AddRule('Open Port 6642', 'Inbound', 'Allow', $true, 'TCP', @('6642'))
        $this.AddRule('Open Port 6642', 'Outbound', 'Allow', $true, 'TCP', @('6642'))
    }
}

class FakeRegistryKey {
    [FakeHyperVHost] $Owner
    [string] $Path
    [bool] $IsDisposed = $false

    FakeRegistryKey([FakeHyperVHost] $owner, [string] $path) {
        $this.Owner = $owner
        $this.Path = $path
    }

    hidden [string] Child([string] $sub) {
        if ($this.Path) { return $this.Path + '\' + $sub }
        return $sub
    }

    [object] OpenSubKey([string] $sub) {
        if ($this.Owner.DenyReads) { throw [System.Security.SecurityException]::new('Requested registry access is not allowed.') }
        $full = $this.Child($sub)
        if (-not $this.Owner.KeyExists($full)) { return $null }
        $this.Owner.Opened++
        return [FakeRegistryKey]::new($this.Owner, $full)
    }

    [object] CreateSubKey([string] $sub) {
        if ($this.Owner.DenyWrites) { throw [System.UnauthorizedAccessException]::new("Access to the registry key 'HKEY_LOCAL_MACHINE\$sub' is denied.") }
        $full = $this.Child($sub)
        if (-not $this.Owner.Registry.ContainsKey($full)) { $this.Owner.Registry[$full] = @{} }
        $this.Owner.Opened++
        return [FakeRegistryKey]::new($this.Owner, $full)
    }

    [string[]] GetValueNames() {
        if (-not $this.Owner.Registry.ContainsKey($this.Path)) { return [string[]] @() }
        return [string[]] @($this.Owner.Registry[$this.Path].Keys)
    }

    [Microsoft.Win32.RegistryValueKind] GetValueKind([string] $name) {
        return $this.Owner.GetValue($this.Path, $name).Kind
    }

    [object] GetValue([string] $name, [object] $default, [Microsoft.Win32.RegistryValueOptions] $options) {
        $value = $this.Owner.GetValue($this.Path, $name)
        if ($null -eq $value) { return $default }
        return $value.Data
    }

    [void] SetValue([string] $name, [object] $data, [Microsoft.Win32.RegistryValueKind] $kind) {
        $this.Owner.SetValue($this.Path, $name, [string] $kind, $data)
        $this.Owner.ValueWrites++
    }

    [void] Dispose() {
        if (-not $this.IsDisposed) {
            $this.IsDisposed = $true
            $this.Owner.Disposed++
            if ($this.Path -eq '') { $this.Owner.BasesDisposed++ }
        }
    }

    [void] Close() { $this.Dispose() }
}

function New-FakeHyperVHost {
    # A fresh SDN host: nchostagent running, none of the values, no rules.
    param([switch] $Configured)
    $fake = [FakeHyperVHost]::new()
    if ($Configured) { $fake.Configure($script:ProxyValues) }
    return $fake
}

function Get-ProxyValueTable { return $script:ProxyValues }

function Use-FakeHyperVHost {
    # Mocks every Windows-only wrapper of the script under test onto $FakeWindowsHost (call from BeforeEach or It).
    # The service wrappers answer for nchostagent only: any other name reaches the real wrapper and fails.
    param([switch] $Writes)
    Mock Get-LocalMachineBase { $FakeWindowsHost.OpenBase() }
    Mock Get-ServiceStatus { $FakeWindowsHost.ServiceStatus } -ParameterFilter { $Name -eq 'nchostagent' }
    Mock Get-FirewallRuleFacts { $FakeWindowsHost.RuleFacts($DisplayName, $InboundBlock.IsPresent) }
    if ($Writes) {
        Mock Restart-NamedService { $FakeWindowsHost.StartService($true) } -ParameterFilter { $Name -eq 'nchostagent' }
        Mock Start-NamedService { $FakeWindowsHost.StartService($false) } -ParameterFilter { $Name -eq 'nchostagent' }
        Mock Wait-ServiceRunning { $FakeWindowsHost.ServiceStatus } -ParameterFilter { $Name -eq 'nchostagent' }
        Mock New-ProxyFirewallRule { [void] $FakeWindowsHost.AddRule('Open Port 6642', $Direction, 'Allow', $true, 'TCP', @('6642')) }
        Mock Remove-ProxyFirewallRule { $FakeWindowsHost.RemoveRule($Facts.Rule) }
    }
}
