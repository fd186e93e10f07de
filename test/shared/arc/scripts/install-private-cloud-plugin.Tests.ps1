# install-private-cloud-plugin.ps1 under Pester: the registry is an in-memory HKLM behind the script's
# Get-LocalMachineBase, and the script's other Windows-only wrappers (services, ownership, the DLL check) are mocked.
BeforeAll {
    . "$PSScriptRoot/../../../support/HostScripts.ps1"
    . "$PSScriptRoot/../../../support/PrivateCloudPluginFakes.ps1"
    . (Get-HostScriptFunctions 'install-private-cloud-plugin')

    $script:SavedWindir = $env:windir
    $script:SavedSystemRoot = $env:SystemRoot
    $env:windir = 'C:\Windows'
    $env:SystemRoot = 'C:\Windows'

    $script:SuiteHns = 'SYSTEM\CurrentControlSet\Services\hns\Parameters'
    $script:SuitePlugin = 'SYSTEM\CurrentControlSet\Services\hns\Parameters\Plugins\D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D'
    $script:SuiteClsid = 'Software\Classes\CLSID\{D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D}'
    $script:SuiteInproc = $SuiteClsid + '\InprocServer32'
    $script:SuiteDll = 'C:\Windows\System32\PrivateCloudHNSPlugin.dll'
    $script:SuiteAgent = @{ AgentIPAddress = '10.127.132.10'; AgentPort = '6642'; AgentPath = 'networking/v1'; AgentFormat = 'json' }

    function Install-Registration {
        # The registration as this script writes it.
        param([hashtable] $Registry)
        foreach ($row in @(@('Priority', 1000), @('NetworkRequests', 31), @('EndpointRequests', 31), @('ServiceRequests', 7))) {
            Set-FakeValue -Registry $Registry -Key $SuitePlugin -Name $row[0] -Kind 'DWord' -Data $row[1]
        }
        Set-FakeValue -Registry $Registry -Key $SuiteClsid -Name '' -Kind 'String' -Data 'Private Cloud HNS Plugin'
        Set-FakeValue -Registry $Registry -Key $SuiteInproc -Name '' -Kind 'String' -Data 'c:\windows\system32\PrivateCloudHNSPlugin.dll'
        Set-FakeValue -Registry $Registry -Key $SuiteInproc -Name 'ThreadingModel' -Kind 'String' -Data 'Both'
    }

    function Invoke-Install {
        param([hashtable] $Parameters = @{})
        return (Invoke-HostScript -Name 'install-private-cloud-plugin' -Parameters $Parameters)
    }
}

AfterAll {
    $env:windir = $script:SavedWindir
    $env:SystemRoot = $script:SavedSystemRoot
}

