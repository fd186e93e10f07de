# Stand-ins for the Windows-only parts the product scripts touch, over the JSON state file the test writes: the
# registry (key path under HKLM -> value name -> { kind, data }; the test swaps the script's Get-LocalMachineBase for
# $global:FakeBase), services, firewall rules, and Test-Path for the plugin DLL. hnsKeyAcl ('open', 'locked',
# 'denied') says who may write the hns Parameters key; the test takes the install script's ownership functions out of
# its text, so that the stand-ins below answer in their place.
param([string] $StatePath)
$global:FakeState = Get-Content -Raw $StatePath | ConvertFrom-Json -AsHashtable
# The Windows folder the emulator's machines have.
$env:windir = 'C:\Windows'
$env:SystemRoot = 'C:\Windows'
$global:FakeHnsKey = 'system\currentcontrolset\services\hns\parameters'

class FakeKey {
    [string] $Path
    FakeKey([string] $path) { $this.Path = $path }
    hidden [string] Full([string] $sub) { if ($this.Path) { return ($this.Path + '\' + $sub) } else { return $sub } }
    hidden [bool] Locked([string] $path) {
        $lower = $path.ToLowerInvariant()
        $underHns = $lower -eq $global:FakeHnsKey -or $lower.StartsWith($global:FakeHnsKey + '\')
        return ($underHns -and $global:FakeState.hnsKeyAcl -ne 'open')
    }
    [object] OpenSubKey([string] $sub, [bool] $writable) {
        if ($writable -and $this.Locked($this.Full($sub))) { throw [System.Security.SecurityException]::new('Requested registry access is not allowed.') }
        return $this.OpenSubKey($sub)
    }
    [object] CreateSubKey([string] $sub) {
        $full = $this.Full($sub)
        if ($this.Locked($full)) { throw [System.UnauthorizedAccessException]::new("Access to the registry key 'HKEY_LOCAL_MACHINE\$full' is denied.") }
        foreach ($key in $global:FakeState.registry.Keys) { if ($key.ToLowerInvariant() -eq $full.ToLowerInvariant()) { return [FakeKey]::new($key) } }
        $global:FakeState.registry[$full] = [ordered]@{}
        return [FakeKey]::new($full)
    }
    [void] SetValue([string] $name, [object] $data, [Microsoft.Win32.RegistryValueKind] $kind) {
        if ($this.Locked($this.Path)) { throw [System.UnauthorizedAccessException]::new('Cannot write to the registry key.') }
        $e = $this.Entry()
        $existing = @($e.Keys | Where-Object { $_ -eq $name })
        if ($existing.Count -gt 0) { $name = $existing[0] }
        $e[$name] = [ordered]@{ kind = [string] $kind; data = $data }
    }
    [object] OpenSubKey([string] $sub) {
        $full = $this.Full($sub).ToLowerInvariant()
        foreach ($key in $global:FakeState.registry.Keys) {
            $lower = $key.ToLowerInvariant()
            if ($lower -eq $full -or $lower.StartsWith($full + '\')) { return [FakeKey]::new($this.Full($sub)) }
        }
        return $null
    }
    hidden [object] Entry() {
        foreach ($key in $global:FakeState.registry.Keys) { if ($key.ToLowerInvariant() -eq $this.Path.ToLowerInvariant()) { return $global:FakeState.registry[$key] } }
        return $null
    }
    [string[]] GetValueNames() { $e = $this.Entry(); if ($null -eq $e) { return @() }; return @($e.Keys) }
    [Microsoft.Win32.RegistryValueKind] GetValueKind([string] $name) { return [Microsoft.Win32.RegistryValueKind] $this.Entry()[$name].kind }
    [object] GetValue([string] $name) { return $this.GetValue($name, $null, 0) }
    [object] GetValue([string] $name, [object] $default, [object] $options) {
        $e = $this.Entry(); if ($null -eq $e -or -not $e.Contains($name)) { return $default }
        $v = $e[$name]
        if ($v.kind -eq 'MultiString') { return [string[]] $v.data }
        if ($v.kind -eq 'DWord') { return [int] $v.data }
        return [string] $v.data
    }
    [void] DeleteSubKeyTree([string] $sub, [bool] $throw) {
        $full = $this.Full($sub).ToLowerInvariant()
        foreach ($key in @($global:FakeState.registry.Keys)) {
            $lower = $key.ToLowerInvariant()
            if ($lower -eq $full -or $lower.StartsWith($full + '\')) { $global:FakeState.registry.Remove($key) }
        }
    }
    [void] Close() { }
    [void] Dispose() { }
}
$global:FakeBase = [FakeKey]::new('')

function global:Get-Service {
    param([string] $Name)
    if (-not $global:FakeState.services.Contains($Name)) { return $null }
    $service = [pscustomobject]@{ Name = $Name }
    $service | Add-Member -MemberType ScriptProperty -Name Status -Value { $global:FakeState.services[$this.Name].status }
    $service | Add-Member -MemberType ScriptMethod -Name WaitForStatus -Value { param($status, $timeout) }
    $service | Add-Member -MemberType ScriptMethod -Name Refresh -Value { }
    return $service
}
function global:Restart-Service { param([string] $Name, [switch] $Force) $s = $global:FakeState.services[$Name]; $s.status = 'Running'; $s.restartCount++ }
function global:Start-Service { param([string] $Name) $global:FakeState.services[$Name].status = 'Running' }
function global:Get-NetFirewallRule {
    # The filters the scripts use; each rule carries its state entry (State) for Remove-NetFirewallRule.
    [CmdletBinding()]
    param([string] $DisplayName, [string] $PolicyStore, [string] $Direction, [string] $Action, [string] $Enabled)
    foreach ($rule in @($global:FakeState.firewallRules)) {
        $enabledText = $(if ($rule.enabled) { 'True' } else { 'False' })
        if ($DisplayName -and $rule.displayName -ne $DisplayName) { continue }
        if ($Direction -and $rule.direction -ne $Direction) { continue }
        if ($Action -and $rule.action -ne $Action) { continue }
        if ($Enabled -and $enabledText -ne $Enabled) { continue }
        [pscustomobject]@{ DisplayName = $rule.displayName; Direction = $rule.direction; Action = $rule.action; Enabled = $enabledText; Protocol = $rule.protocol; LocalPort = $rule.localPort; State = $rule }
    }
}
function global:New-NetFirewallRule {
    [CmdletBinding()]
    param([string] $DisplayName, [string] $Direction, [string] $Action, [string] $Protocol, [string] $LocalPort, [Alias('Profile')] [string] $RuleProfile)
    $global:FakeState.firewallRules = @($global:FakeState.firewallRules) + @([ordered]@{ displayName = $DisplayName; direction = $Direction; action = $Action; protocol = $Protocol; localPort = $LocalPort; enabled = $true; profile = $RuleProfile })
}
function global:Remove-NetFirewallRule {
    [CmdletBinding()]
    param([Parameter(ValueFromPipeline = $true)] $InputObject)
    process {
        $target = $InputObject.State
        $global:FakeState.firewallRules = @($global:FakeState.firewallRules | Where-Object { -not [object]::ReferenceEquals($_, $target) })
    }
}
function global:Get-NetFirewallPortFilter {
    param([Parameter(ValueFromPipeline = $true)] $Rule)
    process { [pscustomobject]@{ Protocol = $Rule.Protocol; LocalPort = $Rule.LocalPort } }
}
function global:Test-Path { param([string] $LiteralPath, [string] $PathType) return [bool] ($global:FakeState.files -contains $LiteralPath.ToLowerInvariant()) }
function global:Get-OwnerSid { return 'S-1-5-18' }
function global:Enable-TakeOwnershipPrivilege { return $true }
function global:Set-RegistryKeyOwner { param([string] $Key, [string] $Sid) }
function global:Grant-RegistryKeyFullControl { param([string] $Key, [string] $Sid) if ($global:FakeState.hnsKeyAcl -eq 'locked') { $global:FakeState.hnsKeyAcl = 'open' } }
function global:Save-FakeState { param([string] $Path) $global:FakeState | ConvertTo-Json -Depth 10 | Set-Content -Path $Path }
