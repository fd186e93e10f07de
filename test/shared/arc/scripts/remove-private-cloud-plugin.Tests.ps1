# remove-private-cloud-plugin.ps1 under Pester: the registry is an in-memory HKLM behind the script's
# Get-LocalMachineBase; services and Docker are mocked through the script's own wrappers.
BeforeAll {
    . "$PSScriptRoot/../../../support/HostScripts.ps1"
    . "$PSScriptRoot/../../../support/PrivateCloudPluginFakes.ps1"
    . (Get-HostScriptFunctions 'remove-private-cloud-plugin')

    $script:SuitePlugin = 'SYSTEM\CurrentControlSet\Services\hns\Parameters\Plugins\D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D'
    $script:SuiteClsid = 'Software\Classes\CLSID\{D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D}'

    function Install-Registration {
        param([hashtable] $Registry)
        Set-FakeValue -Registry $Registry -Key $SuitePlugin -Name 'Priority' -Kind 'DWord' -Data 1000
        Set-FakeValue -Registry $Registry -Key $SuiteClsid -Name '' -Kind 'String' -Data 'Private Cloud HNS Plugin'
        Set-FakeValue -Registry $Registry -Key ($SuiteClsid + '\InprocServer32') -Name '' -Kind 'String' -Data 'c:\windows\system32\PrivateCloudHNSPlugin.dll'
    }

    function Invoke-Remove {
        param([hashtable] $Parameters = @{})
        return (Invoke-HostScript -Name 'remove-private-cloud-plugin' -Parameters $Parameters)
    }
}

