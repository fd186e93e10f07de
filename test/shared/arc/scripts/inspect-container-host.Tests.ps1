# inspect-container-host.ps1 (verification of steps 3 and 4) as Run Command runs it: the registry, hns and the plugin
# DLL behind the script's own readers (Get-RegistryValueState, Get-AgentSettings, Get-HnsService, Test-Path), docker
# behind its Docker wrappers (Invoke-DockerProcess, Get-DockerServiceStatus, Find-DockerOnPath, Test-DockerFile).
BeforeAll {
    . "$PSScriptRoot/../../../support/HostScripts.ps1"
    . "$PSScriptRoot/../../../support/FakeDocker.ps1"
    . (Get-HostScriptFunctions 'inspect-container-host')

    function Invoke-Inspect {
        param([hashtable] $Parameters = @{})
        return (Invoke-HostScript -Name 'inspect-container-host' -Parameters $Parameters)
    }
}

Describe 'inspect-container-host.ps1' {
    BeforeEach {
        Reset-FakeDocker
        $global:InspectState = @{ Registry = 'Missing'; Agent = [ordered]@{}; Hns = 'Running'; Dll = $true }
        Mock Invoke-DockerProcess { Invoke-FakeDocker -Arguments $Arguments }
        Mock Get-DockerServiceStatus { 'Running' }
        Mock Find-DockerOnPath { 'C:\Program Files\Docker\docker.exe' }
        Mock Test-DockerFile { $false }
        Mock Get-RegistryValueState { $global:InspectState.Registry }
        Mock Get-AgentSettings { $global:InspectState.Agent }
        Mock Get-HnsService { if ($global:InspectState.Hns) { [pscustomobject]@{ Status = $global:InspectState.Hns } } }
        Mock Test-Path { $global:InspectState.Dll } -ParameterFilter { $LiteralPath -like '*PrivateCloudHNSPlugin.dll' }
    }

    Describe 'parameters bound as Run Command binds them' {
        It 'refuses NetworkName <_> before the script runs' -ForEach @('net;calc', '$(calc)', "net`n", '-net', ('a' * 65)) {
            $run = Invoke-Inspect -Parameters @{ NetworkName = $_ }
            $run.ExitCode | Should -Be 1
            $run.Result | Should -BeNullOrEmpty
            $run.BindingError | Should -Match "parameter 'NetworkName'"
            Should -Invoke Invoke-DockerProcess -Times 0 -Exactly
        }
    }

    Describe 'the plugin, without a network name' {
        It 'reports a VM before step 3 and never asks Docker' {
            Mock Get-DockerServiceStatus { 'Stopped' }
            $run = Invoke-Inspect
            $run.ExitCode | Should -Be 0
            $run.Result.ok | Should -BeTrue
            $run.Result.changed | Should -BeFalse
            $run.Result.pluginInstalled | Should -BeFalse
            @($run.Result.registryValues | Where-Object { $_.state -ne 'Missing' }) | Should -BeNullOrEmpty
            $run.Result.registryValues.Count | Should -Be 7
            $run.Result.agentSettings | Should -Be 'none'
            $run.Result.service.status | Should -Be 'Running'
            $run.Result.Contains('network') | Should -BeFalse
            Should -Invoke Invoke-DockerProcess -Times 0 -Exactly
        }

        It 'reports an installed plugin with complete agent settings' {
            $global:InspectState.Registry = 'Expected'
            $global:InspectState.Agent = [ordered]@{ ipAddress = '10.0.0.1'; port = 6642; path = '/x'; format = 'json' }
            $run = Invoke-Inspect
            $run.ExitCode | Should -Be 0
            $run.Result.pluginInstalled | Should -BeTrue
            $run.Result.agentSettings | Should -Be 'complete'
            $run.Result.agent.port | Should -Be 6642
            $run.Result.pluginDllPresent | Should -BeTrue
        }

        It 'does not report the plugin installed while hns is <_>' -ForEach @('Stopped', $null) {
            $global:InspectState.Registry = 'Expected'
            $global:InspectState.Hns = $_
            $run = Invoke-Inspect
            $run.ExitCode | Should -Be 0
            $run.Result.pluginInstalled | Should -BeFalse
            $run.Result.service.installed | Should -Be ($null -ne $_)
        }
    }

    Describe 'the network, with a name' {
        It 'reports an absent network' {
            $run = Invoke-Inspect -Parameters @{ NetworkName = 'MyNet' }
            $run.ExitCode | Should -Be 0
            $run.Result.network.name | Should -Be 'MyNet'
            $run.Result.network.present | Should -BeFalse
            $run.Result.engineVersion | Should -Be '20.10.24'
            $run.Result.Contains('dockerWarnings') | Should -BeFalse
        }

        It 'reports a network with its settings and connected containers' {
            $id = Add-FakeNetwork -Name 'MyNet' -Containers @('web-1')
            $run = Invoke-Inspect -Parameters @{ NetworkName = 'MyNet' }
            $run.ExitCode | Should -Be 0
            $run.Result.network.present | Should -BeTrue
            $run.Result.network.id | Should -Be $id
            $run.Result.network.driver | Should -Be 'l2bridge'
            $run.Result.network.subnet | Should -Be '192.168.1.0/24'
            $run.Result.network.gateway | Should -Be '192.168.1.1'
            $run.Result.network.containerCount | Should -Be 1
            $run.Result.network.containers[0].name | Should -Be 'web-1'
        }

        It 'reports docker warnings apart from what it parses' {
            $global:FakeDocker.Warnings = @('WARNING: Error loading config file: config.json: Access is denied.')
            Add-FakeNetwork -Name 'MyNet' | Out-Null
            $run = Invoke-Inspect -Parameters @{ NetworkName = 'MyNet' }
            $run.ExitCode | Should -Be 0
            $run.Result.network.present | Should -BeTrue
            $run.Result.dockerWarnings | Should -Be @('WARNING: Error loading config file: config.json: Access is denied.')
        }

        It 'uses Program Files\Docker\docker.exe when docker is not on the PATH of boot' {
            Mock Find-DockerOnPath { $null }
            Mock Test-DockerFile { $true } -ParameterFilter { $Path -match 'Docker[\\/]docker\.exe$' }
            $saved = $env:ProgramFiles
            $env:ProgramFiles = 'C:\Program Files'
            try {
                $run = Invoke-Inspect -Parameters @{ NetworkName = 'MyNet' }
            }
            finally {
                $env:ProgramFiles = $saved
            }
            $run.ExitCode | Should -Be 0
            $run.Result.network.present | Should -BeFalse
        }

        It 'never reports "absent" when the engine service is stopped' {
            Mock Get-DockerServiceStatus { 'Stopped' }
            Assert-Failed (Invoke-Inspect -Parameters @{ NetworkName = 'MyNet' }) 'DockerUnavailable' $false
        }

        It 'never reports "absent" when the engine does not answer' {
            $global:FakeDocker.Down = $true
            Assert-Failed (Invoke-Inspect -Parameters @{ NetworkName = 'MyNet' }) 'DockerUnavailable' $false
        }

        It 'reports no docker anywhere as permanent DockerNotFound' {
            Mock Find-DockerOnPath { $null }
            Mock Get-DockerServiceStatus { $null }
            Assert-Failed (Invoke-Inspect -Parameters @{ NetworkName = 'MyNet' }) 'DockerNotFound' $true
        }

        It 'refuses an engine before 1.13 permanently' {
            $global:FakeDocker.Version = '1.12.2-cs2-ws-beta'
            Assert-Failed (Invoke-Inspect -Parameters @{ NetworkName = 'MyNet' }) 'DockerTooOld' $true
        }
    }
}
