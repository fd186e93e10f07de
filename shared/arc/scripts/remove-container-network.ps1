# sdn-attach-script: remove-container-network v2
#
# Undoes step 4 of "connect container endpoints to a tenant virtual network", run as LocalSystem inside the container
# host VM through Azure Arc Run Command. It removes the Docker network with this exact name, and only one this product
# could have created:
#   - absent: success, nothing changes (already gone is what a detach wants);
#   - a predefined network (nat, none, default), a driver other than l2bridge or l2tunnel, or a driver, subnet or
#     gateway other than the ones given: failure, the network is left alone;
#   - containers still connected: failure ContainersStillConnected naming them, the network is left alone; a person
#     must disconnect or stop them, after which a retry can succeed;
#   - otherwise "docker network rm" by id, then a check that the id is gone.
# Names are compared exactly: "docker network inspect NAME" would also accept an id prefix, and the ls name filter
# matches parts of names. Docker's stderr is read apart from stdout, so daemon messages never reach the JSON parser;
# what it warns about is reported as dockerWarnings. Docker is looked for on PATH, then in Program Files\Docker; a
# stopped engine service is retryable, an engine before 1.13 permanent (DockerTooOld).
# Its last output line is one result line: SDNATTACH-RESULT {json}.
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [ValidatePattern('^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$(?!\n)', Options = 'None')]
    [string] $NetworkName,

    [ValidatePattern('^(l2bridge|l2tunnel)$(?!\n)', Options = 'None')]
    [string] $Driver,

    [ValidatePattern('^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])/(3[0-2]|[12]?[0-9])$(?!\n)', Options = 'None')]
    [string] $Subnet,

    [ValidatePattern('^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$(?!\n)', Options = 'None')]
    [string] $Gateway
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$ScriptName = 'remove-container-network'
$ScriptVersion = 2
$Sentinel = 'SDNATTACH-RESULT'
# Docker on Windows refuses to create or remove these (case-sensitive, as the daemon compares them).
$PredefinedNetworks = @('nat', 'none', 'default')
$ManagedDrivers = @('l2bridge', 'l2tunnel')
# Run Command keeps only the last 4,096 bytes of output: the result line lists at most this many containers.
$MaxReportedContainers = 20

$script:Changed = $false
$script:DockerPath = $null
$script:DockerWarnings = @()

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

function ConvertTo-ArgumentText {
    param([string] $Value)
    # Windows command-line quoting: backslashes before a quote are doubled, quotes escaped, the whole value quoted.
    $escaped = ($Value -replace '(\\*)"', '$1$1\"') -replace '(\\+)$', '$1$1'
    return '"' + $escaped + '"'
}

function Invoke-DockerProcess {
    param([string[]] $Arguments)
    # A child process with both streams redirected: stdout (parsed) and stderr (daemon messages, CLI warnings) stay
    # apart, so a warning never reaches the JSON parser.
    $start = [System.Diagnostics.ProcessStartInfo]::new()
    $start.FileName = $script:DockerPath
    $start.Arguments = (@($Arguments | ForEach-Object { ConvertTo-ArgumentText $_ }) -join ' ')
    $start.UseShellExecute = $false
    $start.CreateNoWindow = $true
    $start.RedirectStandardOutput = $true
    $start.RedirectStandardError = $true
    $start.StandardOutputEncoding = [System.Text.Encoding]::UTF8
    $start.StandardErrorEncoding = [System.Text.Encoding]::UTF8
    $process = [System.Diagnostics.Process]::Start($start)
    try {
        # Both pipes are drained at once: reading one to its end while the other fills up would hang.
        $stderr = $process.StandardError.ReadToEndAsync()
        $stdout = $process.StandardOutput.ReadToEnd()
        $process.WaitForExit()
        return [pscustomobject]@{ ExitCode = $process.ExitCode; Output = $stdout.Trim(); ErrorText = $stderr.Result.Trim() }
    }
    finally {
        $process.Dispose()
    }
}

function Invoke-Docker {
    param([string[]] $Arguments)
    # The docker CLI: exit code, stdout and stderr. What a successful command printed on stderr, and any WARNING line,
    # is kept for the result line (dockerWarnings); the last 4,096 bytes of output are all Run Command keeps.
    $run = Invoke-DockerProcess -Arguments $Arguments
    foreach ($line in ([string] $run.ErrorText -split "`r?`n")) {
        $text = $line.Trim()
        if (-not $text -or ($run.ExitCode -ne 0 -and $text -notmatch '^WARNING')) { continue }
        if ($text.Length -gt 300) { $text = $text.Substring(0, 300) }
        if ($script:DockerWarnings.Count -lt 5 -and $script:DockerWarnings -notcontains $text) { $script:DockerWarnings += $text }
    }
    return $run
}

