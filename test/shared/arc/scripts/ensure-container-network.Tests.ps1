# ensure-container-network.ps1 (step 4) as Run Command runs it, with docker, the engine service and the file system
# behind the script's own wrappers (Invoke-DockerProcess, Get-DockerServiceStatus, Find-DockerOnPath, Test-DockerFile).
BeforeAll {
    . "$PSScriptRoot/../../../support/HostScripts.ps1"
    . "$PSScriptRoot/../../../support/FakeDocker.ps1"
    . (Get-HostScriptFunctions 'ensure-container-network')

    $script:Wanted = @{ NetworkName = 'MyNet'; Driver = 'l2bridge'; Subnet = '192.168.1.0/24'; Gateway = '192.168.1.1' }
    $script:ConfigWarning = 'WARNING: Error loading config file: C:\Windows\system32\config\systemprofile\.docker\config.json: Access is denied.'

    function Invoke-Ensure {
        param([hashtable] $Overrides = @{})
        $parameters = @{}
        foreach ($key in $script:Wanted.Keys) { $parameters[$key] = $script:Wanted[$key] }
        foreach ($key in $Overrides.Keys) { $parameters[$key] = $Overrides[$key] }
        return (Invoke-HostScript -Name 'ensure-container-network' -Parameters $parameters)
    }
}

