# sdn-attach-script: inspect-container-host v2
#
# Verification of steps 3 and 4, run as LocalSystem inside the container host VM through Azure Arc Run Command. It
# changes nothing (changed is always false) and reports:
#   - the Private Cloud HNS plugin registration as install-private-cloud-plugin.ps1 writes and checks it: each value
#     Expected, Missing or Different; which agent settings the plugin key holds; whether the plugin DLL is there; the
#     hns service. pluginInstalled is true when every value is Expected and hns is Running;
#   - with -NetworkName, the Docker network of exactly that name: present or not, and its driver, subnet, gateway and
#     connected containers. Docker is only asked when a name is given; an engine that does not answer is a failure,
#     never "absent".
# Docker's stderr is read apart from stdout, so daemon messages never reach the JSON parser; what it warns about is
# reported as dockerWarnings. Docker is looked for on PATH, then in Program Files\Docker; a stopped engine service is
# retryable, an engine before 1.13 permanent (DockerTooOld).
# Its only output line is one result line: SDNATTACH-RESULT {json}.
[CmdletBinding()]
param(
    [ValidatePattern('^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$(?!\n)', Options = 'None')]
    [string] $NetworkName
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$ScriptName = 'inspect-container-host'
$ScriptVersion = 2
$Sentinel = 'SDNATTACH-RESULT'
$ServiceName = 'hns'
$PluginKey = 'SYSTEM\CurrentControlSet\Services\hns\Parameters\Plugins\D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D'
$PluginDll = 'c:\windows\system32\PrivateCloudHNSPlugin.dll'
# Run Command keeps only the last 4,096 bytes of output: the result line lists at most this many containers.
$MaxReportedContainers = 20

$script:Changed = $false
$script:DockerPath = $null
$script:DockerWarnings = @()

# The registration of InstallPrivateCloudPlugin.ps1, as install-private-cloud-plugin.ps1 writes it; keys are under
# HKLM, Name '' is the key's (default) value.
$DesiredValues = @(
    @{ Key = 'SYSTEM\CurrentControlSet\Services\hns\Parameters\Plugins\D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D'; Name = 'Priority'; Kind = 'DWord'; Data = 1000 },
    @{ Key = 'SYSTEM\CurrentControlSet\Services\hns\Parameters\Plugins\D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D'; Name = 'NetworkRequests'; Kind = 'DWord'; Data = 31 },
    @{ Key = 'SYSTEM\CurrentControlSet\Services\hns\Parameters\Plugins\D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D'; Name = 'EndpointRequests'; Kind = 'DWord'; Data = 31 },
    @{ Key = 'SYSTEM\CurrentControlSet\Services\hns\Parameters\Plugins\D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D'; Name = 'ServiceRequests'; Kind = 'DWord'; Data = 7 },
    @{ Key = 'Software\Classes\CLSID\{D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D}'; Name = ''; Kind = 'String'; Data = 'Private Cloud HNS Plugin' },
    @{ Key = 'Software\Classes\CLSID\{D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D}\InprocServer32'; Name = ''; Kind = 'String'; Data = 'c:\windows\system32\PrivateCloudHNSPlugin.dll' },
    @{ Key = 'Software\Classes\CLSID\{D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D}\InprocServer32'; Name = 'ThreadingModel'; Kind = 'String'; Data = 'Both' }
)

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

function Get-HnsService {
    return (Get-Service -Name $ServiceName -ErrorAction SilentlyContinue)
}

function Get-LocalMachineBase {
    # The 64-bit view, whatever the bitness of the host process. The caller disposes it.
    return [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, [Microsoft.Win32.RegistryView]::Registry64)
}

function Get-RegistryValueState {
    param([string] $Key, [string] $Name, [Microsoft.Win32.RegistryValueKind] $Kind, $Data)
    # The same comparison as the writing scripts' Test-RegistryValue: type, then data as text, case-sensitive.
    $base = Get-LocalMachineBase
    try {
        $handle = $base.OpenSubKey($Key)
        if ($null -eq $handle) { return 'Missing' }
        try {
            if (-not ($handle.GetValueNames() -contains $Name)) { return 'Missing' }
            if ($handle.GetValueKind($Name) -ne $Kind) { return 'Different' }
            $current = $handle.GetValue($Name, $null, [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames)
            if ((@($current) -join "`n") -ceq (@($Data) -join "`n")) { return 'Expected' }
            return 'Different'
        }
        finally {
            $handle.Dispose()
        }
    }
    finally {
        $base.Dispose()
    }
}

function Get-AgentSettings {
    # The four values InstallPrivateCloudPlugin.ps1 writes for an agent override, as they are now.
    $settings = [ordered]@{}
    $handle = (Get-LocalMachineBase).OpenSubKey($PluginKey)
    if ($null -eq $handle) { return $settings }
    try {
        $names = $handle.GetValueNames()
        foreach ($pair in @(@('AgentIPAddress', 'ipAddress'), @('AgentPort', 'port'), @('AgentPath', 'path'), @('AgentFormat', 'format'))) {
            if ($names -contains $pair[0]) { $settings[$pair[1]] = $handle.GetValue($pair[0]) }
        }
    }
    finally {
        $handle.Close()
    }
    return $settings
}

try {
    $registryValues = @()
    foreach ($value in $DesiredValues) {
        $state = Get-RegistryValueState -Key $value.Key -Name $value.Name -Kind $value.Kind -Data $value.Data
        $displayName = if ($value.Name) { $value.Name } else { '(default)' }
        $registryValues += [ordered]@{ key = $value.Key; name = $displayName; state = $state }
    }
    $agent = Get-AgentSettings
    $agentSettings = if ($agent.Count -eq 4) { 'complete' } elseif ($agent.Count -gt 0) { 'partial' } else { 'none' }

    $found = Get-HnsService
    $service = [ordered]@{ name = $ServiceName; installed = ($null -ne $found); status = $null }
    if ($null -ne $found) { $service['status'] = [string] $found.Status }

    $installed = $service.status -eq 'Running' -and @($registryValues | Where-Object { $_.state -ne 'Expected' }).Count -eq 0
    $fields = [ordered]@{ ok = $true; changed = $false; pluginInstalled = $installed; registryValues = $registryValues; agentSettings = $agentSettings; agent = $null; pluginDllPresent = (Test-Path -LiteralPath $PluginDll); service = $service }
    if ($agentSettings -eq 'complete') { $fields['agent'] = $agent }

    if ($NetworkName) {
        $engineVersion = Connect-DockerEngine
        $network = Find-Network
        if ($null -eq $network) {
            $fields['network'] = [ordered]@{ name = $NetworkName; present = $false }
        }
        else {
            $containers = @($network.Containers)
            $fields['network'] = [ordered]@{ name = $network.Name; present = $true; id = $network.Id; driver = $network.Driver; subnet = $network.Subnet; gateway = $network.Gateway; containers = @($containers | Select-Object -First $MaxReportedContainers); containerCount = $containers.Count }
        }
        $fields['engineVersion'] = $engineVersion
        if ($script:DockerWarnings.Count -gt 0) { $fields['dockerWarnings'] = @($script:DockerWarnings) }
    }

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
