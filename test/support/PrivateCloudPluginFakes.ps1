# An in-memory HKLM for the plugin scripts' suites, dot-sourced in BeforeAll. A suite mocks the script's
# Get-LocalMachineBase with New-FakeBase: every handle it hands out (the base key and each subkey) is counted when
# opened and when disposed, so a suite can tell that a run left no handle open. Keys listed in Locked (and their
# subkeys) refuse writes the way .NET does: OpenSubKey(name, $true) throws SecurityException, CreateSubKey,
# SetValue and DeleteSubKeyTree throw UnauthorizedAccessException.
Set-StrictMode -Version 3.0

function New-FakeRegistry {
    return @{ Keys = @{}; Locked = [System.Collections.Generic.List[string]]::new(); Opened = 0; Disposed = 0; Writes = 0 }
}

function Add-FakeKey {
    param([hashtable] $Registry, [string] $Path)
    $parts = $Path.Split('\')
    for ($length = 1; $length -le $parts.Count; $length++) {
        $partial = $parts[0..($length - 1)] -join '\'
        if (-not $Registry.Keys.ContainsKey($partial.ToLowerInvariant())) {
            $Registry.Keys[$partial.ToLowerInvariant()] = @{ Path = $partial; Values = [ordered]@{} }
        }
    }
}

function Set-FakeValue {
    param([hashtable] $Registry, [string] $Key, [string] $Name, [string] $Kind, $Data)
    Add-FakeKey -Registry $Registry -Path $Key
    $Registry.Keys[$Key.ToLowerInvariant()].Values[$Name.ToLowerInvariant()] = @{ Name = $Name; Kind = $Kind; Data = $Data }
}

function Get-FakeValue {
    # @{ Kind; Data } or $null.
    param([hashtable] $Registry, [string] $Key, [string] $Name)
    $entry = $Registry.Keys[$Key.ToLowerInvariant()]
    if ($null -eq $entry -or -not $entry.Values.Contains($Name.ToLowerInvariant())) { return $null }
    $value = $entry.Values[$Name.ToLowerInvariant()]
    return @{ Kind = $value.Kind; Data = $value.Data }
}

function Test-FakeLocked {
    param([hashtable] $Registry, [string] $Path)
    $lower = $Path.ToLowerInvariant()
    foreach ($locked in $Registry.Locked) {
        $prefix = $locked.ToLowerInvariant()
        if ($lower -eq $prefix -or $lower.StartsWith($prefix + '\')) { return $true }
    }
    return $false
}

function New-FakeBase {
    param([hashtable] $Registry)
    return (New-FakeHandle -Registry $Registry -Path '')
}

function New-FakeHandle {
    param([hashtable] $Registry, [string] $Path)
    $Registry.Opened++
    $handle = [pscustomobject]@{ Registry = $Registry; Path = $Path }
    $handle | Add-Member -MemberType ScriptMethod -Name Full -Value {
        param([string] $Sub)
        if ($this.Path) { return ($this.Path + '\' + $Sub) }
        return $Sub
    }
    $handle | Add-Member -MemberType ScriptMethod -Name OpenSubKey -Value {
        param([string] $Sub, $Writable)
        $full = $this.Full($Sub)
        if (-not $this.Registry.Keys.ContainsKey($full.ToLowerInvariant())) { return $null }
        if ($Writable -eq $true -and (Test-FakeLocked -Registry $this.Registry -Path $full)) {
            throw [System.Security.SecurityException]::new('Requested registry access is not allowed.')
        }
        return (New-FakeHandle -Registry $this.Registry -Path $this.Registry.Keys[$full.ToLowerInvariant()].Path)
    }
    $handle | Add-Member -MemberType ScriptMethod -Name CreateSubKey -Value {
        param([string] $Sub)
        $full = $this.Full($Sub)
        if (Test-FakeLocked -Registry $this.Registry -Path $full) { throw [System.UnauthorizedAccessException]::new("Access to the registry key 'HKEY_LOCAL_MACHINE\$full' is denied.") }
        Add-FakeKey -Registry $this.Registry -Path $full
        return (New-FakeHandle -Registry $this.Registry -Path $this.Registry.Keys[$full.ToLowerInvariant()].Path)
    }
    $handle | Add-Member -MemberType ScriptMethod -Name GetValueNames -Value {
        $entry = $this.Registry.Keys[$this.Path.ToLowerInvariant()]
        if ($null -eq $entry) { return [string[]] @() }
        return [string[]] @($entry.Values.Values | ForEach-Object { $_.Name })
    }
    $handle | Add-Member -MemberType ScriptMethod -Name GetValueKind -Value {
        param([string] $Name)
        return [Microsoft.Win32.RegistryValueKind] $this.Registry.Keys[$this.Path.ToLowerInvariant()].Values[$Name.ToLowerInvariant()].Kind
    }
    $handle | Add-Member -MemberType ScriptMethod -Name GetValue -Value {
        param([string] $Name, $Default, $Options)
        $value = Get-FakeValue -Registry $this.Registry -Key $this.Path -Name $Name
        if ($null -eq $value) { return $Default }
        return $value.Data
    }
    $handle | Add-Member -MemberType ScriptMethod -Name SetValue -Value {
        param([string] $Name, $Data, $Kind)
        if (Test-FakeLocked -Registry $this.Registry -Path $this.Path) { throw [System.UnauthorizedAccessException]::new('Cannot write to the registry key.') }
        Set-FakeValue -Registry $this.Registry -Key $this.Path -Name $Name -Kind ([string] $Kind) -Data $Data
        $this.Registry.Writes++
    }
    $handle | Add-Member -MemberType ScriptMethod -Name DeleteSubKeyTree -Value {
        param([string] $Sub, $ThrowOnMissing)
        $full = $this.Full($Sub)
        if (Test-FakeLocked -Registry $this.Registry -Path $full) { throw [System.UnauthorizedAccessException]::new("Access to the registry key 'HKEY_LOCAL_MACHINE\$full' is denied.") }
        $prefix = $full.ToLowerInvariant()
        foreach ($key in @($this.Registry.Keys.Keys)) {
            if ($key -eq $prefix -or $key.StartsWith($prefix + '\')) { $this.Registry.Keys.Remove($key) }
        }
        $this.Registry.Writes++
    }
    $handle | Add-Member -MemberType ScriptMethod -Name Dispose -Value { $this.Registry.Disposed++ }
    $handle | Add-Member -MemberType ScriptMethod -Name Close -Value { $this.Registry.Disposed++ }
    return $handle
}

function New-FakeService {
    # What Get-Service returns, as far as the scripts look at it.
    param([string] $Status = 'Running')
    return [pscustomobject]@{ Name = 'hns'; Status = $Status }
}

function Assert-HandlesDisposed {
    # Every registry handle the script opened on the suite's $FakeReg was disposed again (D10).
    $FakeReg.Opened | Should -BeGreaterThan 0
    $FakeReg.Disposed | Should -Be $FakeReg.Opened
}
