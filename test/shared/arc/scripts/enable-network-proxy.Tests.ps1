# enable-network-proxy.ps1 run as Arc Run Command runs it, its Windows-only wrappers mocked onto a fake Hyper-V host.
BeforeAll {
    . "$PSScriptRoot/../../../support/HostScripts.ps1"
    . (Get-HostScriptFunctions 'enable-network-proxy')
    . "$PSScriptRoot/../../../support/FakeHyperVHost.ps1"

    function Invoke-Enable { Invoke-HostScript -Name 'enable-network-proxy' }

    function Get-RuleSummary {
        # The host's rules as 'Direction Action Enabled Protocol Ports Name', for comparing whole rule sets.
        return @($FakeWindowsHost.Rules | ForEach-Object { '{0} {1} {2} {3} {4} {5}' -f $_.Direction, $_.Action, $_.Enabled, $_.Protocol, ($_.LocalPort -join ','), $_.DisplayName })
    }

    $script:ProxyRules = @('Inbound Allow True TCP 6642 Open Port 6642', 'Outbound Allow True TCP 6642 Open Port 6642')
}

Describe 'enable-network-proxy' {
    BeforeEach {
        $FakeWindowsHost = New-FakeHyperVHost
        Use-FakeHyperVHost -Writes
    }

    AfterEach {
        # D10: whatever the path, every registry handle the script opened (base keys included) was disposed.
        $FakeWindowsHost.Disposed | Should -Be $FakeWindowsHost.Opened
    }

    Context 'parameters' {
        It 'takes none: a parameter Run Command passes is refused before the script runs' {
            $run = Invoke-HostScript -Name 'enable-network-proxy' -Parameters @{ NetworkName = 'MyNet' }
            $run.ExitCode | Should -Be 1
            $run.BindingError | Should -Match 'NetworkName'
            $run.Lines | Should -BeNullOrEmpty
            $FakeWindowsHost.ValueWrites | Should -Be 0
        }
    }

    Context 'idempotence' {
        It 'on a fresh host writes every ConfigureMCNP.ps1 value with its type, adds both rules and restarts nchostagent' {
            $run = Invoke-Enable
            $run.ExitCode | Should -Be 0
            $run.Result.ok | Should -BeTrue
            $run.Result.changed | Should -BeTrue
            $run.Result.registryValuesSet | Should -Be 12
            $run.Result.firewallRulesAdded | Should -Be 2
            $run.Result.firewallRulesRemoved | Should -Be 0
            $run.Result.serviceAction | Should -Be 'restarted'
            $run.Result.serviceStatus | Should -Be 'Running'
            foreach ($value in Get-ProxyValueTable) {
                $found = $FakeWindowsHost.GetValue($value.Key, $value.Name)
                $found | Should -Not -BeNullOrEmpty -Because "$($value.Key)\$($value.Name) is written"
                [string] $found.Kind | Should -BeExactly $value.Kind
                (@($found.Data) -join '|') | Should -BeExactly (@($value.Data) -join '|')
            }
            Get-RuleSummary | Should -Be $script:ProxyRules
            $FakeWindowsHost.Restarts | Should -Be 1
            $run.Lines[-1] | Should -BeExactly $run.ResultLine
        }

        It 'on a configured host writes nothing, adds nothing and does not restart nchostagent' {
            $FakeWindowsHost = New-FakeHyperVHost -Configured
            $run = Invoke-Enable
            $run.ExitCode | Should -Be 0
            $run.Result.ok | Should -BeTrue
            $run.Result.changed | Should -BeFalse
            $run.Result.registryValuesSet | Should -Be 0
            $run.Result.firewallRulesAdded | Should -Be 0
            $run.Result.firewallRulesRemoved | Should -Be 0
            $run.Result.serviceAction | Should -Be 'none'
            $FakeWindowsHost.ValueWrites | Should -Be 0
            $FakeWindowsHost.Restarts | Should -Be 0
            Should -Invoke New-ProxyFirewallRule -Times 0 -Exactly
            Should -Invoke Remove-ProxyFirewallRule -Times 0 -Exactly
            Should -Invoke Restart-NamedService -Times 0 -Exactly
            $run.Lines | Should -HaveCount 1
        }

        It 'a second run after a fresh one changes nothing' {
            (Invoke-Enable).Result.changed | Should -BeTrue
            $again = Invoke-Enable
            $again.ExitCode | Should -Be 0
            $again.Result.changed | Should -BeFalse
            $FakeWindowsHost.Restarts | Should -Be 1
            Get-RuleSummary | Should -Be $script:ProxyRules
        }

        It 'on a partly configured host writes only what is missing or different, adds only the missing rule' {
            $FakeWindowsHost = New-FakeHyperVHost -Configured
            $metadata = 'SYSTEM\CurrentControlSet\Services\NcHostAgent\Parameters\Plugins\Vnet\InfraServices\MetadataServer'
            $FakeWindowsHost.Registry[$metadata].Remove('IP')
            $FakeWindowsHost.SetValue($metadata, 'Port', 'String', '6642')
            $FakeWindowsHost.Rules.RemoveAt(1)
            $run = Invoke-Enable
            $run.ExitCode | Should -Be 0
            $run.Result.changed | Should -BeTrue
            $run.Result.registryValuesSet | Should -Be 2
            $run.Result.firewallRulesAdded | Should -Be 1
            $run.Result.serviceAction | Should -Be 'restarted'
            $FakeWindowsHost.ValueWrites | Should -Be 2
            [string] $FakeWindowsHost.GetValue($metadata, 'Port').Kind | Should -Be 'DWord'
            $FakeWindowsHost.GetValue($metadata, 'Port').Data | Should -Be 6642
            $run.Lines | Should -Contain "added firewall rule 'Open Port 6642' (Outbound)"
            Get-RuleSummary | Should -Be $script:ProxyRules
        }

        It 'keeps duplicate rules netsh left (they let the proxy through) and adds none' {
            $FakeWindowsHost = New-FakeHyperVHost -Configured
            [void] $FakeWindowsHost.AddRule('Open Port 6642', 'Inbound', 'Allow', $true, 'TCP', @('6642'))
            $run = Invoke-Enable
            $run.Result.changed | Should -BeFalse
            $FakeWindowsHost.Rules | Should -HaveCount 3
        }

        It 'starts a stopped nchostagent on a configured host, without a restart' {
            $FakeWindowsHost = New-FakeHyperVHost -Configured
            $FakeWindowsHost.ServiceStatus = 'Stopped'
            $run = Invoke-Enable
            $run.ExitCode | Should -Be 0
            $run.Result.changed | Should -BeTrue
            $run.Result.serviceAction | Should -Be 'started'
            $FakeWindowsHost.Starts | Should -Be 1
            $FakeWindowsHost.Restarts | Should -Be 0
        }
    }

    Context 'rules of our display name (D9)' {
        It 'replaces a disabled rule of ours: removed, made again, not left beside the new one' {
            $FakeWindowsHost = New-FakeHyperVHost -Configured
            $FakeWindowsHost.Rules[0].Enabled = $false
            $run = Invoke-Enable
            $run.ExitCode | Should -Be 0
            $run.Result.ok | Should -BeTrue
            $run.Result.changed | Should -BeTrue
            $run.Result.firewallRulesRemoved | Should -Be 1
            $run.Result.firewallRulesAdded | Should -Be 1
            $run.Result.serviceAction | Should -Be 'restarted'
            $run.Lines | Should -Contain "removed firewall rule 'Open Port 6642' (Inbound, disabled, TCP 6642)"
            Get-RuleSummary | Should -Be @($script:ProxyRules[1], $script:ProxyRules[0])
        }

        It 'replaces an Allow rule of ours on the wrong <what>, keeping the right one beside it' -ForEach @(
            @{ what = 'protocol'; protocol = 'UDP'; ports = @('6642') }
            @{ what = 'port'; protocol = 'TCP'; ports = @('6643') }
        ) {
            $FakeWindowsHost = New-FakeHyperVHost -Configured
            [void] $FakeWindowsHost.AddRule('Open Port 6642', 'Outbound', 'Allow', $true, $protocol, $ports)
            $run = Invoke-Enable
            $run.ExitCode | Should -Be 0
            $run.Result.firewallRulesRemoved | Should -Be 1
            $run.Result.firewallRulesAdded | Should -Be 0
            Get-RuleSummary | Should -Be $script:ProxyRules
        }

        It 'never removes a Block rule, even one named like ours, when it does not cover inbound 6642' {
            $FakeWindowsHost = New-FakeHyperVHost -Configured
            [void] $FakeWindowsHost.AddRule('Open Port 6642', 'Outbound', 'Block', $true, 'TCP', @('6642'))
            $run = Invoke-Enable
            $run.ExitCode | Should -Be 0
            $run.Result.changed | Should -BeFalse
            Should -Invoke Remove-ProxyFirewallRule -Times 0 -Exactly
            $FakeWindowsHost.Rules | Should -HaveCount 3
        }
    }

    Context 'a Block rule on inbound TCP 6642 (D9)' {
        It 'refuses, permanently and before any change, when <name> blocks it' -ForEach @(
            @{ name = 'a rule on 6642'; protocol = 'TCP'; ports = @('6642') }
            @{ name = 'a rule on a range'; protocol = 'TCP'; ports = @('6000-6999') }
            @{ name = 'a rule on a port list'; protocol = 'TCP'; ports = @('80', '6642') }
            @{ name = 'a rule on any protocol'; protocol = 'Any'; ports = @('Any') }
            @{ name = 'a rule on any TCP port'; protocol = 'TCP'; ports = @('Any') }
        ) {
            [void] $FakeWindowsHost.AddRule('Hoster: no metadata', 'Inbound', 'Block', $true, $protocol, $ports)
            $run = Invoke-Enable
            $run.ExitCode | Should -Be 1
            $run.Result.ok | Should -BeFalse
            $run.Result.changed | Should -BeFalse
            $run.Result.error.code | Should -BeExactly 'PortBlockedByFirewall'
            $run.Result.error.permanent | Should -BeTrue
            $run.Result.error.message | Should -Match "'Hoster: no metadata'"
            $FakeWindowsHost.ValueWrites | Should -Be 0
            $FakeWindowsHost.Restarts | Should -Be 0
            Should -Invoke New-ProxyFirewallRule -Times 0 -Exactly
            Should -Invoke Remove-ProxyFirewallRule -Times 0 -Exactly
            $FakeWindowsHost.Rules | Should -HaveCount 1
        }

        It 'refuses on a configured host too, where the Allow rules alone would look right, naming every such rule' {
            $FakeWindowsHost = New-FakeHyperVHost -Configured
            [void] $FakeWindowsHost.AddRule('Block A', 'Inbound', 'Block', $true, 'TCP', @('6642'))
            [void] $FakeWindowsHost.AddRule('Block B', 'Inbound', 'Block', $true, 'Any', @('Any'))
            $run = Invoke-Enable
            $run.ExitCode | Should -Be 1
            $run.Result.error.code | Should -BeExactly 'PortBlockedByFirewall'
            $run.Result.error.message | Should -Match "'Block A', 'Block B'"
            $FakeWindowsHost.Rules | Should -HaveCount 4
        }

        It 'ignores a Block rule that <name>' -ForEach @(
            @{ name = 'is disabled'; direction = 'Inbound'; enabled = $false; protocol = 'TCP'; ports = @('6642') }
            @{ name = 'is outbound'; direction = 'Outbound'; enabled = $true; protocol = 'TCP'; ports = @('6642') }
            @{ name = 'is UDP'; direction = 'Inbound'; enabled = $true; protocol = 'UDP'; ports = @('6642') }
            @{ name = 'is on other ports'; direction = 'Inbound'; enabled = $true; protocol = 'TCP'; ports = @('80', '7000-7100') }
        ) {
            [void] $FakeWindowsHost.AddRule('Hoster rule', $direction, 'Block', $enabled, $protocol, $ports)
            $run = Invoke-Enable
            $run.ExitCode | Should -Be 0
            $run.Result.ok | Should -BeTrue
            $FakeWindowsHost.Rules | Should -HaveCount 3
        }
    }

    Context 'nchostagent' {
        It 'fails permanently with HostAgentNotFound on a machine without it, having changed nothing' {
            $FakeWindowsHost.ServiceStatus = $null
            $run = Invoke-Enable
            $run.ExitCode | Should -Be 1
            $run.Result.ok | Should -BeFalse
            $run.Result.changed | Should -BeFalse
            $run.Result.error.code | Should -BeExactly 'HostAgentNotFound'
            $run.Result.error.permanent | Should -BeTrue
            $FakeWindowsHost.ValueWrites | Should -Be 0
            $FakeWindowsHost.Rules | Should -HaveCount 0
        }

        It 'fails, retryable, with ServiceNotRunning when it does not come up after the restart' {
            $FakeWindowsHost.StatusAfterStart = 'Stopped'
            $run = Invoke-Enable
            $run.ExitCode | Should -Be 1
            $run.Result.changed | Should -BeTrue
            $run.Result.error.code | Should -BeExactly 'ServiceNotRunning'
            $run.Result.error.permanent | Should -BeFalse
            $run.Result.error.message | Should -Match 'Stopped'
        }
    }

    Context 'registry access and handles (D10)' {
        It 'reports a refused registry write as RegistryAccessDenied, permanent' {
            $FakeWindowsHost.DenyWrites = $true
            $run = Invoke-Enable
            $run.ExitCode | Should -Be 1
            $run.Result.ok | Should -BeFalse
            $run.Result.changed | Should -BeFalse
            $run.Result.error.code | Should -BeExactly 'RegistryAccessDenied'
            $run.Result.error.permanent | Should -BeTrue
            $FakeWindowsHost.Opened | Should -BeGreaterThan 0
            $FakeWindowsHost.Disposed | Should -Be $FakeWindowsHost.Opened
        }

        It 'disposes every base key and subkey it opens, on a <case> host' -ForEach @(
            @{ case = 'fresh'; configured = $false; bases = 36 }
            @{ case = 'configured'; configured = $true; bases = 24 }
        ) {
            $FakeWindowsHost = New-FakeHyperVHost -Configured:$configured
            $run = Invoke-Enable
            $run.ExitCode | Should -Be 0
            # One base key per registry read (12 checks, 12 read-backs) and per write; each disposed, not only its subkey.
            Should -Invoke Get-LocalMachineBase -Times $bases -Exactly
            $FakeWindowsHost.BasesOpened | Should -Be $bases
            $FakeWindowsHost.BasesDisposed | Should -Be $bases
            $FakeWindowsHost.Opened | Should -BeGreaterThan $bases
            $FakeWindowsHost.Disposed | Should -Be $FakeWindowsHost.Opened
        }
    }
}