function Find-DockerOnPath {
    $command = Get-Command -Name 'docker' -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($null -eq $command) { return $null }
    return [string] $command.Path
}

function Test-DockerFile {
    param([string] $Path)
    return [System.IO.File]::Exists($Path)
}

function Get-DockerServiceStatus {
    # The engine's Windows service, named 'docker' by dockerd --register-service; $null when there is none.
    $service = Get-Service -Name 'docker' -ErrorAction SilentlyContinue
    if ($null -eq $service) { return $null }
    return [string] $service.Status
}

function Resolve-DockerPath {
    # Run Command inherits the PATH the Arc agent started with at boot: a Docker installed since then is not on it, but
    # its installers put docker.exe in Program Files\Docker.
    $onPath = Find-DockerOnPath
    if ($onPath) { return $onPath }
    if ($env:ProgramFiles) {
        $installed = [System.IO.Path]::Combine($env:ProgramFiles, 'Docker', 'docker.exe')
        if (Test-DockerFile -Path $installed) { return $installed }
    }
    return $null
}

function Connect-DockerEngine {
    # Returns the engine's version. A service that is installed but not running (still starting, or waiting for a
    # restart after an install) is worth a retry; no docker command at all is not.
    $status = Get-DockerServiceStatus
    if ($null -ne $status -and $status -ne 'Running') {
        throw (New-StepFailure 'DockerUnavailable' ("The Docker engine service 'docker' is {0}; it may still be starting, or need a start." -f $status) $false)
    }
    $script:DockerPath = Resolve-DockerPath
    if ($null -eq $script:DockerPath) {
        throw (New-StepFailure 'DockerNotFound' 'The docker command is neither on the system PATH nor in Program Files\Docker.' $true)
    }
    $engine = Invoke-Docker @('version', '--format', '{{.Server.Version}}')
    if ($engine.ExitCode -ne 0) {
        throw (New-StepFailure 'DockerUnavailable' ('The Docker engine does not answer: {0}' -f $engine.ErrorText) $false)
    }
    # "docker network ls --format" came with Docker 1.13; an engine whose version does not parse is given the benefit.
    if ($engine.Output -match '^(\d+)\.(\d+)' -and [version]::new([int] $Matches[1], [int] $Matches[2]) -lt [version]::new(1, 13)) {
        throw (New-StepFailure 'DockerTooOld' ("The Docker engine on this VM is version {0}; these steps need Docker 1.13 or later. Upgrade Docker, then retry." -f $engine.Output) $true)
    }
    return $engine.Output
}

function Get-NetworkIds {
    param([string] $Name)
    $list = Invoke-Docker @('network', 'ls', '--no-trunc', '--format', '{{.ID}} {{.Name}}')
    if ($list.ExitCode -ne 0) {
        throw (New-StepFailure 'DockerCommandFailed' ('docker network ls failed: {0}' -f $list.ErrorText) $false)
    }
    $ids = @()
    foreach ($line in ($list.Output -split "`r?`n")) {
        $parts = @($line.Trim() -split ' ', 2)
        if ($parts.Count -eq 2 -and $parts[1] -ceq $Name) { $ids += $parts[0] }
    }
    return , $ids
}

function Find-Network {
    $ids = Get-NetworkIds -Name $NetworkName
    if ($ids.Count -eq 0) { return $null }
    if ($ids.Count -gt 1) {
        throw (New-StepFailure 'NetworkAmbiguous' ("{0} Docker networks are named '{1}'; an operator must remove the extra ones." -f $ids.Count, $NetworkName) $true)
    }
    $inspect = Invoke-Docker @('network', 'inspect', '--format', '{{json .}}', $ids[0])
    if ($inspect.ExitCode -ne 0) {
        # Removed between the list and the inspect: as good as absent.
        if ((Get-NetworkIds -Name $NetworkName).Count -eq 0) { return $null }
        throw (New-StepFailure 'DockerCommandFailed' ('docker network inspect failed: {0}' -f $inspect.ErrorText) $false)
    }
    $network = $inspect.Output | ConvertFrom-Json
    $config = @($network.IPAM.Config) | Select-Object -First 1
    $containers = @()
    if ($null -ne $network.Containers) {
        foreach ($entry in $network.Containers.PSObject.Properties) {
            $containers += [ordered]@{ id = $entry.Name.Substring(0, [Math]::Min(12, $entry.Name.Length)); name = [string] $entry.Value.Name }
        }
    }
    return [pscustomobject]@{
        Id = [string] $network.Id
        Name = [string] $network.Name
        Driver = [string] $network.Driver
        Subnet = [string] $config.Subnet
        Gateway = [string] $config.Gateway
        Containers = $containers
    }
}

