# remove-container-network.ps1 (detach of step 4) as Run Command runs it, with docker, the engine service and the
# file system behind the script's own wrappers (Invoke-DockerProcess, Get-DockerServiceStatus, Find-DockerOnPath,
# Test-DockerFile).
BeforeAll {
    . "$PSScriptRoot/../../../support/HostScripts.ps1"
    . "$PSScriptRoot/../../../support/FakeDocker.ps1"
    . (Get-HostScriptFunctions 'remove-container-network')

    function Invoke-Remove {
        param([hashtable] $Parameters = @{ NetworkName = 'MyNet' })
        return (Invoke-HostScript -Name 'remove-container-network' -Parameters $Parameters)
    }


    function Get-FakeNetworkNames { return @($global:FakeDocker.Networks | ForEach-Object { $_.Name }) }
}

Describe 'remove-container-network.ps1' {
    BeforeEach {
        Reset-FakeDocker
        Mock Invoke-DockerProcess { Invoke-FakeDocker -Arguments $Arguments }
        Mock Get-DockerServiceStatus { 'Running' }
        Mock Find-DockerOnPath { 'C:\Program Files\Docker\docker.exe' }
        Mock Test-DockerFile { $false }
    }

    Describe 'parameters bound as Run Command binds them' {
        It 'refuses <Name> <Value> before the script runs' -ForEach @(
            @{ Name = 'NetworkName'; Value = 'net;calc' }
            @{ Name = 'NetworkName'; Value = "net`n" }
            @{ Name = 'NetworkName'; Value = '-net' }
            @{ Name = 'NetworkName'; Value = ('a' * 65) }
            @{ Name = 'Driver'; Value = 'transparent' }
            @{ Name = 'Driver'; Value = 'L2BRIDGE' }
            @{ Name = 'Subnet'; Value = '192.168.1.0/24;calc' }
            @{ Name = 'Gateway'; Value = "192.168.1.1`n" }
        ) {
            $parameters = @{ NetworkName = 'MyNet' }
            $parameters[$Name] = $Value
            $run = Invoke-Remove -Parameters $parameters
            $run.ExitCode | Should -Be 1
            $run.Result | Should -BeNullOrEmpty
            $run.BindingError | Should -Match ("parameter '{0}'" -f $Name)
            Should -Invoke Invoke-DockerProcess -Times 0 -Exactly
        }
    }

    Describe 'idempotence' {
        It 'treats an absent network as done' {
            $run = Invoke-Remove
            $run.ExitCode | Should -Be 0
            $run.Result.ok | Should -BeTrue
            $run.Result.changed | Should -BeFalse
            $run.Result.action | Should -Be 'absent'
            $run.Result.network | Should -BeNullOrEmpty
            $run.Result.engineVersion | Should -Be '20.10.24'
            Get-FakeDockerCalls 'network rm' | Should -BeNullOrEmpty
        }

        It 'removes the network by id, checks it is gone, and leaves the others' {
            $id = Add-FakeNetwork -Name 'MyNet'
            Add-FakeNetwork -Name 'MyNet2' | Out-Null
            $run = Invoke-Remove -Parameters @{ NetworkName = 'MyNet'; Driver = 'l2bridge'; Subnet = '192.168.1.0/24'; Gateway = '192.168.1.1' }
            $run.ExitCode | Should -Be 0
            $run.Result.changed | Should -BeTrue
            $run.Result.action | Should -Be 'removed'
            $run.Result.network.id | Should -Be $id
            Get-FakeDockerCalls 'network rm' | Should -Be @("network rm $id")
            Get-FakeNetworkNames | Should -Be @('nat', 'MyNet2')
            $again = Invoke-Remove
            $again.Result.action | Should -Be 'absent'
        }

        It 'refuses while containers are connected, listing them, and keeps the network' {
            Add-FakeNetwork -Name 'MyNet' -Containers @('web-1', 'web-2') | Out-Null
            $run = Invoke-Remove
            Assert-Failed $run 'ContainersStillConnected' $false
            $run.Result.containerCount | Should -Be 2
            @($run.Result.containers | ForEach-Object { $_.name }) | Should -Be @('web-1', 'web-2')
            $run.Result.network.name | Should -Be 'MyNet'
            $run.Result.error.message | Should -BeLike '*2 connected container(s): web-1, web-2*'
            Get-FakeDockerCalls 'network rm' | Should -BeNullOrEmpty
            Get-FakeNetworkNames | Should -Contain 'MyNet'
        }

        It 'treats a network another run removed meanwhile as absent' {
            Add-FakeNetwork -Name 'MyNet' | Out-Null
            $global:FakeDocker.RemoveError = 'Error response from daemon: network MyNet not found'
            $global:FakeDocker.RemoveRace = $true
            $run = Invoke-Remove
            $run.ExitCode | Should -Be 0
            $run.Result.action | Should -Be 'absent'
            $run.Result.changed | Should -BeFalse
        }

        It 'reports an HNS failure on removal as retryable' {
            Add-FakeNetwork -Name 'MyNet' | Out-Null
            $global:FakeDocker.RemoveError = 'Error response from daemon: hnsCall failed in Win32: The device is not ready. (0x15)'
            $run = Invoke-Remove
            Assert-Failed $run 'DockerCommandFailed' $false
            Get-FakeNetworkNames | Should -Contain 'MyNet'
        }

        It 'leaves a network that is not the one the attachment made: <Case>' -ForEach @(
            @{ Case = 'transparent driver'; Driver = 'transparent'; Subnet = '192.168.1.0/24'; Code = 'NetworkNotManaged' }
            @{ Case = 'other subnet'; Driver = 'l2bridge'; Subnet = '10.0.0.0/24'; Code = 'NetworkMismatch' }
        ) {
            Add-FakeNetwork -Name 'MyNet' -Driver $Driver -Subnet $Subnet | Out-Null
            $run = Invoke-Remove -Parameters @{ NetworkName = 'MyNet'; Subnet = '192.168.1.0/24'; Gateway = '192.168.1.1' }
            Assert-Failed $run $Code $true
            Get-FakeDockerCalls 'network rm' | Should -BeNullOrEmpty
        }

        It 'never removes the predefined <_> network' -ForEach @('nat', 'none', 'default') {
            $run = Invoke-Remove -Parameters @{ NetworkName = $_ }
            Assert-Failed $run 'PredefinedNetwork' $true
            Should -Invoke Invoke-DockerProcess -Times 0 -Exactly
        }
    }

    Describe 'docker and its engine' {
        It 'reports docker warnings apart from what it parses' {
            $global:FakeDocker.Warnings = @('WARNING: Error loading config file: config.json: Access is denied.')
            Add-FakeNetwork -Name 'MyNet' | Out-Null
            $run = Invoke-Remove
            $run.ExitCode | Should -Be 0
            $run.Result.action | Should -Be 'removed'
            $run.Result.dockerWarnings | Should -Be @('WARNING: Error loading config file: config.json: Access is denied.')
        }

        It 'uses Program Files\Docker\docker.exe when docker is not on the PATH of boot' {
            Mock Find-DockerOnPath { $null }
            Mock Test-DockerFile { $true } -ParameterFilter { $Path -match 'Docker[\\/]docker\.exe$' }
            $saved = $env:ProgramFiles
            $env:ProgramFiles = 'C:\Program Files'
            try {
                $run = Invoke-Remove
            }
            finally {
                $env:ProgramFiles = $saved
            }
            $run.ExitCode | Should -Be 0
            $run.Result.action | Should -Be 'absent'
        }

        It 'reports no docker anywhere as permanent DockerNotFound' {
            Mock Find-DockerOnPath { $null }
            Mock Get-DockerServiceStatus { $null }
            Assert-Failed (Invoke-Remove) 'DockerNotFound' $true
        }

        It 'reports a stopped engine service as retryable' {
            Mock Get-DockerServiceStatus { 'Stopped' }
            Assert-Failed (Invoke-Remove) 'DockerUnavailable' $false
            Should -Invoke Invoke-DockerProcess -Times 0 -Exactly
        }

        It 'refuses an engine before 1.13 permanently' {
            $global:FakeDocker.Version = '1.12.6'
            Add-FakeNetwork -Name 'MyNet' | Out-Null
            Assert-Failed (Invoke-Remove) 'DockerTooOld' $true
            Get-FakeNetworkNames | Should -Contain 'MyNet'
        }
    }
}