Describe 'remove-private-cloud-plugin' {
    BeforeEach {
        $script:FakeReg = New-FakeRegistry
        Add-FakeKey -Registry $FakeReg -Path 'SYSTEM\CurrentControlSet\Services\hns\Parameters'
        $script:FakeHns = New-FakeService
        $script:FakeNetworks = ''
        Mock Get-LocalMachineBase { New-FakeBase -Registry $FakeReg }
        Mock Get-HnsService { $FakeHns }
        Mock Restart-HnsService { $FakeHns.Status = 'Running' }
        Mock Wait-HnsServiceStatus { [string] $FakeHns.Status }
        Mock Get-DockerPath { 'C:\Program Files\Docker\docker.exe' }
        Mock Invoke-DockerCli { [pscustomobject]@{ ExitCode = 0; Output = ("nat nat`n" + $FakeNetworks).Trim(); ErrorText = '' } }
    }

    It 'takes no parameters: <Name> is refused' -TestCases @(@{ Name = 'AgentIPAddress' }, @{ Name = 'Force' }) {
        $run = Invoke-Remove @{ $Name = 'x' }
        $run.ExitCode | Should -Be 1
        $run.BindingError | Should -Match ([regex]::Escape("parameter name '$Name'"))
        $run.Lines | Should -BeNullOrEmpty
        $run.Result | Should -BeNullOrEmpty
    }

    It 'changes nothing, and restarts nothing, when nothing is registered' {
        $run = Invoke-Remove
        $run.ExitCode | Should -Be 0
        $run.Result.ok | Should -BeTrue
        $run.Result.changed | Should -BeFalse
        @($run.Result.removedKeys).Count | Should -Be 0
        $run.Result.agentSettingsRemoved | Should -BeFalse
        $run.Result.serviceAction | Should -Be 'none'
        $run.Result.serviceStatus | Should -Be 'Running'
        Should -Invoke Restart-HnsService -Exactly 0
        Should -Invoke Invoke-DockerCli -Exactly 0
        Assert-HandlesDisposed
    }

    It 'deletes both keys with their subkeys, then restarts hns once' {
        Install-Registration $FakeReg
        $run = Invoke-Remove
        $run.ExitCode | Should -Be 0
        $run.Result.changed | Should -BeTrue
        $run.Result.removedKeys | Should -Be @($SuitePlugin, $SuiteClsid)
        $run.Result.serviceAction | Should -Be 'restarted'
        $run.Lines | Should -Contain "removed HKLM\$SuiteClsid"
        $FakeReg.Keys.ContainsKey($SuitePlugin.ToLowerInvariant()) | Should -BeFalse
        $FakeReg.Keys.ContainsKey(($SuiteClsid + '\InprocServer32').ToLowerInvariant()) | Should -BeFalse
        $FakeReg.Keys.ContainsKey('system\currentcontrolset\services\hns\parameters') | Should -BeTrue
        Should -Invoke Restart-HnsService -Exactly 1
        Assert-HandlesDisposed
    }

    It 'says so when it removed agent settings' {
        Set-FakeValue $FakeReg $SuitePlugin 'AgentIPAddress' 'String' '10.127.132.20'
        $run = Invoke-Remove
        $run.ExitCode | Should -Be 0
        $run.Result.removedKeys | Should -Be @($SuitePlugin)
        $run.Result.agentSettingsRemoved | Should -BeTrue
        Assert-HandlesDisposed
    }

    It 'removes nothing while an l2bridge or l2tunnel network uses the plugin (retryable)' {
        Install-Registration $FakeReg
        $script:FakeNetworks = "l2bridge MyNet`nl2tunnel T"
        $run = Invoke-Remove
        $run.ExitCode | Should -Be 1
        $run.Result.changed | Should -BeFalse
        $run.Result.error.code | Should -Be 'ContainerNetworksStillPresent'
        $run.Result.error.permanent | Should -BeFalse
        $run.Result.networkCount | Should -Be 2
        $run.Result.networks[0].name | Should -Be 'MyNet'
        $FakeReg.Writes | Should -Be 0
        Should -Invoke Restart-HnsService -Exactly 0
        Assert-HandlesDisposed
    }

    It 'is DockerUnavailable, removing nothing, when the engine does not answer' {
        Install-Registration $FakeReg
        Mock Invoke-DockerCli { [pscustomobject]@{ ExitCode = 1; Output = ''; ErrorText = 'error during connect' } }
        $run = Invoke-Remove
        $run.ExitCode | Should -Be 1
        $run.Result.error.code | Should -Be 'DockerUnavailable'
        $run.Result.error.permanent | Should -BeFalse
        $FakeReg.Writes | Should -Be 0
    }

    It 'removes without asking Docker where there is no Docker' {
        Install-Registration $FakeReg
        Mock Get-DockerPath { $null }
        $run = Invoke-Remove
        $run.ExitCode | Should -Be 0
        $run.Result.changed | Should -BeTrue
        Should -Invoke Invoke-DockerCli -Exactly 0
    }

    It 'restarts nothing where hns is not installed' {
        Install-Registration $FakeReg
        $script:FakeHns = $null
        $run = Invoke-Remove
        $run.ExitCode | Should -Be 0
        $run.Result.serviceAction | Should -Be 'none'
        $run.Result.serviceStatus | Should -BeNullOrEmpty
        Should -Invoke Restart-HnsService -Exactly 0
    }

    It 'is ServiceNotRunning, retryable, when hns does not come back' {
        Install-Registration $FakeReg
        Mock Restart-HnsService { $FakeHns.Status = 'Stopped' }
        $run = Invoke-Remove
        $run.ExitCode | Should -Be 1
        $run.Result.changed | Should -BeTrue
        $run.Result.error.code | Should -Be 'ServiceNotRunning'
        $run.Result.error.permanent | Should -BeFalse
    }

    It 'is RegistryAccessDenied, permanent, when a key refuses deletion' {
        Install-Registration $FakeReg
        $FakeReg.Locked.Add($SuiteClsid)
        $run = Invoke-Remove
        $run.ExitCode | Should -Be 1
        $run.Result.error.code | Should -Be 'RegistryAccessDenied'
        $run.Result.error.permanent | Should -BeTrue
        Assert-HandlesDisposed
    }

    It 'is VerificationFailed when a key is still there after deleting it' {
        Install-Registration $FakeReg
        Mock Remove-RegistryKeyTree { }
        $run = Invoke-Remove
        $run.ExitCode | Should -Be 1
        $run.Result.error.code | Should -Be 'VerificationFailed'
        $run.Result.error.permanent | Should -BeFalse
    }
}