function Get-NetworkReport {
    param($Network)
    return [ordered]@{ name = $Network.Name; id = $Network.Id; driver = $Network.Driver; subnet = $Network.Subnet; gateway = $Network.Gateway }
}

function New-ContainersFailure {
    param($Network)
    $all = @($Network.Containers)
    $names = @($all | ForEach-Object { $_.name } | Select-Object -First 5) -join ', '
    if ($all.Count -gt 5) { $names += (', and {0} more' -f ($all.Count - 5)) }
    $message = "Docker network '{0}' still has {1} connected container(s): {2}. It was left in place; disconnect or stop them, then retry." -f $NetworkName, $all.Count, $names
    $details = [ordered]@{ network = (Get-NetworkReport -Network $Network); containers = @($all | Select-Object -First $MaxReportedContainers); containerCount = $all.Count }
    return (New-StepFailure 'ContainersStillConnected' $message $false $details)
}

try {
    if ($PredefinedNetworks -ccontains $NetworkName) {
        throw (New-StepFailure 'PredefinedNetwork' ("'{0}' is one of Docker's predefined networks; it is never removed." -f $NetworkName) $true)
    }
    $engineVersion = Connect-DockerEngine

    $network = Find-Network
    if ($null -eq $network) {
        $fields = [ordered]@{ ok = $true; changed = $false; action = 'absent'; network = $null; engineVersion = $engineVersion }
        if ($script:DockerWarnings.Count -gt 0) { $fields['dockerWarnings'] = @($script:DockerWarnings) }
        Write-ResultLine $fields
        exit 0
    }

    if ($ManagedDrivers -cnotcontains $network.Driver) {
        throw (New-StepFailure 'NetworkNotManaged' ("Docker network '{0}' has driver '{1}'; this product only creates l2bridge and l2tunnel networks, so it leaves this one alone." -f $NetworkName, $network.Driver) $true (@{ network = (Get-NetworkReport -Network $network) }))
    }
    $expected = [ordered]@{ driver = $Driver; subnet = $Subnet; gateway = $Gateway }
    $actual = [ordered]@{ driver = $network.Driver; subnet = $network.Subnet; gateway = $network.Gateway }
    $differences = @($expected.Keys | Where-Object { $expected[$_] -and $expected[$_] -cne $actual[$_] } | ForEach-Object { "{0} '{1}' (expected '{2}')" -f $_, $actual[$_], $expected[$_] })
    if ($differences.Count -gt 0) {
        throw (New-StepFailure 'NetworkMismatch' ("Docker network '{0}' has {1}: it is not the network this attachment created, so it was left in place." -f $NetworkName, ($differences -join ', ')) $true (@{ network = (Get-NetworkReport -Network $network) }))
    }
    if (@($network.Containers).Count -gt 0) {
        throw (New-ContainersFailure -Network $network)
    }

    $action = 'removed'
    $remove = Invoke-Docker @('network', 'rm', $network.Id)
    if ($remove.ExitCode -ne 0) {
        # Someone else may have removed it, or a container connected since the inspect: look again.
        $now = Find-Network
        if ($null -eq $now) {
            $action = 'absent'
        }
        elseif (@($now.Containers).Count -gt 0) {
            throw (New-ContainersFailure -Network $now)
        }
        else {
            throw (New-StepFailure 'DockerCommandFailed' ('docker network rm failed: {0}' -f $remove.ErrorText) $false)
        }
    }
    else {
        $script:Changed = $true
        Write-Output ("removed docker network '{0}' ({1})" -f $NetworkName, $network.Id)
    }

    if ((Get-NetworkIds -Name $NetworkName) -ccontains $network.Id) {
        throw (New-StepFailure 'NetworkVerificationFailed' ("Docker network '{0}' ({1}) is still listed after its removal." -f $NetworkName, $network.Id) $false)
    }

    $fields = [ordered]@{ ok = $true; changed = $script:Changed; action = $action; network = (Get-NetworkReport -Network $network); engineVersion = $engineVersion }
    if ($script:DockerWarnings.Count -gt 0) { $fields['dockerWarnings'] = @($script:DockerWarnings) }
    Write-ResultLine $fields
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
    $fields = [ordered]@{ ok = $false; changed = $script:Changed; error = [ordered]@{ code = $code; message = $failure.Message; permanent = $permanent } }
    if ($failure.Data.Contains('SdnAttachDetails')) {
        $details = $failure.Data['SdnAttachDetails']
        foreach ($key in $details.Keys) { $fields[$key] = $details[$key] }
    }
    Write-ResultLine $fields
    exit 1
}