Describe 'ensure-container-network.ps1' {
    BeforeEach {
        Reset-FakeDocker
        # A test that sets $global:RealDocker runs the script's own Invoke-DockerProcess on that executable.
        $global:RealDocker = $null
        Mock Invoke-DockerProcess { Invoke-FakeDocker -Arguments $Arguments } -ParameterFilter { -not $global:RealDocker }
        Mock Get-DockerServiceStatus { 'Running' }
        Mock Find-DockerOnPath { 'C:\Program Files\Docker\docker.exe' }
        Mock Test-DockerFile { $false }
    }

    Describe 'parameters bound as Run Command binds them' {
        It 'refuses <Name> <Value> before the script runs' -ForEach @(
            @{ Name = 'NetworkName'; Value = 'net;calc' }
            @{ Name = 'NetworkName'; Value = '$(calc)' }
            @{ Name = 'NetworkName'; Value = "net`n" }
            @{ Name = 'NetworkName'; Value = '-net' }
            @{ Name = 'NetworkName'; Value = ('a' * 65) }
            @{ Name = 'Driver'; Value = 'L2BRIDGE' }
            @{ Name = 'Driver'; Value = 'transparent' }
            @{ Name = 'Driver'; Value = 'nat' }
            @{ Name = 'Subnet'; Value = '192.168.1.0/24;calc' }
            @{ Name = 'Subnet'; Value = '192.168.1.0' }
            @{ Name = 'Subnet'; Value = "192.168.1.0/24`n" }
            @{ Name = 'Gateway'; Value = '192.168.1.256' }
            @{ Name = 'Gateway'; Value = "192.168.1.1`n" }
        ) {
            $run = Invoke-Ensure -Overrides @{ $Name = $Value }
            $run.ExitCode | Should -Be 1
            $run.Result | Should -BeNullOrEmpty
            $run.BindingError | Should -Match ("parameter '{0}'" -f $Name)
            Should -Invoke Invoke-DockerProcess -Times 0 -Exactly
        }
    }

    Describe 'idempotence' {
        It 'creates the network on a fresh machine' {
            $run = Invoke-Ensure
            $run.ExitCode | Should -Be 0
            $run.Result.ok | Should -BeTrue
            $run.Result.changed | Should -BeTrue
            $run.Result.action | Should -Be 'created'
            $run.Result.network.name | Should -BeExactly 'MyNet'
            $run.Result.network.driver | Should -Be 'l2bridge'
            $run.Result.network.subnet | Should -Be '192.168.1.0/24'
            $run.Result.network.gateway | Should -Be '192.168.1.1'
            $run.Result.network.id | Should -Match '^[0-9a-f]{64}$'
            $run.Result.engineVersion | Should -Be '20.10.24'
            $run.Result.Contains('dockerWarnings') | Should -BeFalse
            Get-FakeDockerCalls 'network create' | Should -Be @('network create --driver l2bridge --subnet 192.168.1.0/24 --gateway 192.168.1.1 MyNet')
        }

        It 'changes nothing when the same network is already there' {
            $id = Add-FakeNetwork -Name 'MyNet'
            $run = Invoke-Ensure
            $run.ExitCode | Should -Be 0
            $run.Result.changed | Should -BeFalse
            $run.Result.action | Should -Be 'exists'
            $run.Result.network.id | Should -Be $id
            Get-FakeDockerCalls 'network create' | Should -BeNullOrEmpty
        }

        It 'leaves a network of that name with another <What> alone and fails permanently' -ForEach @(
            @{ What = 'subnet'; Driver = 'l2bridge'; Subnet = '192.168.2.0/24'; Gateway = '192.168.2.1' }
            @{ What = 'driver'; Driver = 'l2tunnel'; Subnet = '192.168.1.0/24'; Gateway = '192.168.1.1' }
            @{ What = 'gateway'; Driver = 'l2bridge'; Subnet = '192.168.1.0/24'; Gateway = '192.168.1.254' }
        ) {
            Add-FakeNetwork -Name 'MyNet' -Driver $Driver -Subnet $Subnet -Gateway $Gateway | Out-Null
            $run = Invoke-Ensure
            Assert-Failed $run 'NetworkConflict' $true
            $run.Result.error.message | Should -BeLike "*already exists with driver '$Driver', subnet '$Subnet', gateway '$Gateway'*"
            Get-FakeDockerCalls 'network create' | Should -BeNullOrEmpty
            Get-FakeDockerCalls 'network rm' | Should -BeNullOrEmpty
        }

        It 'compares names exactly: mynet is another network' {
            Add-FakeNetwork -Name 'mynet' -Subnet '10.0.0.0/24' -Gateway '10.0.0.1' | Out-Null
            $run = Invoke-Ensure
            $run.ExitCode | Should -Be 0
            $run.Result.action | Should -Be 'created'
        }

        It 'refuses to choose between two networks of the same name' {
            Add-FakeNetwork -Name 'MyNet' | Out-Null
            Add-FakeNetwork -Name 'MyNet' | Out-Null
            Assert-Failed (Invoke-Ensure) 'NetworkAmbiguous' $true
        }

        It 'takes a network another run created while its own create failed' {
            $global:FakeDocker.CreateError = 'Error response from daemon: network with name MyNet already exists'
            $global:FakeDocker.CreateRace = $true
            $run = Invoke-Ensure
            $run.ExitCode | Should -Be 0
            $run.Result.action | Should -Be 'exists'
            $run.Result.changed | Should -BeFalse
        }
    }

    Describe 'docker warnings on stderr (D5)' {
        It 'parses stdout alone and reports the warnings once' {
            $global:FakeDocker.Warnings = @($script:ConfigWarning)
            Add-FakeNetwork -Name 'MyNet' | Out-Null
            $run = Invoke-Ensure
            $run.ExitCode | Should -Be 0
            $run.Result.action | Should -Be 'exists'
            $run.Result.dockerWarnings | Should -Be @($script:ConfigWarning)
        }

        It 'keeps stdout and stderr of the real docker process apart' -Skip:($IsWindows) {
            # Invoke-DockerProcess itself, over a fake docker executable that warns on stderr with every answer.
            $folder = Join-Path ([System.IO.Path]::GetTempPath()) ('fake-docker-' + [guid]::NewGuid())
            New-Item -ItemType Directory -Path $folder | Out-Null
            $docker = Join-Path $folder 'docker'
            $json = '{"Id":"' + ('a' * 64) + '","Name":"MyNet","Driver":"l2bridge","IPAM":{"Config":[{"Subnet":"192.168.1.0/24","Gateway":"192.168.1.1"}]},"Containers":{}}'
            Set-Content -LiteralPath $docker -Value @(
                '#!/bin/sh'
                'echo "WARNING: Error loading config file: config.json: Access is denied." >&2'
                'case "$1 $2" in'
                '  "version --format") echo 20.10.24 ;;'
                ('  "network ls") echo "{0} MyNet" ;;' -f ('a' * 64))
                ("  ""network inspect"") echo '{0}' ;;" -f $json)
                '  *) echo "unexpected: $*" >&2; exit 1 ;;'
                'esac'
            )
            & chmod +x $docker
            $global:RealDocker = $docker
            Mock Find-DockerOnPath { $global:RealDocker }
            try {
                $run = Invoke-Ensure
            }
            finally {
                Remove-Item -LiteralPath $folder -Recurse -Force
            }
            $run.ExitCode | Should -Be 0
            $run.Result.action | Should -Be 'exists'
            $run.Result.network.id | Should -Be ('a' * 64)
            $run.Result.dockerWarnings | Should -Be @('WARNING: Error loading config file: config.json: Access is denied.')
        }
    }

    Describe 'finding docker and its engine (D6, D8)' {
        It 'uses Program Files\Docker\docker.exe when docker is not on the PATH of boot' {
            Mock Find-DockerOnPath { $null }
            Mock Test-DockerFile { $true } -ParameterFilter { $Path -match 'Docker[\\/]docker\.exe$' }
            $saved = $env:ProgramFiles
            $env:ProgramFiles = 'C:\Program Files'
            try {
                $run = Invoke-Ensure
            }
            finally {
                $env:ProgramFiles = $saved
            }
            $run.ExitCode | Should -Be 0
            $run.Result.action | Should -Be 'created'
            Should -Invoke Test-DockerFile -Times 1 -Exactly
        }

        It 'reports no docker anywhere as permanent DockerNotFound' {
            Mock Find-DockerOnPath { $null }
            Mock Get-DockerServiceStatus { $null }
            $run = Invoke-Ensure
            Assert-Failed $run 'DockerNotFound' $true
            Should -Invoke Invoke-DockerProcess -Times 0 -Exactly
        }

        It 'reports an engine service that is <Status> as retryable, not DockerNotFound' -ForEach @(
            @{ Status = 'Stopped' }
            @{ Status = 'StartPending' }
        ) {
            Mock Get-DockerServiceStatus { $Status }
            Mock Find-DockerOnPath { $null }
            $run = Invoke-Ensure
            Assert-Failed $run 'DockerUnavailable' $false
            $run.Result.error.message | Should -BeLike "*service 'docker' is $Status*"
        }

        It 'reports an engine that does not answer as retryable' {
            $global:FakeDocker.Down = $true
            $run = Invoke-Ensure
            Assert-Failed $run 'DockerUnavailable' $false
            $run.Result.error.message | Should -BeLike '*docker daemon is not running*'
        }

        It 'refuses engine <Version> permanently before listing networks' -ForEach @(
            @{ Version = '1.12.2-cs2-ws-beta' }
            @{ Version = '1.9.1' }
            @{ Version = '0.11.0' }
        ) {
            $global:FakeDocker.Version = $Version
            $run = Invoke-Ensure
            Assert-Failed $run 'DockerTooOld' $true
            $run.Result.error.message | Should -BeLike "*version $Version*"
            Get-FakeDockerCalls 'network' | Should -BeNullOrEmpty
        }

        It 'accepts engine <Version>' -ForEach @(
            @{ Version = '1.13.0' }
            @{ Version = '17.03.1-ee-3' }
            @{ Version = '24.0.7' }
        ) {
            $global:FakeDocker.Version = $Version
            $run = Invoke-Ensure
            $run.ExitCode | Should -Be 0
            $run.Result.engineVersion | Should -Be $Version
        }
    }

    Describe 'create failures (D7)' {
        It 'classifies "<Text>" as <Code>' -ForEach @(
            @{ Text = 'Error response from daemon: hnsCall failed in Win32: A network of this type can not be created because VFP is not available. (0x803b0037)'; Code = 'HyperVNotAvailable'; Permanent = $true }
            @{ Text = 'Error response from daemon: HNS failed with error : No hypervisor is present on this system.'; Code = 'HyperVNotAvailable'; Permanent = $true }
            @{ Text = 'Error response from daemon: Pool overlaps with other one on this address space'; Code = 'SubnetInUse'; Permanent = $true }
            @{ Text = 'Error response from daemon: operation is not permitted on predefined nat network'; Code = 'NetworkNameReserved'; Permanent = $true }
            @{ Text = 'Error response from daemon: could not find plugin l2bridge in v1 plugin registry: plugin not found'; Code = 'DriverNotAvailable'; Permanent = $true }
            @{ Text = 'Error response from daemon: hnsCall failed in Win32: Invalid network type (0x803b000b)'; Code = 'DriverNotAvailable'; Permanent = $true }
            @{ Text = 'Error response from daemon: hnsCall failed in Win32: The device is not ready. (0x15)'; Code = 'DockerCommandFailed'; Permanent = $false }
            @{ Text = 'Error response from daemon: failed during hnsCallRawResponse: hnsCall failed in Win32: The parameter is incorrect. (0x57)'; Code = 'DockerCommandFailed'; Permanent = $false }
        ) {
            $global:FakeDocker.CreateError = $Text
            $run = Invoke-Ensure
            Assert-Failed $run $Code $Permanent
            $run.Result.error.message | Should -BeLike ('*' + [WildcardPattern]::Escape($Text))
        }

        It 'classifies past a CLI warning printed before the daemon answer' {
            $global:FakeDocker.Warnings = @($script:ConfigWarning)
            $global:FakeDocker.CreateError = 'Error response from daemon: Pool overlaps with other one on this address space'
            Assert-Failed (Invoke-Ensure) 'SubnetInUse' $true
        }
    }

    Describe 'reserved names' {
        It 'refuses <_> in any case without asking Docker' -ForEach @('nat', 'NAT', 'none', 'None', 'default', 'Default', 'DEFAULT') {
            $run = Invoke-Ensure -Overrides @{ NetworkName = $_ }
            Assert-Failed $run 'NetworkNameReserved' $true
            $run.Result.error.message | Should -BeLike "'$_' is the name of one of Docker's predefined Windows networks*"
            Should -Invoke Invoke-DockerProcess -Times 0 -Exactly
        }

        It 'accepts a name that only starts like one: <_>' -ForEach @('nat1', 'default-net', 'nonesuch') {
            $run = Invoke-Ensure -Overrides @{ NetworkName = $_ }
            $run.ExitCode | Should -Be 0
            $run.Result.network.name | Should -BeExactly $_
        }
    }
}
