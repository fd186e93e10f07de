# inspect-hyperv-host.ps1 run as Arc Run Command runs it, its Windows-only wrappers mocked onto a fake Hyper-V host.
# Only the reading wrappers are mocked: the script defines no writing ones, and any write would fail the run.
BeforeAll {
    . "$PSScriptRoot/../../../support/HostScripts.ps1"
    . (Get-HostScriptFunctions 'inspect-hyperv-host')
    . "$PSScriptRoot/../../../support/FakeHyperVHost.ps1"

    function Invoke-Inspect { Invoke-HostScript -Name 'inspect-hyperv-host' }

    function Get-States {
        param($Result)
        return @($Result.registryValues | ForEach-Object { $_.state })
    }
}

Describe 'inspect-hyperv-host' {
    BeforeEach {
        $FakeWindowsHost = New-FakeHyperVHost
        Use-FakeHyperVHost
    }

    AfterEach {
        # D10: every registry handle opened, base keys included, was disposed; and nothing was ever written.
        $FakeWindowsHost.Disposed | Should -Be $FakeWindowsHost.Opened
        $FakeWindowsHost.ValueWrites | Should -Be 0
    }

    It 'takes no parameters: one Run Command passes is refused before the script runs' {
        $run = Invoke-HostScript -Name 'inspect-hyperv-host' -Parameters @{ NetworkName = 'MyNet' }
        $run.ExitCode | Should -Be 1
        $run.BindingError | Should -Match 'NetworkName'
        $run.Lines | Should -BeNullOrEmpty
    }

    It 'reports a fresh host: every value Missing, no rule, nchostagent running, proxy not enabled' {
        $run = Invoke-Inspect
        $run.ExitCode | Should -Be 0
        $run.Lines | Should -HaveCount 1
        $run.Result.ok | Should -BeTrue
        $run.Result.changed | Should -BeFalse
        $run.Result.networkProxyEnabled | Should -BeFalse
        Get-States $run.Result | Should -Be (@('Missing') * 12)
        $run.Result.registryValues[0].name | Should -BeExactly 'ServerAddress'
        $run.Result.firewallRules | Should -HaveCount 2
        $run.Result.firewallRules[0].direction | Should -Be 'Inbound'
        $run.Result.firewallRules[0].present | Should -BeFalse
        $run.Result.firewallRules[1].count | Should -Be 0
        @($run.Result.firewallBlockRules) | Should -HaveCount 0
        $run.Result.service.name | Should -Be 'nchostagent'
        $run.Result.service.installed | Should -BeTrue
        $run.Result.service.status | Should -Be 'Running'
    }

    It 'reports a configured host as enabled, every value Expected, one rule each way' {
        $FakeWindowsHost = New-FakeHyperVHost -Configured
        $run = Invoke-Inspect
        $run.ExitCode | Should -Be 0
        $run.Result.networkProxyEnabled | Should -BeTrue
        Get-States $run.Result | Should -Be (@('Expected') * 12)
        foreach ($rule in $run.Result.firewallRules) {
            $rule.present | Should -BeTrue
            $rule.count | Should -Be 1
            $rule.toReplace | Should -Be 0
        }
    }

    It 'reports a partly configured host: a value of the wrong type Different, a gone one Missing, a missing rule' {
        $FakeWindowsHost = New-FakeHyperVHost -Configured
        $metadata = 'SYSTEM\CurrentControlSet\Services\NcHostAgent\Parameters\Plugins\Vnet\InfraServices\MetadataServer'
        $FakeWindowsHost.SetValue($metadata, 'Port', 'String', '6642')
        $FakeWindowsHost.Registry[$metadata].Remove('IP')
        $FakeWindowsHost.Rules.RemoveAt(1)
        $run = Invoke-Inspect
        $run.Result.networkProxyEnabled | Should -BeFalse
        ($run.Result.registryValues | Where-Object { $_.name -eq 'Port' }).state | Should -Be 'Different'
        ($run.Result.registryValues | Where-Object { $_.name -eq 'IP' }).state | Should -Be 'Missing'
        @(Get-States $run.Result | Where-Object { $_ -eq 'Expected' }) | Should -HaveCount 10
        $run.Result.firewallRules[1].present | Should -BeFalse
    }

    It 'counts duplicate rules netsh left, and is still enabled' {
        $FakeWindowsHost = New-FakeHyperVHost -Configured
        [void] $FakeWindowsHost.AddRule('Open Port 6642', 'Inbound', 'Allow', $true, 'TCP', @('6642'))
        $run = Invoke-Inspect
        $run.Result.networkProxyEnabled | Should -BeTrue
        $run.Result.firewallRules[0].count | Should -Be 2
    }

    It 'does not count a disabled rule of ours as present, and says enable-network-proxy would replace it' {
        $FakeWindowsHost = New-FakeHyperVHost -Configured
        $FakeWindowsHost.Rules[0].Enabled = $false
        $run = Invoke-Inspect
        $run.Result.networkProxyEnabled | Should -BeFalse
        $run.Result.firewallRules[0].present | Should -BeFalse
        $run.Result.firewallRules[0].count | Should -Be 0
        $run.Result.firewallRules[0].toReplace | Should -Be 1
        $run.Result.firewallRules[1].toReplace | Should -Be 0
    }

    It 'reports a Block rule on inbound TCP 6642, and the proxy as not enabled though all else is in place (D9)' {
        $FakeWindowsHost = New-FakeHyperVHost -Configured
        [void] $FakeWindowsHost.AddRule('Hoster: no 6000-6999', 'Inbound', 'Block', $true, 'TCP', @('6000-6999'))
        $run = Invoke-Inspect
        $run.ExitCode | Should -Be 0
        $run.Result.ok | Should -BeTrue
        $run.Result.networkProxyEnabled | Should -BeFalse
        Get-States $run.Result | Should -Be (@('Expected') * 12)
        $run.Result.firewallRules[0].present | Should -BeTrue
        @($run.Result.firewallBlockRules) | Should -HaveCount 1
        $run.Result.firewallBlockRules[0].displayName | Should -BeExactly 'Hoster: no 6000-6999'
        $run.Result.firewallBlockRules[0].protocol | Should -Be 'TCP'
        $run.Result.firewallBlockRules[0].localPort | Should -Be '6000-6999'
    }

    It 'leaves out a Block rule that <name>' -ForEach @(
        @{ name = 'is disabled'; direction = 'Inbound'; enabled = $false; protocol = 'TCP'; ports = @('6642') }
        @{ name = 'is outbound'; direction = 'Outbound'; enabled = $true; protocol = 'Any'; ports = @('Any') }
        @{ name = 'is on other ports'; direction = 'Inbound'; enabled = $true; protocol = 'TCP'; ports = @('6643-7000') }
    ) {
        $FakeWindowsHost = New-FakeHyperVHost -Configured
        [void] $FakeWindowsHost.AddRule('Hoster rule', $direction, 'Block', $enabled, $protocol, $ports)
        $run = Invoke-Inspect
        $run.Result.networkProxyEnabled | Should -BeTrue
        @($run.Result.firewallBlockRules) | Should -HaveCount 0
    }

    It 'reports a machine without nchostagent as such, not as a failure' {
        $FakeWindowsHost.ServiceStatus = $null
        $run = Invoke-Inspect
        $run.ExitCode | Should -Be 0
        $run.Result.ok | Should -BeTrue
        $run.Result.networkProxyEnabled | Should -BeFalse
        $run.Result.service.installed | Should -BeFalse
        $run.Result.service.status | Should -BeNullOrEmpty
    }

    It 'reports a stopped nchostagent, and the proxy as not enabled' {
        $FakeWindowsHost = New-FakeHyperVHost -Configured
        $FakeWindowsHost.ServiceStatus = 'Stopped'
        $run = Invoke-Inspect
        $run.Result.networkProxyEnabled | Should -BeFalse
        $run.Result.service.status | Should -Be 'Stopped'
    }

    It 'fails, retryable, when the registry refuses a read, having disposed the base key it opened' {
        $FakeWindowsHost = New-FakeHyperVHost -Configured
        $FakeWindowsHost.DenyReads = $true
        $run = Invoke-Inspect
        $run.ExitCode | Should -Be 1
        $run.Result.ok | Should -BeFalse
        $run.Result.changed | Should -BeFalse
        $run.Result.error.code | Should -BeExactly 'ScriptFailed'
        $run.Result.error.permanent | Should -BeFalse
        $run.Result.error.message | Should -Match 'not allowed'
        $FakeWindowsHost.BasesOpened | Should -Be 1
        $FakeWindowsHost.BasesDisposed | Should -Be 1
    }

    It 'disposes every base key and subkey it opens (D10)' {
        $FakeWindowsHost = New-FakeHyperVHost -Configured
        $run = Invoke-Inspect
        $run.ExitCode | Should -Be 0
        Should -Invoke Get-LocalMachineBase -Times 12 -Exactly
        $FakeWindowsHost.BasesOpened | Should -Be 12
        $FakeWindowsHost.BasesDisposed | Should -Be 12
        $FakeWindowsHost.Opened | Should -Be 24
        $FakeWindowsHost.Disposed | Should -Be 24
    }
}
