# sdn-attach-script: remove-private-cloud-plugin v2
#
# Undoes step 3 of "connect container endpoints to a tenant virtual network", run as LocalSystem inside the container
# host VM through Azure Arc Run Command. It does what Microsoft/SDN Containers/InstallPrivateCloudPlugin.ps1 -remove
# means to do, completely:
#   - the original's -remove deletes only the COM registration and still runs New-Item -Force on the hns plugin key,
#     so it leaves HNS a plugin key whose class is gone; this script deletes both keys it registers, the plugin key
#     (with any agent settings on it) and the CLSID key (with InprocServer32);
#   - an l2bridge or l2tunnel Docker network on this VM depends on the plugin, so while one exists nothing is removed
#     (ContainerNetworksStillPresent); remove those networks first;
#   - hns is restarted only when something was removed, so that it unloads the plugin;
#   - the keys and the hns state are read back before success is reported;
#   - every registry handle it opens is disposed.
# Nothing registered is success with changed false. The script takes no parameters.
# Its last output line is one result line: SDNATTACH-RESULT {json}.
[CmdletBinding()]
param()

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$ScriptName = 'remove-private-cloud-plugin'
$ScriptVersion = 2
$Sentinel = 'SDNATTACH-RESULT'
$ServiceName = 'hns'
$PluginKey = 'SYSTEM\CurrentControlSet\Services\hns\Parameters\Plugins\D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D'
$ClassKey = 'Software\Classes\CLSID\{D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D}'
$RegistrationKeys = @($PluginKey, $ClassKey)
$AgentValueNames = @('AgentIPAddress', 'AgentPort', 'AgentPath', 'AgentFormat')
$PluginDrivers = @('l2bridge', 'l2tunnel')

$script:Changed = $false
$script:DockerPath = $null

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

function Get-LocalMachineBase {
    # The 64-bit view, whatever the bitness of the host process. The caller disposes it.
    return [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, [Microsoft.Win32.RegistryView]::Registry64)
}

function Test-RegistryKey {
    param([string] $Key)
    $base = Get-LocalMachineBase
    try {
        $handle = $base.OpenSubKey($Key)
        if ($null -eq $handle) { return $false }
        $handle.Dispose()
        return $true
    }
    finally { $base.Dispose() }
}

function Test-AgentSettings {
    $base = Get-LocalMachineBase
    try {
        $handle = $base.OpenSubKey($PluginKey)
        if ($null -eq $handle) { return $false }
        try { return (@($handle.GetValueNames() | Where-Object { $AgentValueNames -contains $_ }).Count -gt 0) } finally { $handle.Dispose() }
    }
    finally { $base.Dispose() }
}

function Remove-RegistryKeyTree {
    # DeleteSubKeyTree takes the subkeys too (InprocServer32 under the CLSID key).
    param([string] $Key)
    $base = Get-LocalMachineBase
    try { $base.DeleteSubKeyTree($Key, $false) } finally { $base.Dispose() }
}

function Get-HnsService {
    return (Get-Service -Name $ServiceName -ErrorAction SilentlyContinue)
}

function Restart-HnsService {
    Restart-Service -Name $ServiceName -Force
}

function Wait-HnsServiceStatus {
    # The status once hns is Running, or after 60 s.
    $service = Get-Service -Name $ServiceName
    try { $service.WaitForStatus('Running', [TimeSpan]::FromSeconds(60)) } catch { }
    $service.Refresh()
    return [string] $service.Status
}

function Get-DockerPath {
    $docker = Get-Command -Name 'docker' -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($null -eq $docker) { return $null }
    return $docker.Path
}

function Test-AccessDenied {
    param([System.Exception] $Failure)
    for ($current = $Failure; $null -ne $current; $current = $current.InnerException) {
        if ($current -is [System.UnauthorizedAccessException] -or $current -is [System.Security.SecurityException]) { return $true }
    }
    return $false
}

function ConvertTo-ArgumentText {
    param([string] $Value)
    # Windows command-line quoting: backslashes before a quote are doubled, quotes escaped, the whole value quoted.
    $escaped = ($Value -replace '(\\*)"', '$1$1\"') -replace '(\\+)$', '$1$1'
    return '"' + $escaped + '"'
}

function Invoke-DockerCli {
    param([string[]] $Arguments)
    # A child process with both streams redirected: stdout (parsed) and stderr (daemon messages) stay apart.
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

function Assert-NoPluginNetworks {
    # Without Docker there is no Docker network to break.
    $script:DockerPath = Get-DockerPath
    if ($null -eq $script:DockerPath) { return }
    $list = Invoke-DockerCli @('network', 'ls', '--no-trunc', '--format', '{{.Driver}} {{.Name}}')
    if ($list.ExitCode -ne 0) {
        throw (New-StepFailure 'DockerUnavailable' ('The Docker engine does not answer, so the networks that use the plugin cannot be listed: {0}' -f $list.ErrorText) $false)
    }
    $networks = @()
    foreach ($line in ($list.Output -split "`r?`n")) {
        $parts = @($line.Trim() -split ' ', 2)
        if ($parts.Count -eq 2 -and $PluginDrivers -ccontains $parts[0]) { $networks += [ordered]@{ name = $parts[1]; driver = $parts[0] } }
    }
    if ($networks.Count -gt 0) {
        $names = @($networks | ForEach-Object { $_.name } | Select-Object -First 5) -join ', '
        if ($networks.Count -gt 5) { $names += (', and {0} more' -f ($networks.Count - 5)) }
        $message = "{0} l2bridge or l2tunnel Docker network(s) still use the plugin: {1}. Nothing was removed; remove those networks first, then retry." -f $networks.Count, $names
        throw (New-StepFailure 'ContainerNetworksStillPresent' $message $false ([ordered]@{ networks = @($networks | Select-Object -First 20); networkCount = $networks.Count }))
    }
}

try {
    $present = @($RegistrationKeys | Where-Object { Test-RegistryKey -Key $_ })
    $agentSettingsRemoved = $false
    $serviceAction = 'none'
    if ($present.Count -gt 0) {
        Assert-NoPluginNetworks
        $agentSettingsRemoved = Test-AgentSettings
        foreach ($key in $present) {
            Remove-RegistryKeyTree -Key $key
            $script:Changed = $true
            Write-Output ('removed HKLM\{0}' -f $key)
        }
    }

    $service = Get-HnsService
    $serviceStatus = $null
    if ($null -ne $service) { $serviceStatus = [string] $service.Status }
    if ($script:Changed -and $null -ne $service) {
        Restart-HnsService
        $serviceAction = 'restarted'
        Write-Output ('restarted service {0}' -f $ServiceName)
        $serviceStatus = Wait-HnsServiceStatus
        if ($serviceStatus -ne 'Running') {
            throw (New-StepFailure 'ServiceNotRunning' ('The hns service is {0} after the change; it must be Running.' -f $serviceStatus) $false)
        }
    }
    foreach ($key in $RegistrationKeys) {
        if (Test-RegistryKey -Key $key) {
            throw (New-StepFailure 'VerificationFailed' ('HKLM\{0} is still there after deleting it.' -f $key) $false)
        }
    }

    Write-ResultLine ([ordered]@{ ok = $true; changed = $script:Changed; removedKeys = $present; agentSettingsRemoved = $agentSettingsRemoved; serviceAction = $serviceAction; serviceStatus = $serviceStatus })
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
    elseif (Test-AccessDenied -Failure $failure) {
        $code = 'RegistryAccessDenied'
        $permanent = $true
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
