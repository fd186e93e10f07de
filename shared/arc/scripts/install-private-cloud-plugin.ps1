# sdn-attach-script: install-private-cloud-plugin v2
#
# Step 3 of "connect container endpoints to a tenant virtual network", run as LocalSystem inside the container host
# VM through Azure Arc Run Command. It makes the plugin registration of Microsoft/SDN
# Containers/InstallPrivateCloudPlugin.ps1, made safe to repeat and self-checking:
#   - the plugin DLL must be in the real System32 before anything is written (PluginDllMissing, permanent): a
#     registration of a missing DLL would only break hns;
#   - ownership of the hns Parameters key is taken, as the original does, only when the key cannot be written, and
#     then by SID (SYSTEM, or BUILTIN\Administrators outside LocalSystem), never by "$env:userdomain\$env:username",
#     which under LocalSystem names the machine account; a key still not writable is RegistryAccessDenied;
#   - the plugin key is opened, never recreated: the original's New-Item -Force deletes the key and so wipes agent
#     settings (AgentIPAddress, AgentPort, AgentPath, AgentFormat) already there; they are kept unless new ones are
#     given, and then all four must be given; AgentPath is stored without a leading slash, as the original's
#     addr:port/path means;
#   - a value is written, with an explicit type, only when the one there is not equivalent: a path in another case
#     or a REG_EXPAND_SZ that expands to the same text is left alone, DWORDs must be equal;
#   - hns is restarted only when something changed (a restart disturbs the VM's container networks);
#   - the values and the hns state are read back before success is reported;
#   - every registry handle it opens is disposed.
# Its last output line is one result line: SDNATTACH-RESULT {json}.
[CmdletBinding()]
param(
    [ValidatePattern('^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$(?!\n)', Options = 'None')]
    [string] $AgentIPAddress,

    [ValidatePattern('^[0-9]{1,5}$(?!\n)', Options = 'None')]
    [string] $AgentPort,

    [ValidatePattern('^[A-Za-z0-9_.~-][A-Za-z0-9/_.~-]{0,254}$(?!\n)', Options = 'None')]
    [string] $AgentPath,

    [ValidatePattern('^(xml|json)$(?!\n)', Options = 'None')]
    [string] $AgentFormat
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$ScriptName = 'install-private-cloud-plugin'
$ScriptVersion = 2
$Sentinel = 'SDNATTACH-RESULT'
$ServiceName = 'hns'
$HnsParametersKey = 'SYSTEM\CurrentControlSet\Services\hns\Parameters'
$PluginKey = 'SYSTEM\CurrentControlSet\Services\hns\Parameters\Plugins\D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D'
$PluginDllName = 'PrivateCloudHNSPlugin.dll'

$script:Changed = $false
$script:ValuesSet = 0

# The registration of InstallPrivateCloudPlugin.ps1; keys are under HKLM, Name '' is the key's (default) value.
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

function Get-LocalMachineBase {
    # The 64-bit view, whatever the bitness of the host process. The caller disposes it.
    return [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, [Microsoft.Win32.RegistryView]::Registry64)
}

function Get-RegistryValue {
    # The value as stored ({ Kind; Data }, environment names not expanded), or $null when the key or value is absent.
    param([string] $Key, [string] $Name)
    $base = Get-LocalMachineBase
    try {
        $handle = $base.OpenSubKey($Key)
        if ($null -eq $handle) { return $null }
        try {
            if (-not ($handle.GetValueNames() -contains $Name)) { return $null }
            return @{ Kind = [string] $handle.GetValueKind($Name); Data = $handle.GetValue($Name, $null, [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames) }
        }
        finally { $handle.Dispose() }
    }
    finally { $base.Dispose() }
}

function Test-EquivalentValue {
    # Whether what is stored means the wanted value: DWORDs equal; text equal after expanding a REG_EXPAND_SZ,
    # ignoring case unless Exact (paths, COM keywords and the class name are case-insensitive; agent values are not).
    param($Current, [string] $Kind, $Data, [bool] $Exact)
    if ($null -eq $Current) { return $false }
    if ($Kind -eq 'DWord') { return ($Current.Kind -eq 'DWord' -and [int64] $Current.Data -eq [int64] $Data) }
    if ($Current.Kind -eq 'String') { $text = [string] $Current.Data }
    elseif ($Current.Kind -eq 'ExpandString') { $text = [Environment]::ExpandEnvironmentVariables([string] $Current.Data) }
    else { return $false }
    $comparison = [System.StringComparison]::OrdinalIgnoreCase
    if ($Exact) { $comparison = [System.StringComparison]::Ordinal }
    return [string]::Equals($text, [string] $Data, $comparison)
}

function Set-PluginRegistryValue {
    param([string] $Key, [string] $Name, [string] $Kind, $Data)
    $base = Get-LocalMachineBase
    try {
        # CreateSubKey opens an existing key as it is; New-Item -Force would delete and recreate it.
        $handle = $base.CreateSubKey($Key)
        try {
            if ($Kind -eq 'DWord') { $handle.SetValue($Name, [int] $Data, [Microsoft.Win32.RegistryValueKind]::DWord) }
            else { $handle.SetValue($Name, [string] $Data, [Microsoft.Win32.RegistryValueKind]::String) }
        }
        finally { $handle.Dispose() }
    }
    finally { $base.Dispose() }
    $script:Changed = $true
    $script:ValuesSet++
    $displayName = if ($Name) { $Name } else { '(default)' }
    Write-Output ('set HKLM\{0}\{1} ({2})' -f $Key, $displayName, $Kind)
}

function Test-RegistryKeyWritable {
    # Opening for writing is refused (SecurityException) when the key's ACL denies it; nothing is changed.
    param([string] $Key)
    $base = Get-LocalMachineBase
    try {
        $handle = $base.OpenSubKey($Key, $true)
        if ($null -ne $handle) { $handle.Dispose() }
        return $true
    }
    catch {
        if (Test-AccessDenied -Failure $_.Exception) { return $false }
        throw
    }
    finally { $base.Dispose() }
}

function Get-OwnerSid {
    # SYSTEM when running as LocalSystem (Run Command does), else BUILTIN\Administrators: by SID, never by a name.
    if ([System.Security.Principal.WindowsIdentity]::GetCurrent().User.Value -eq 'S-1-5-18') { return 'S-1-5-18' }
    return 'S-1-5-32-544'
}

function Enable-TakeOwnershipPrivilege {
    # LocalSystem holds SeTakeOwnershipPrivilege, but a privilege counts only once enabled in the process token.
    if (-not ('SdnAttach.TokenPrivilege' -as [type])) {
        Add-Type -TypeDefinition @'
        using System;
        using System.Runtime.InteropServices;
        namespace SdnAttach {
            public static class TokenPrivilege {
                [StructLayout(LayoutKind.Sequential, Pack = 1)]
                struct TokenPrivileges { public int Count; public long Luid; public int Attributes; }
                [DllImport("advapi32.dll", SetLastError = true)]
                static extern bool OpenProcessToken(IntPtr process, int access, out IntPtr token);
                [DllImport("advapi32.dll", SetLastError = true, CharSet = CharSet.Unicode)]
                static extern bool LookupPrivilegeValue(string system, string name, out long luid);
                [DllImport("advapi32.dll", SetLastError = true)]
                static extern bool AdjustTokenPrivileges(IntPtr token, bool disableAll, ref TokenPrivileges state, int length, IntPtr previous, IntPtr returnLength);
                [DllImport("kernel32.dll")]
                static extern IntPtr GetCurrentProcess();
                [DllImport("kernel32.dll")]
                static extern bool CloseHandle(IntPtr handle);
                public static bool Enable(string privilege) {
                    IntPtr token;
                    if (!OpenProcessToken(GetCurrentProcess(), 0x28, out token)) return false;
                    try {
                        TokenPrivileges state = new TokenPrivileges();
                        state.Count = 1;
                        state.Attributes = 2;
                        if (!LookupPrivilegeValue(null, privilege, out state.Luid)) return false;
                        if (!AdjustTokenPrivileges(token, false, ref state, 0, IntPtr.Zero, IntPtr.Zero)) return false;
                        return Marshal.GetLastWin32Error() == 0;
                    }
                    finally { CloseHandle(token); }
                }
            }
        }
'@
    }
    # False when the token does not hold it (ERROR_NOT_ALL_ASSIGNED).
    return [SdnAttach.TokenPrivilege]::Enable('SeTakeOwnershipPrivilege')
}

function Set-RegistryKeyOwner {
    param([string] $Key, [string] $Sid)
    $base = Get-LocalMachineBase
    try {
        $handle = $base.OpenSubKey($Key, [Microsoft.Win32.RegistryKeyPermissionCheck]::ReadWriteSubTree, [System.Security.AccessControl.RegistryRights]::TakeOwnership)
        try {
            # A fresh RegistrySecurity with only the owner set writes only the owner.
            $security = [System.Security.AccessControl.RegistrySecurity]::new()
            $security.SetOwner([System.Security.Principal.SecurityIdentifier]::new($Sid))
            $handle.SetAccessControl($security)
        }
        finally { $handle.Dispose() }
    }
    finally { $base.Dispose() }
}

function Grant-RegistryKeyFullControl {
    param([string] $Key, [string] $Sid)
    $base = Get-LocalMachineBase
    try {
        $rights = [System.Security.AccessControl.RegistryRights]::ChangePermissions -bor [System.Security.AccessControl.RegistryRights]::ReadPermissions
        $handle = $base.OpenSubKey($Key, [Microsoft.Win32.RegistryKeyPermissionCheck]::ReadWriteSubTree, $rights)
        try {
            $security = $handle.GetAccessControl()
            $rule = [System.Security.AccessControl.RegistryAccessRule]::new([System.Security.Principal.SecurityIdentifier]::new($Sid), [System.Security.AccessControl.RegistryRights]::FullControl, [System.Security.AccessControl.InheritanceFlags]::ContainerInherit, [System.Security.AccessControl.PropagationFlags]::None, [System.Security.AccessControl.AccessControlType]::Allow)
            $security.AddAccessRule($rule)
            $handle.SetAccessControl($security)
        }
        finally { $handle.Dispose() }
    }
    finally { $base.Dispose() }
}

function Grant-HnsKeyAccess {
    # The hns Parameters key may be locked: take ownership as the original does, grant full control, try again.
    $sid = Get-OwnerSid
    $denied = 'HKLM\{0} cannot be written, and taking ownership of it as {1} failed: {2}'
    try {
        if (-not (Enable-TakeOwnershipPrivilege)) { throw [System.UnauthorizedAccessException]::new('SeTakeOwnershipPrivilege is not held by this process.') }
        Set-RegistryKeyOwner -Key $HnsParametersKey -Sid $sid
        $script:Changed = $true
        Grant-RegistryKeyFullControl -Key $HnsParametersKey -Sid $sid
    }
    catch {
        if (Test-AccessDenied -Failure $_.Exception) { throw (New-StepFailure 'RegistryAccessDenied' ($denied -f $HnsParametersKey, $sid, $_.Exception.Message) $true) }
        throw
    }
    Write-Output ('took ownership of HKLM\{0} as {1} and granted it full control' -f $HnsParametersKey, $sid)
    if (-not (Test-RegistryKeyWritable -Key $HnsParametersKey)) {
        throw (New-StepFailure 'RegistryAccessDenied' ('HKLM\{0} still cannot be written after taking ownership of it as {1}.' -f $HnsParametersKey, $sid) $true)
    }
}

function Test-WowProcess {
    # A 32-bit host process on 64-bit Windows: its System32 is redirected to SysWOW64.
    return ([Environment]::Is64BitOperatingSystem -and -not [Environment]::Is64BitProcess)
}

function Get-PluginDllPath {
    # HNS loads the DLL from the real System32, which a 32-bit process sees only as Sysnative.
    $folder = 'System32'
    if (Test-WowProcess) { $folder = 'Sysnative' }
    return ('{0}\{1}\{2}' -f $env:windir, $folder, $PluginDllName)
}

function Test-PluginDll {
    param([string] $Path)
    return (Test-Path -LiteralPath $Path -PathType Leaf)
}

function Get-HnsService {
    return (Get-Service -Name $ServiceName -ErrorAction SilentlyContinue)
}

function Restart-HnsService {
    Restart-Service -Name $ServiceName -Force
}

function Start-HnsService {
    Start-Service -Name $ServiceName
}

function Wait-HnsServiceStatus {
    # The status once hns is Running, or after 60 s.
    $service = Get-Service -Name $ServiceName
    try { $service.WaitForStatus('Running', [TimeSpan]::FromSeconds(60)) } catch { }
    $service.Refresh()
    return [string] $service.Status
}

function Test-AccessDenied {
    param([System.Exception] $Failure)
    for ($current = $Failure; $null -ne $current; $current = $current.InnerException) {
        if ($current -is [System.UnauthorizedAccessException] -or $current -is [System.Security.SecurityException]) { return $true }
    }
    return $false
}

try {
    $agentParameterCount = @($PSBoundParameters.Keys | Where-Object { $_ -like 'Agent*' }).Count
    if ($agentParameterCount -ne 0 -and $agentParameterCount -ne 4) {
        throw (New-StepFailure 'InvalidParameters' 'AgentIPAddress, AgentPort, AgentPath and AgentFormat must be given together or not at all.' $true)
    }
    if ($agentParameterCount -eq 4 -and ([int] $AgentPort -lt 1 -or [int] $AgentPort -gt 65535)) {
        throw (New-StepFailure 'InvalidParameters' 'AgentPort must be between 1 and 65535.' $true)
    }
    if ($null -eq (Get-HnsService)) {
        throw (New-StepFailure 'HnsNotFound' 'The hns service (Host Network Service) is not installed: this machine cannot run Windows containers.' $true)
    }
    $pluginDll = Get-PluginDllPath
    if (-not (Test-PluginDll -Path $pluginDll)) {
        throw (New-StepFailure 'PluginDllMissing' ('{0} is not there: copy the Private Cloud HNS plugin DLL onto the VM, then retry. Nothing was changed.' -f $pluginDll) $true)
    }

    $values = @($DesiredValues | ForEach-Object { $_ + @{ Exact = $false } })
    if ($agentParameterCount -eq 4) {
        $values += @(
            @{ Key = $PluginKey; Name = 'AgentIPAddress'; Kind = 'String'; Data = $AgentIPAddress; Exact = $true },
            @{ Key = $PluginKey; Name = 'AgentFormat'; Kind = 'String'; Data = $AgentFormat; Exact = $true },
            @{ Key = $PluginKey; Name = 'AgentPort'; Kind = 'DWord'; Data = [int] $AgentPort; Exact = $true },
            @{ Key = $PluginKey; Name = 'AgentPath'; Kind = 'String'; Data = $AgentPath; Exact = $true }
        )
    }
    $pending = @($values | Where-Object { -not (Test-EquivalentValue -Current (Get-RegistryValue -Key $_.Key -Name $_.Name) -Kind $_.Kind -Data $_.Data -Exact $_.Exact) })
    $hnsKeyAccess = 'notNeeded'
    if (@($pending | Where-Object { $_.Key.StartsWith($HnsParametersKey + '\', [System.StringComparison]::OrdinalIgnoreCase) }).Count -gt 0) {
        $hnsKeyAccess = 'direct'
        if (-not (Test-RegistryKeyWritable -Key $HnsParametersKey)) {
            Grant-HnsKeyAccess
            $hnsKeyAccess = 'ownershipTaken'
        }
    }
    foreach ($value in $pending) {
        Set-PluginRegistryValue -Key $value.Key -Name $value.Name -Kind $value.Kind -Data $value.Data
    }

    $serviceAction = 'none'
    if ($script:Changed) {
        Restart-HnsService
        $serviceAction = 'restarted'
        Write-Output ('restarted service {0}' -f $ServiceName)
    }
    elseif ((Get-HnsService).Status -ne 'Running') {
        Start-HnsService
        $script:Changed = $true
        $serviceAction = 'started'
        Write-Output ('started service {0}' -f $ServiceName)
    }

    $serviceStatus = Wait-HnsServiceStatus
    if ($serviceStatus -ne 'Running') {
        throw (New-StepFailure 'ServiceNotRunning' ('The hns service is {0} after the change; it must be Running.' -f $serviceStatus) $false)
    }
    foreach ($value in $values) {
        if (-not (Test-EquivalentValue -Current (Get-RegistryValue -Key $value.Key -Name $value.Name) -Kind $value.Kind -Data $value.Data -Exact $value.Exact)) {
            throw (New-StepFailure 'VerificationFailed' ('HKLM\{0}\{1} does not hold the expected {2} value after writing it.' -f $value.Key, $value.Name, $value.Kind) $false)
        }
    }
    $agentSettings = 'none'
    if ($agentParameterCount -eq 4) { $agentSettings = 'written' }
    elseif ($null -ne (Get-RegistryValue -Key $PluginKey -Name 'AgentIPAddress')) { $agentSettings = 'kept' }

    Write-ResultLine ([ordered]@{ ok = $true; changed = $script:Changed; registryValuesSet = $script:ValuesSet; serviceAction = $serviceAction; serviceStatus = 'Running'; agentSettings = $agentSettings; hnsKeyAccess = $hnsKeyAccess; pluginDll = $pluginDll })
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
    Write-ResultLine ([ordered]@{ ok = $false; changed = $script:Changed; error = [ordered]@{ code = $code; message = $failure.Message; permanent = $permanent } })
    exit 1
}
