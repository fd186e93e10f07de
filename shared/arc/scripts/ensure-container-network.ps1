# sdn-attach-script: ensure-container-network v2
#
# Step 4 of "connect container endpoints to a tenant virtual network", run as LocalSystem inside the container host
# VM through Azure Arc Run Command. It makes sure a Docker network with this exact name exists with this driver,
# subnet and gateway:
#   - a name Docker on Windows keeps for its own networks (nat, none, default, in any case): failure
#     NetworkNameReserved, nothing is asked of Docker;
#   - missing: it is created (the docker CLI sends CheckDuplicate, so engines before API 1.44 also refuse a
#     duplicate name); when the create fails, the network is looked up again, because another run may have won. A
#     failure that cannot pass on a retry (no Hyper-V switch, an overlapping subnet, a reserved name, a missing
#     driver) gets its own permanent code; any other stays DockerCommandFailed, retryable;
#   - present with the same driver, subnet and gateway: success, nothing changes;
#   - present with other settings: failure NetworkConflict. It is never deleted or changed, because containers may be
#     attached to it; an operator decides.
# Docker is looked for on PATH, then in Program Files\Docker; its engine must be 1.13 or later (DockerTooOld).
# Names are compared exactly: "docker network inspect NAME" would also accept an id prefix. Docker's stderr is read
# apart from stdout; what it warns about is reported as dockerWarnings.
# Its last output line is one result line: SDNATTACH-RESULT {json}.
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [ValidatePattern('^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$(?!\n)', Options = 'None')]
    [string] $NetworkName,

    [Parameter(Mandatory = $true)]
    [ValidatePattern('^(l2bridge|l2tunnel)$(?!\n)', Options = 'None')]
    [string] $Driver,

    [Parameter(Mandatory = $true)]
    [ValidatePattern('^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])/(3[0-2]|[12]?[0-9])$(?!\n)', Options = 'None')]
    [string] $Subnet,

    [Parameter(Mandatory = $true)]
    [ValidatePattern('^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$(?!\n)', Options = 'None')]
    [string] $Gateway
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$ScriptName = 'ensure-container-network'
$ScriptVersion = 2
$Sentinel = 'SDNATTACH-RESULT'
# Docker on Windows predefines these; the daemon compares case-sensitively, HNS names do not, so neither does this.
$ReservedNetworkNames = @('nat', 'none', 'default')
# How "docker network create" fails for good, by the words on its stderr. Sources: moby's PredefinedNetworkError
# ("operation is not permitted on predefined %s network") and plugin registry ("could not find plugin %s in v1 plugin
# registry: plugin not found"); libnetwork's ipamapi.ErrPoolOverlap ("Pool overlaps with other one on this address
# space"); the HCN error codes of computenetwork.dll (Microsoft Learn, "HCN Error Code"), which the daemon reports as
# "hnsCall failed in Win32: <text> (0x...)": HCN_E_INVALID_NETWORK_TYPE 0x803b000b "Invalid network type",
# HCN_E_VFP_NOT_ALLOWED 0x803b0037 "A network of this type can not be created because VFP is not available" (the
# Hyper-V switch's filtering platform); and HCS's "No hypervisor is present on this system. (0xc0351000)" (seen in
# docker/for-win#1477). Anything else, such as "The device is not ready. (0x15)" (microsoft/SDN#277), stays retryable.
$CreateFailures = @(
    @{ Code = 'NetworkNameReserved'; Pattern = 'operation is not permitted on predefined|is a pre-defined network' },
    @{ Code = 'HyperVNotAvailable'; Pattern = 'VFP is not available|0x803b0037|No hypervisor is present|0xc0351000' },
    @{ Code = 'SubnetInUse'; Pattern = 'overlap' },
    @{ Code = 'DriverNotAvailable'; Pattern = 'could not find plugin|plugin not found|Invalid network type|0x803b000b' }
)

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

function Test-SameNetwork {
    param($Network)
    return ($Network.Driver -ceq $Driver -and $Network.Subnet -ceq $Subnet -and $Network.Gateway -ceq $Gateway)
}

function New-CreateFailure {
    param([string] $Text)
    $code = 'DockerCommandFailed'
    foreach ($failure in $CreateFailures) {
        if ($Text -match $failure.Pattern) { $code = $failure.Code; break }
    }
    $messages = @{
        NetworkNameReserved = "Docker keeps the name '{0}' for a network of its own; choose another network name: {1}"
        HyperVNotAvailable = "Docker network '{0}' cannot be created: the Hyper-V switch is not available in this VM (install the Hyper-V feature and restart the VM): {1}"
        SubnetInUse = "Docker network '{0}' cannot be created: subnet {2} overlaps a network already on this VM; remove that network or change the request: {1}"
        DriverNotAvailable = "Docker network '{0}' cannot be created: this Docker engine has no '{3}' network driver: {1}"
        DockerCommandFailed = 'docker network create failed: {1}'
    }
    return (New-StepFailure $code ($messages[$code] -f $NetworkName, $Text, $Subnet, $Driver) ($code -ne 'DockerCommandFailed'))
}

try {
    if ($ReservedNetworkNames -contains $NetworkName) {
        throw (New-StepFailure 'NetworkNameReserved' ("'{0}' is the name of one of Docker's predefined Windows networks (nat, none, default); choose another network name." -f $NetworkName) $true)
    }
    $engineVersion = Connect-DockerEngine

    $action = 'exists'
    $network = Find-Network
    if ($null -eq $network) {
        $create = Invoke-Docker @('network', 'create', '--driver', $Driver, '--subnet', $Subnet, '--gateway', $Gateway, $NetworkName)
        if ($create.ExitCode -eq 0) {
            $script:Changed = $true
            $action = 'created'
            Write-Output ("created docker network '{0}' ({1}, {2}, gateway {3})" -f $NetworkName, $Driver, $Subnet, $Gateway)
        }
        $network = Find-Network
        if ($null -eq $network) {
            throw (New-CreateFailure -Text $create.ErrorText)
        }
    }

    if (-not (Test-SameNetwork -Network $network)) {
        $found = "driver '{0}', subnet '{1}', gateway '{2}'" -f $network.Driver, $network.Subnet, $network.Gateway
        $wanted = "driver '{0}', subnet '{1}', gateway '{2}'" -f $Driver, $Subnet, $Gateway
        if ($action -eq 'created') {
            throw (New-StepFailure 'NetworkVerificationFailed' ("Docker network '{0}' was created but reads back as {1} instead of {2}; an operator needs to check it." -f $NetworkName, $found, $wanted) $true)
        }
        throw (New-StepFailure 'NetworkConflict' ("Docker network '{0}' already exists with {1}, but this attachment needs {2}. It was left untouched because containers may use it; an operator needs to remove or rename it, or change the request." -f $NetworkName, $found, $wanted) $true)
    }

    $fields = [ordered]@{ ok = $true; changed = $script:Changed; action = $action; network = [ordered]@{ name = $network.Name; id = $network.Id; driver = $network.Driver; subnet = $network.Subnet; gateway = $network.Gateway }; engineVersion = $engineVersion }
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
    Write-ResultLine ([ordered]@{ ok = $false; changed = $script:Changed; error = [ordered]@{ code = $code; message = $failure.Message; permanent = $permanent } })
    exit 1
}
