# A stand-in for the docker CLI behind the Docker scripts' Invoke-DockerProcess, for their Pester suites: dot-source
# it in BeforeAll, call Reset-FakeDocker in BeforeEach, then
#   Mock Invoke-DockerProcess { Invoke-FakeDocker -Arguments $Arguments }
# It answers only the calls the scripts make, in the daemon's words (those of test/dev/arm/pwsh/bin/docker), and
# records every call in $global:FakeDocker.Calls.
Set-StrictMode -Version 3.0

function Reset-FakeDocker {
    $global:FakeDocker = @{
        Version = '20.10.24'
        # Lines the CLI prints on stderr before anything else, whatever the command.
        Warnings = @()
        # The daemon does not answer.
        Down = $false
        # When set, "network create" fails with this stderr line.
        CreateError = $null
        # When set with CreateError, another run creates the network just before this create fails.
        CreateRace = $false
        # When set, "network rm" fails with this stderr line.
        RemoveError = $null
        # When set with RemoveError, the network is gone anyway (another run removed it).
        RemoveRace = $false
        Networks = [System.Collections.Generic.List[object]]::new()
        Calls = [System.Collections.Generic.List[string]]::new()
    }
    Add-FakeNetwork -Name 'nat' -Driver 'nat' -Subnet '172.20.16.0/20' -Gateway '172.20.16.1' | Out-Null
}

function Add-FakeNetwork {
    param([string] $Name, [string] $Driver = 'l2bridge', [string] $Subnet = '192.168.1.0/24', [string] $Gateway = '192.168.1.1', [string[]] $Containers = @())
    $id = -join ((1..64) | ForEach-Object { '{0:x}' -f (Get-Random -Maximum 16) })
    $connected = [ordered]@{}
    $index = 0
    foreach ($container in $Containers) {
        $connected[('{0:x2}' -f $index) + ('c' * 62)] = [ordered]@{ Name = $container; EndpointID = 'e' * 64 }
        $index++
    }
    $network = [ordered]@{ Id = $id; Name = $Name; Driver = $Driver; IPAM = [ordered]@{ Driver = 'windows'; Config = @([ordered]@{ Subnet = $Subnet; Gateway = $Gateway }) }; Containers = $connected }
    $global:FakeDocker.Networks.Add($network)
    return $id
}

function Invoke-FakeDocker {
    param([string[]] $Arguments)
    $state = $global:FakeDocker
    $state.Calls.Add(($Arguments -join ' '))
    $stderr = [System.Collections.Generic.List[string]]::new()
    foreach ($warning in $state.Warnings) { $stderr.Add($warning) }
    $answer = {
        param([int] $ExitCode, [string] $Output, [string] $ErrorLine)
        if ($ErrorLine) { $stderr.Add($ErrorLine) }
        return [pscustomobject]@{ ExitCode = $ExitCode; Output = $Output; ErrorText = ($stderr -join "`n") }
    }
    if ($state.Down) {
        return (& $answer 1 '' 'error during connect: This error may indicate that the docker daemon is not running.: open //./pipe/docker_engine: The system cannot find the file specified.')
    }
    $command = $Arguments -join ' '
    if ($command -eq 'version --format {{.Server.Version}}') { return (& $answer 0 $state.Version $null) }
    if ($command -eq 'network ls --no-trunc --format {{.ID}} {{.Name}}') {
        return (& $answer 0 ((@($state.Networks) | ForEach-Object { '{0} {1}' -f $_.Id, $_.Name }) -join "`n") $null)
    }
    if ($Arguments.Count -eq 5 -and $Arguments[0] -eq 'network' -and $Arguments[1] -eq 'inspect') {
        $network = @($state.Networks) | Where-Object { $_.Id -eq $Arguments[4] } | Select-Object -First 1
        if ($null -eq $network) { return (& $answer 1 '' ('Error response from daemon: network {0} not found' -f $Arguments[4])) }
        return (& $answer 0 (ConvertTo-Json -InputObject $network -Compress -Depth 6) $null)
    }
    if ($Arguments.Count -eq 9 -and $Arguments[0] -eq 'network' -and $Arguments[1] -eq 'create') {
        $name = $Arguments[8]
        if ($state.CreateError) {
            if ($state.CreateRace) { Add-FakeNetwork -Name $name -Driver $Arguments[3] -Subnet $Arguments[5] -Gateway $Arguments[7] | Out-Null }
            return (& $answer 1 '' $state.CreateError)
        }
        if (@($state.Networks | Where-Object { $_.Name -ceq $name }).Count -gt 0) {
            return (& $answer 1 '' ('Error response from daemon: network with name {0} already exists' -f $name))
        }
        $id = Add-FakeNetwork -Name $name -Driver $Arguments[3] -Subnet $Arguments[5] -Gateway $Arguments[7]
        return (& $answer 0 $id $null)
    }
    if ($Arguments.Count -eq 3 -and $Arguments[0] -eq 'network' -and $Arguments[1] -eq 'rm') {
        $network = @($state.Networks) | Where-Object { $_.Id -eq $Arguments[2] } | Select-Object -First 1
        if ($null -eq $network) { return (& $answer 1 '' ('Error response from daemon: network {0} not found' -f $Arguments[2])) }
        if ($state.RemoveError) {
            if ($state.RemoveRace) { $state.Networks.Remove($network) | Out-Null }
            return (& $answer 1 '' $state.RemoveError)
        }
        if ($network.Containers.Count -gt 0) {
            return (& $answer 1 '' ('Error response from daemon: error while removing network: network {0} id {1} has active endpoints' -f $network.Name, $network.Id))
        }
        $state.Networks.Remove($network) | Out-Null
        return (& $answer 0 $network.Id $null)
    }
    throw "fake docker: unexpected arguments $command"
}

function Get-FakeDockerCalls {
    param([string] $Prefix)
    return @($global:FakeDocker.Calls | Where-Object { $_.StartsWith($Prefix) })
}
