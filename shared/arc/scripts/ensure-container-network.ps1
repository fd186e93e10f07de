# sdn-attach-script: ensure-container-network v1
#
# Step 4 of "connect container endpoints to a tenant virtual network", run as LocalSystem inside the container host
# VM through Azure Arc Run Command. It makes sure a Docker network with this exact name exists with this driver,
# subnet and gateway:
#   - missing: it is created (the docker CLI sends CheckDuplicate, so engines before API 1.44 also refuse a
#     duplicate name); when the create fails, the network is looked up again, because another run may have won;
#   - present with the same driver, subnet and gateway: success, nothing changes;
#   - present with other settings: failure NetworkConflict. It is never deleted or changed, because containers may be
#     attached to it; an operator decides.
# Names are compared exactly: "docker network inspect NAME" would also accept an id prefix.
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
$ScriptVersion = 1
$Sentinel = 'SDNATTACH-RESULT'

$script:Changed = $false

function Write-ResultLine {
    param([System.Collections.IDictionary] $Fields)
    $result = [ordered]@{ script = $ScriptName; version = $ScriptVersion }
    foreach ($key in $Fields.Keys) { $result[$key] = $Fields[$key] }
    Write-Output ($Sentinel + ' ' + (ConvertTo-Json -InputObject $result -Compress -Depth 6))
}

function New-StepFailure {
    param([string] $Code, [string] $Message, [bool] $Permanent)
    $exception = [System.InvalidOperationException]::new($Message)
    $exception.Data['SdnAttachCode'] = $Code
    $exception.Data['SdnAttachPermanent'] = $Permanent
    return $exception
}

function Invoke-Docker {
    param([string[]] $Arguments)
    # A native command's stderr arrives as error records; under 'Stop', Windows PowerShell would throw on the first.
    $ErrorActionPreference = 'Continue'
    $lines = & docker @Arguments 2>&1 | ForEach-Object { [string] $_ }
    return [pscustomobject]@{ ExitCode = $LASTEXITCODE; Text = ((@($lines) -join "`n").Trim()) }
}

function Find-Network {
    $list = Invoke-Docker @('network', 'ls', '--no-trunc', '--format', '{{.ID}} {{.Name}}')
    if ($list.ExitCode -ne 0) {
        throw (New-StepFailure 'DockerCommandFailed' ('docker network ls failed: {0}' -f $list.Text) $false)
    }
    $ids = @()
    foreach ($line in ($list.Text -split "`n")) {
        $parts = @($line.Trim() -split ' ', 2)
        if ($parts.Count -eq 2 -and $parts[1] -ceq $NetworkName) { $ids += $parts[0] }
    }
    if ($ids.Count -eq 0) { return $null }
    if ($ids.Count -gt 1) {
        throw (New-StepFailure 'NetworkAmbiguous' ("{0} Docker networks are named '{1}'; an operator must remove the extra ones." -f $ids.Count, $NetworkName) $true)
    }
    $inspect = Invoke-Docker @('network', 'inspect', '--format', '{{json .}}', $ids[0])
    if ($inspect.ExitCode -ne 0) {
        throw (New-StepFailure 'DockerCommandFailed' ('docker network inspect failed: {0}' -f $inspect.Text) $false)
    }
    $network = $inspect.Text | ConvertFrom-Json
    $config = @($network.IPAM.Config) | Select-Object -First 1
    return [pscustomobject]@{
        Id = [string] $network.Id
        Name = [string] $network.Name
        Driver = [string] $network.Driver
        Subnet = [string] $config.Subnet
        Gateway = [string] $config.Gateway
    }
}

function Test-SameNetwork {
    param($Network)
    return ($Network.Driver -ceq $Driver -and $Network.Subnet -ceq $Subnet -and $Network.Gateway -ceq $Gateway)
}

try {
    if ($null -eq (Get-Command -Name 'docker' -CommandType Application -ErrorAction SilentlyContinue)) {
        throw (New-StepFailure 'DockerNotFound' 'The docker command is not installed or not on the system PATH.' $true)
    }
    $engine = Invoke-Docker @('version', '--format', '{{.Server.Version}}')
    if ($engine.ExitCode -ne 0) {
        throw (New-StepFailure 'DockerUnavailable' ('The Docker engine does not answer: {0}' -f $engine.Text) $false)
    }

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
            throw (New-StepFailure 'DockerCommandFailed' ('docker network create failed: {0}' -f $create.Text) $false)
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

    Write-ResultLine ([ordered]@{ ok = $true; changed = $script:Changed; action = $action; network = [ordered]@{ name = $network.Name; id = $network.Id; driver = $network.Driver; subnet = $network.Subnet; gateway = $network.Gateway }; engineVersion = $engine.Text })
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