Describe 'install-private-cloud-plugin' {
    BeforeEach {
        $script:FakeReg = New-FakeRegistry
        Add-FakeKey -Registry $FakeReg -Path $SuiteHns
        $script:FakeHns = New-FakeService
        Mock Get-LocalMachineBase { New-FakeBase -Registry $FakeReg }
        Mock Get-HnsService { $FakeHns }
        Mock Restart-HnsService { $FakeHns.Status = 'Running' }
        Mock Start-HnsService { $FakeHns.Status = 'Running' }
        Mock Wait-HnsServiceStatus { [string] $FakeHns.Status }
        Mock Test-WowProcess { $false }
        Mock Test-PluginDll { $Path -eq $SuiteDll }
        Mock Get-OwnerSid { 'S-1-5-18' }
        Mock Enable-TakeOwnershipPrivilege { $true }
        Mock Set-RegistryKeyOwner { }
        Mock Grant-RegistryKeyFullControl { $FakeReg.Locked.Clear() }
    }

    Context 'parameters, bound as Run Command binds them' {
        It 'refuses <Name> = <Value>' -TestCases @(
            @{ Name = 'AgentIPAddress'; Value = '10.0.0.256' },
            @{ Name = 'AgentIPAddress'; Value = '10.0.0.1;calc' },
            @{ Name = 'AgentIPAddress'; Value = "10.0.0.1`n" },
            @{ Name = 'AgentIPAddress'; Value = '010.0.0.1' },
            @{ Name = 'AgentPort'; Value = 'abc' },
            @{ Name = 'AgentPort'; Value = '123456' },
            @{ Name = 'AgentPort'; Value = "6642`n" },
            @{ Name = 'AgentPath'; Value = '/networking/v1' },
            @{ Name = 'AgentPath'; Value = 'a b' },
            @{ Name = 'AgentPath'; Value = '$(calc)' },
            @{ Name = 'AgentPath'; Value = "networking`n" },
            @{ Name = 'AgentPath'; Value = ('a' * 256) },
            @{ Name = 'AgentFormat'; Value = 'XML' },
            @{ Name = 'AgentFormat'; Value = 'yaml' }
        ) {
            $parameters = @{} + $SuiteAgent
            $parameters[$Name] = $Value
            $run = Invoke-Install $parameters
            $run.ExitCode | Should -Be 1
            $run.BindingError | Should -Match ([regex]::Escape("parameter '$Name'"))
            $run.Lines | Should -BeNullOrEmpty
            $run.Result | Should -BeNullOrEmpty
            $FakeReg.Writes | Should -Be 0
        }

        It 'takes an AgentPath of the longest allowed length' {
            $parameters = @{} + $SuiteAgent
            $parameters.AgentPath = 'a' * 255
            $run = Invoke-Install $parameters
            $run.ExitCode | Should -Be 0
            (Get-FakeValue $FakeReg $SuitePlugin 'AgentPath').Data | Should -Be ('a' * 255)
        }

        It 'refuses a partial agent override, permanently, writing nothing' {
            $run = Invoke-Install @{ AgentIPAddress = '10.0.0.1'; AgentPort = '6642' }
            $run.ExitCode | Should -Be 1
            $run.Result.ok | Should -BeFalse
            $run.Result.changed | Should -BeFalse
            $run.Result.error.code | Should -Be 'InvalidParameters'
            $run.Result.error.permanent | Should -BeTrue
            $FakeReg.Writes | Should -Be 0
        }

        It 'refuses AgentPort <Port>, outside 1-65535' -TestCases @(@{ Port = '0' }, @{ Port = '65536' }, @{ Port = '99999' }) {
            $parameters = @{} + $SuiteAgent
            $parameters.AgentPort = $Port
            $run = Invoke-Install $parameters
            $run.ExitCode | Should -Be 1
            $run.Result.error.code | Should -Be 'InvalidParameters'
            $run.Result.error.message | Should -Be 'AgentPort must be between 1 and 65535.'
            $run.Result.error.permanent | Should -BeTrue
        }
    }

    Context 'idempotence' {
        It 'registers the plugin on a fresh machine and restarts hns once' {
            $run = Invoke-Install
            $run.ExitCode | Should -Be 0
            $run.Result.ok | Should -BeTrue
            $run.Result.changed | Should -BeTrue
            $run.Result.registryValuesSet | Should -Be 7
            $run.Result.serviceAction | Should -Be 'restarted'
            $run.Result.serviceStatus | Should -Be 'Running'
            $run.Result.agentSettings | Should -Be 'none'
            $run.Result.hnsKeyAccess | Should -Be 'direct'
            $run.Result.pluginDll | Should -Be $SuiteDll
            $run.Lines | Should -Contain 'set HKLM\Software\Classes\CLSID\{D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D}\InprocServer32\(default) (String)'
            $run.Lines[-1] | Should -BeLike 'SDNATTACH-RESULT *'
            (Get-FakeValue $FakeReg $SuitePlugin 'Priority') | Should -BeLike @{ Kind = 'DWord'; Data = 1000 }
            (Get-FakeValue $FakeReg $SuitePlugin 'Priority').Kind | Should -Be 'DWord'
            (Get-FakeValue $FakeReg $SuitePlugin 'ServiceRequests').Data | Should -Be 7
            (Get-FakeValue $FakeReg $SuiteInproc '').Kind | Should -Be 'String'
            (Get-FakeValue $FakeReg $SuiteInproc 'ThreadingModel').Data | Should -Be 'Both'
            Should -Invoke Restart-HnsService -Exactly 1
            Should -Invoke Set-RegistryKeyOwner -Exactly 0
            Assert-HandlesDisposed
        }

        It 'changes nothing on a machine already configured: no write, no restart' {
            Install-Registration $FakeReg
            $run = Invoke-Install
            $run.ExitCode | Should -Be 0
            $run.Result.changed | Should -BeFalse
            $run.Result.registryValuesSet | Should -Be 0
            $run.Result.serviceAction | Should -Be 'none'
            $run.Result.hnsKeyAccess | Should -Be 'notNeeded'
            $run.Lines.Count | Should -Be 1
            $FakeReg.Writes | Should -Be 0
            Should -Invoke Restart-HnsService -Exactly 0
            Should -Invoke Start-HnsService -Exactly 0
            Assert-HandlesDisposed
        }

        It 'starts hns, writing nothing, when it is configured but stopped' {
            Install-Registration $FakeReg
            $FakeHns.Status = 'Stopped'
            $run = Invoke-Install
            $run.ExitCode | Should -Be 0
            $run.Result.changed | Should -BeTrue
            $run.Result.serviceAction | Should -Be 'started'
            $FakeReg.Writes | Should -Be 0
            Should -Invoke Start-HnsService -Exactly 1
            Should -Invoke Restart-HnsService -Exactly 0
        }

        It 'writes only what is missing or different on a partly configured machine' {
            Install-Registration $FakeReg
            Set-FakeValue $FakeReg $SuitePlugin 'NetworkRequests' 'DWord' 15
            $FakeReg.Keys[$SuiteInproc.ToLowerInvariant()].Values.Remove('threadingmodel')
            $run = Invoke-Install
            $run.ExitCode | Should -Be 0
            $run.Result.registryValuesSet | Should -Be 2
            $run.Result.serviceAction | Should -Be 'restarted'
            $run.Lines | Should -Contain 'set HKLM\SYSTEM\CurrentControlSet\Services\hns\Parameters\Plugins\D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D\NetworkRequests (DWord)'
            $run.Lines | Should -Contain 'set HKLM\Software\Classes\CLSID\{D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D}\InprocServer32\ThreadingModel (String)'
            (Get-FakeValue $FakeReg $SuitePlugin 'NetworkRequests').Data | Should -Be 31
            $FakeReg.Writes | Should -Be 2
            Assert-HandlesDisposed
        }

        It 'leaves an equivalent registration alone: REG_EXPAND_SZ path, other case' {
            Install-Registration $FakeReg
            Set-FakeValue $FakeReg $SuiteInproc '' 'ExpandString' '%SystemRoot%\system32\PrivateCloudHNSPlugin.dll'
            Set-FakeValue $FakeReg $SuiteInproc 'ThreadingModel' 'String' 'both'
            Set-FakeValue $FakeReg $SuiteClsid '' 'String' 'PRIVATE CLOUD HNS PLUGIN'
            $run = Invoke-Install
            $run.ExitCode | Should -Be 0
            $run.Result.changed | Should -BeFalse
            $run.Result.registryValuesSet | Should -Be 0
            $run.Result.serviceAction | Should -Be 'none'
            (Get-FakeValue $FakeReg $SuiteInproc '').Kind | Should -Be 'ExpandString'
            Should -Invoke Restart-HnsService -Exactly 0
        }

        It 'leaves C:\WINDOWS\System32\... (REG_SZ, other case) alone' {
            Install-Registration $FakeReg
            Set-FakeValue $FakeReg $SuiteInproc '' 'String' 'C:\WINDOWS\System32\PrivateCloudHNSPlugin.DLL'
            $run = Invoke-Install
            $run.Result.changed | Should -BeFalse
            $FakeReg.Writes | Should -Be 0
        }

        It 'rewrites a value that only looks alike: <Why>' -TestCases @(
            @{ Why = 'a DWORD stored as text'; Key = 'SYSTEM\CurrentControlSet\Services\hns\Parameters\Plugins\D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D'; Name = 'Priority'; Kind = 'String'; Data = '1000'; Wanted = 'DWord' },
            @{ Why = 'an expandable path to another folder'; Key = 'Software\Classes\CLSID\{D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D}\InprocServer32'; Name = ''; Kind = 'ExpandString'; Data = '%SystemRoot%\SysWOW64\PrivateCloudHNSPlugin.dll'; Wanted = 'String' },
            @{ Why = 'a path as a multi-string'; Key = 'Software\Classes\CLSID\{D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D}\InprocServer32'; Name = ''; Kind = 'MultiString'; Data = [string[]] @('c:\windows\system32\PrivateCloudHNSPlugin.dll'); Wanted = 'String' }
        ) {
            Install-Registration $FakeReg
            Set-FakeValue $FakeReg $Key $Name $Kind $Data
            $run = Invoke-Install
            $run.ExitCode | Should -Be 0
            $run.Result.registryValuesSet | Should -Be 1
            $run.Result.serviceAction | Should -Be 'restarted'
            (Get-FakeValue $FakeReg $Key $Name).Kind | Should -Be $Wanted
        }
    }

    Context 'a locked hns Parameters key' {
        It 'takes ownership as SYSTEM, grants it full control, then writes' {
            $FakeReg.Locked.Add($SuiteHns)
            $run = Invoke-Install
            $run.ExitCode | Should -Be 0
            $run.Result.hnsKeyAccess | Should -Be 'ownershipTaken'
            $run.Result.registryValuesSet | Should -Be 7
            $run.Lines | Should -Contain 'took ownership of HKLM\SYSTEM\CurrentControlSet\Services\hns\Parameters as S-1-5-18 and granted it full control'
            Should -Invoke Enable-TakeOwnershipPrivilege -Exactly 1
            Should -Invoke Set-RegistryKeyOwner -Exactly 1 -ParameterFilter { $Key -eq $SuiteHns -and $Sid -eq 'S-1-5-18' }
            Should -Invoke Grant-RegistryKeyFullControl -Exactly 1 -ParameterFilter { $Key -eq $SuiteHns -and $Sid -eq 'S-1-5-18' }
            (Get-FakeValue $FakeReg $SuitePlugin 'Priority').Data | Should -Be 1000
            Assert-HandlesDisposed
        }

        It 'takes ownership as BUILTIN\Administrators outside LocalSystem' {
            $FakeReg.Locked.Add($SuiteHns)
            Mock Get-OwnerSid { 'S-1-5-32-544' }
            $run = Invoke-Install
            $run.ExitCode | Should -Be 0
            $run.Result.hnsKeyAccess | Should -Be 'ownershipTaken'
            Should -Invoke Set-RegistryKeyOwner -Exactly 1 -ParameterFilter { $Sid -eq 'S-1-5-32-544' }
        }

        It 'is RegistryAccessDenied, permanent, when the key still refuses writes after taking ownership' {
            $FakeReg.Locked.Add($SuiteHns)
            Mock Grant-RegistryKeyFullControl { }
            $run = Invoke-Install
            $run.ExitCode | Should -Be 1
            $run.Result.ok | Should -BeFalse
            $run.Result.changed | Should -BeTrue
            $run.Result.error.code | Should -Be 'RegistryAccessDenied'
            $run.Result.error.permanent | Should -BeTrue
            $run.Result.error.message | Should -BeLike '*still cannot be written after taking ownership of it as S-1-5-18*'
            $FakeReg.Writes | Should -Be 0
            Should -Invoke Restart-HnsService -Exactly 0
            Assert-HandlesDisposed
        }

        It 'is RegistryAccessDenied, changing nothing, when the process cannot enable SeTakeOwnershipPrivilege' {
            $FakeReg.Locked.Add($SuiteHns)
            Mock Enable-TakeOwnershipPrivilege { $false }
            $run = Invoke-Install
            $run.ExitCode | Should -Be 1
            $run.Result.changed | Should -BeFalse
            $run.Result.error.code | Should -Be 'RegistryAccessDenied'
            $run.Result.error.permanent | Should -BeTrue
            $run.Result.error.message | Should -BeLike '*SeTakeOwnershipPrivilege*'
            Should -Invoke Set-RegistryKeyOwner -Exactly 0
        }

        It 'is RegistryAccessDenied when setting the owner is refused' {
            $FakeReg.Locked.Add($SuiteHns)
            Mock Set-RegistryKeyOwner { throw [System.UnauthorizedAccessException]::new('Attempted to perform an unauthorized operation.') }
            $run = Invoke-Install
            $run.ExitCode | Should -Be 1
            $run.Result.changed | Should -BeFalse
            $run.Result.error.code | Should -Be 'RegistryAccessDenied'
            $run.Result.error.permanent | Should -BeTrue
        }

        It 'takes no ownership when nothing under it needs writing' {
            Install-Registration $FakeReg
            $FakeReg.Locked.Add($SuiteHns)
            $run = Invoke-Install
            $run.ExitCode | Should -Be 0
            $run.Result.changed | Should -BeFalse
            $run.Result.hnsKeyAccess | Should -Be 'notNeeded'
            Should -Invoke Set-RegistryKeyOwner -Exactly 0
        }

        It 'is RegistryAccessDenied, permanent, when the CLSID key refuses writes' {
            Install-Registration $FakeReg
            Set-FakeValue $FakeReg $SuiteInproc 'ThreadingModel' 'String' 'Apartment'
            $FakeReg.Locked.Add($SuiteClsid)
            $run = Invoke-Install
            $run.ExitCode | Should -Be 1
            $run.Result.error.code | Should -Be 'RegistryAccessDenied'
            $run.Result.error.permanent | Should -BeTrue
            Assert-HandlesDisposed
        }
    }

    Context 'the plugin DLL' {
        It 'fails with PluginDllMissing, permanent, before writing anything' {
            Mock Test-PluginDll { $false }
            $run = Invoke-Install $SuiteAgent
            $run.ExitCode | Should -Be 1
            $run.Result.ok | Should -BeFalse
            $run.Result.changed | Should -BeFalse
            $run.Result.error.code | Should -Be 'PluginDllMissing'
            $run.Result.error.permanent | Should -BeTrue
            $run.Result.error.message | Should -BeLike "$SuiteDll is not there*Nothing was changed."
            $FakeReg.Writes | Should -Be 0
            $FakeReg.Opened | Should -Be 0
            Should -Invoke Restart-HnsService -Exactly 0
        }

        It 'looks in Sysnative from a 32-bit process on 64-bit Windows' {
            Mock Test-WowProcess { $true }
            Mock Test-PluginDll { $Path -eq 'C:\Windows\Sysnative\PrivateCloudHNSPlugin.dll' }
            $run = Invoke-Install
            $run.ExitCode | Should -Be 0
            $run.Result.pluginDll | Should -Be 'C:\Windows\Sysnative\PrivateCloudHNSPlugin.dll'
            Should -Invoke Test-PluginDll -Exactly 1 -ParameterFilter { $Path -eq 'C:\Windows\Sysnative\PrivateCloudHNSPlugin.dll' }
        }

        It 'is PluginDllMissing from a 32-bit process when only the redirected System32 has it' {
            Mock Test-WowProcess { $true }
            $run = Invoke-Install
            $run.ExitCode | Should -Be 1
            $run.Result.error.code | Should -Be 'PluginDllMissing'
            $run.Result.error.message | Should -BeLike 'C:\Windows\Sysnative\PrivateCloudHNSPlugin.dll is not there*'
        }
    }

    Context 'handles' {
        It 'disposes every base key and subkey it opens: <Case>' -TestCases @(
            @{ Case = 'fresh'; Setup = {} },
            @{ Case = 'configured'; Setup = { Install-Registration $FakeReg } },
            @{ Case = 'agent settings'; Setup = { Install-Registration $FakeReg; Set-FakeValue $FakeReg $SuitePlugin 'AgentIPAddress' 'String' '10.0.0.1' } }
        ) {
            & $Setup
            $run = Invoke-Install
            $run.ExitCode | Should -Be 0
            # At least one base key per read and per write, each disposed, with every subkey opened from it.
            $FakeReg.Opened | Should -BeGreaterOrEqual 16
            $FakeReg.Disposed | Should -Be $FakeReg.Opened
        }
    }

    Context 'agent settings' {
        It 'keeps the agent settings already on the key when none are given' {
            Install-Registration $FakeReg
            foreach ($name in 'AgentIPAddress', 'AgentPath', 'AgentFormat') { Set-FakeValue $FakeReg $SuitePlugin $name 'String' 'old' }
            Set-FakeValue $FakeReg $SuitePlugin 'AgentPort' 'DWord' 6642
            $run = Invoke-Install
            $run.ExitCode | Should -Be 0
            $run.Result.changed | Should -BeFalse
            $run.Result.agentSettings | Should -Be 'kept'
            (Get-FakeValue $FakeReg $SuitePlugin 'AgentPath').Data | Should -Be 'old'
        }

        It 'writes all four with explicit types, AgentPath without a leading slash' {
            $run = Invoke-Install $SuiteAgent
            $run.ExitCode | Should -Be 0
            $run.Result.agentSettings | Should -Be 'written'
            $run.Result.registryValuesSet | Should -Be 11
            (Get-FakeValue $FakeReg $SuitePlugin 'AgentIPAddress') | Should -Not -BeNullOrEmpty
            (Get-FakeValue $FakeReg $SuitePlugin 'AgentPort').Kind | Should -Be 'DWord'
            (Get-FakeValue $FakeReg $SuitePlugin 'AgentPort').Data | Should -Be 6642
            (Get-FakeValue $FakeReg $SuitePlugin 'AgentPath').Kind | Should -Be 'String'
            (Get-FakeValue $FakeReg $SuitePlugin 'AgentPath').Data | Should -Be 'networking/v1'
            (Get-FakeValue $FakeReg $SuitePlugin 'AgentFormat').Data | Should -Be 'json'
        }

        It 'changes nothing when the same agent settings are given again' {
            Invoke-Install $SuiteAgent | Out-Null
            $writes = $FakeReg.Writes
            $run = Invoke-Install $SuiteAgent
            $run.ExitCode | Should -Be 0
            $run.Result.changed | Should -BeFalse
            $run.Result.agentSettings | Should -Be 'written'
            $FakeReg.Writes | Should -Be $writes
            Should -Invoke Restart-HnsService -Exactly 1
        }

        It 'rewrites an AgentPath stored with a leading slash, and an agent value in another case' {
            Install-Registration $FakeReg
            Set-FakeValue $FakeReg $SuitePlugin 'AgentIPAddress' 'String' '10.127.132.10'
            Set-FakeValue $FakeReg $SuitePlugin 'AgentPort' 'DWord' 6642
            Set-FakeValue $FakeReg $SuitePlugin 'AgentPath' 'String' '/networking/v1'
            Set-FakeValue $FakeReg $SuitePlugin 'AgentFormat' 'String' 'JSON'
            $run = Invoke-Install $SuiteAgent
            $run.ExitCode | Should -Be 0
            $run.Result.registryValuesSet | Should -Be 2
            (Get-FakeValue $FakeReg $SuitePlugin 'AgentPath').Data | Should -Be 'networking/v1'
            (Get-FakeValue $FakeReg $SuitePlugin 'AgentFormat').Data | Should -Be 'json'
        }

        It 'replaces only the agent values that differ, keeping the rest of the key' {
            Install-Registration $FakeReg
            Set-FakeValue $FakeReg $SuitePlugin 'AgentIPAddress' 'String' '10.127.132.10'
            Set-FakeValue $FakeReg $SuitePlugin 'AgentPort' 'DWord' 6640
            Set-FakeValue $FakeReg $SuitePlugin 'SomethingElse' 'String' 'kept'
            $run = Invoke-Install $SuiteAgent
            $run.ExitCode | Should -Be 0
            $run.Result.registryValuesSet | Should -Be 3
            (Get-FakeValue $FakeReg $SuitePlugin 'SomethingElse').Data | Should -Be 'kept'
        }
    }

    Context 'hns' {
        It 'is HnsNotFound, permanent, where hns is not installed' {
            $script:FakeHns = $null
            $run = Invoke-Install
            $run.ExitCode | Should -Be 1
            $run.Result.changed | Should -BeFalse
            $run.Result.error.code | Should -Be 'HnsNotFound'
            $run.Result.error.permanent | Should -BeTrue
            $FakeReg.Writes | Should -Be 0
        }

        It 'is ServiceNotRunning, retryable, when hns does not come back' {
            Mock Restart-HnsService { $FakeHns.Status = 'Stopped' }
            $run = Invoke-Install
            $run.ExitCode | Should -Be 1
            $run.Result.changed | Should -BeTrue
            $run.Result.error.code | Should -Be 'ServiceNotRunning'
            $run.Result.error.permanent | Should -BeFalse
            $run.Result.error.message | Should -Be 'The hns service is Stopped after the change; it must be Running.'
        }

        It 'is VerificationFailed, retryable, when a written value does not read back' {
            Mock Set-PluginRegistryValue { $script:Changed = $true }
            $run = Invoke-Install
            $run.ExitCode | Should -Be 1
            $run.Result.error.code | Should -Be 'VerificationFailed'
            $run.Result.error.permanent | Should -BeFalse
        }
    }
}

Describe 'install-private-cloud-plugin wrappers' {
    It 'checks the DLL with Test-Path, as a file' {
        Mock Test-Path { $true }
        Test-PluginDll -Path 'C:\Windows\System32\PrivateCloudHNSPlugin.dll' | Should -BeTrue
        Should -Invoke Test-Path -Exactly 1 -ParameterFilter { $LiteralPath -eq 'C:\Windows\System32\PrivateCloudHNSPlugin.dll' -and $PathType -eq 'Leaf' }
    }

    It 'sees no WOW64 redirection in a 64-bit process' {
        [Environment]::Is64BitProcess | Should -BeTrue
        Test-WowProcess | Should -BeFalse
    }
}
