# invoke-in-vm.ps1 under Pester: Get-VM, PowerShell Direct and the credential are behind the script's own wrapper
# functions (Test-HyperVModule, Get-HostedVm, New-GuestCredential, Invoke-InVm), mocked here; the inner script runs for
# real in this pwsh where a test needs its output.
BeforeAll {
    . "$PSScriptRoot/../../../support/HostScripts.ps1"
    . (Get-HostScriptFunctions 'invoke-in-vm')

    function ConvertTo-Base64 { param([string] $Text) [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($Text)) }
    function ConvertTo-GzipBase64 {
        param([string] $Text)
        $buffer = [IO.MemoryStream]::new()
        $gzip = [IO.Compression.GZipStream]::new($buffer, [IO.Compression.CompressionMode]::Compress)
        $bytes = [Text.Encoding]::UTF8.GetBytes($Text)
        $gzip.Write($bytes, 0, $bytes.Length)
        $gzip.Dispose()
        return [Convert]::ToBase64String($buffer.ToArray())
    }

    # A stand-in for a product script: its own marker, a validated parameter, one result line last.
    $script:InnerText = @'
# sdn-attach-script: inner-probe v1
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [ValidatePattern('^[A-Za-z]+$')]
    [string] $Name,
    [string] $Fail = 'no'
)
Write-Output ('probing {0}' -f $Name)
if ($Fail -eq 'yes') {
    Write-Output 'SDNATTACH-RESULT {"script":"inner-probe","version":1,"ok":false,"changed":false,"error":{"code":"ProbeFailed","message":"asked to fail","permanent":true}}'
    exit 1
}
Write-Output ('SDNATTACH-RESULT {"script":"inner-probe","version":1,"ok":true,"changed":true,"name":"' + $Name + '"}')
exit 0
'@
    $script:Password = 'Pester-Guest-Passw0rd-e2a9'

    function New-WrapperParameters {
        param([hashtable] $Inner = @{ Name = 'alpha' }, [string] $VmName = 'ContainerHostVM1')
        return @{
            InnerScript = ConvertTo-GzipBase64 $script:InnerText
            InnerParameters = ConvertTo-Base64 (ConvertTo-Json -InputObject $Inner -Compress)
            VmName = $VmName
            GuestUserName = '.\sdnattach'
            GuestPassword = ConvertTo-Base64 $script:Password
        }
    }

    function Get-RunResult {
        param($Run)
        return $Run.ResultLine.Substring('SDNATTACH-RESULT '.Length) | ConvertFrom-Json -AsHashtable
    }
}

Describe 'invoke-in-vm' {
    BeforeEach {
        Mock Test-HyperVModule { $true }
        Mock Get-HostedVm { @([pscustomobject]@{ Name = $Name; State = 'Running' }) }
        Mock New-GuestCredential { [System.Management.Automation.PSCredential]::new($UserName, (ConvertTo-SecureString -String $Password -AsPlainText -Force)) }
        # PowerShell Direct itself: the guest side runs here, in this pwsh, exactly as it would in the VM.
        Mock Invoke-InVm { Invoke-GuestScript -Text $Text -ParametersJson $ParametersJson }
    }

    It 'runs the inner script in the VM and passes its output through, its result line last and unchanged' {
        $run = Invoke-HostScript -Name 'invoke-in-vm' -Parameters (New-WrapperParameters)
        $run.ExitCode | Should -Be 0
        $run.Lines[0] | Should -Be 'probing alpha'
        $run.ResultLine | Should -Be 'SDNATTACH-RESULT {"script":"inner-probe","version":1,"ok":true,"changed":true,"name":"alpha"}'
        $run.Lines[-1] | Should -Be $run.ResultLine
        Should -Invoke Invoke-InVm -Times 1 -Exactly -ParameterFilter { $Name -eq 'ContainerHostVM1' -and $Text.StartsWith('# sdn-attach-script: inner-probe v1') }
    }

    It 'signs in with the guest account, the password decoded only for the credential' {
        $run = Invoke-HostScript -Name 'invoke-in-vm' -Parameters (New-WrapperParameters)
        $run.ExitCode | Should -Be 0
        Should -Invoke New-GuestCredential -Times 1 -Exactly -ParameterFilter { $UserName -eq '.\sdnattach' -and $Password -eq $script:Password }
        ($run.Lines -join "`n") | Should -Not -Match ([regex]::Escape($script:Password))
    }

    It 'exits 1 when the inner script fails, keeping its own error' {
        $run = Invoke-HostScript -Name 'invoke-in-vm' -Parameters (New-WrapperParameters -Inner @{ Name = 'beta'; Fail = 'yes' })
        $run.ExitCode | Should -Be 1
        $result = Get-RunResult $run
        $result.script | Should -Be 'inner-probe'
        $result.error.code | Should -Be 'ProbeFailed'
    }

    It 'refuses a VM the host does not run (VmNotOnHost, permanent), without signing in' {
        Mock Get-HostedVm { @() }
        $run = Invoke-HostScript -Name 'invoke-in-vm' -Parameters (New-WrapperParameters)
        $run.ExitCode | Should -Be 1
        $result = Get-RunResult $run
        $result.script | Should -Be 'invoke-in-vm'
        $result.error.code | Should -Be 'VmNotOnHost'
        $result.error.permanent | Should -BeTrue
        Should -Invoke Invoke-InVm -Times 0 -Exactly
    }

    It 'refuses a name two VMs share (VmNameAmbiguous, permanent)' {
        Mock Get-HostedVm { @([pscustomobject]@{ State = 'Running' }, [pscustomobject]@{ State = 'Running' }) }
        $result = Get-RunResult (Invoke-HostScript -Name 'invoke-in-vm' -Parameters (New-WrapperParameters))
        $result.error.code | Should -Be 'VmNameAmbiguous'
        $result.error.permanent | Should -BeTrue
    }

    It 'says a VM that is off is retryable (VmNotRunning)' {
        Mock Get-HostedVm { @([pscustomobject]@{ Name = $Name; State = 'Off' }) }
        $run = Invoke-HostScript -Name 'invoke-in-vm' -Parameters (New-WrapperParameters)
        $run.ExitCode | Should -Be 1
        $result = Get-RunResult $run
        $result.error.code | Should -Be 'VmNotRunning'
        $result.error.permanent | Should -BeFalse
        Should -Invoke Invoke-InVm -Times 0 -Exactly
    }

    It 'says a refused credential is permanent (GuestCredentialRejected), never naming the password' {
        Mock Invoke-InVm { throw [System.Management.Automation.Remoting.PSRemotingTransportException]::new('The credential is invalid.') }
        $run = Invoke-HostScript -Name 'invoke-in-vm' -Parameters (New-WrapperParameters)
        $run.ExitCode | Should -Be 1
        $result = Get-RunResult $run
        $result.error.code | Should -Be 'GuestCredentialRejected'
        $result.error.permanent | Should -BeTrue
        ($run.Lines -join "`n") | Should -Not -Match ([regex]::Escape($script:Password))
    }

    It 'says a VM that stopped meanwhile is retryable (VmNotRunning)' {
        Mock Invoke-InVm { throw [System.InvalidOperationException]::new('The virtual machine ContainerHostVM1 is not in running state.') }
        $result = Get-RunResult (Invoke-HostScript -Name 'invoke-in-vm' -Parameters (New-WrapperParameters))
        $result.error.code | Should -Be 'VmNotRunning'
        $result.error.permanent | Should -BeFalse
    }

    It 'says PowerShell Direct is unavailable, retryably, when the guest does not answer' {
        Mock Invoke-InVm { throw [System.InvalidOperationException]::new('An error has occurred which Windows PowerShell cannot handle. A remote session might have ended.') }
        $result = Get-RunResult (Invoke-HostScript -Name 'invoke-in-vm' -Parameters (New-WrapperParameters))
        $result.error.code | Should -Be 'PowerShellDirectUnavailable'
        $result.error.permanent | Should -BeFalse
    }

    It 'says PowerShell Direct is unavailable, permanently, on a host without the Hyper-V module' {
        Mock Test-HyperVModule { $false }
        $result = Get-RunResult (Invoke-HostScript -Name 'invoke-in-vm' -Parameters (New-WrapperParameters))
        $result.error.code | Should -Be 'PowerShellDirectUnavailable'
        $result.error.permanent | Should -BeTrue
        Should -Invoke Get-HostedVm -Times 0 -Exactly
    }

    It 'reports GuestResultMissing (retryable) when the guest prints no result line' {
        Mock Invoke-InVm { @('half a run') }
        $run = Invoke-HostScript -Name 'invoke-in-vm' -Parameters (New-WrapperParameters)
        $run.ExitCode | Should -Be 1
        $result = Get-RunResult $run
        $result.script | Should -Be 'invoke-in-vm'
        $result.error.code | Should -Be 'GuestResultMissing'
        $result.error.permanent | Should -BeFalse
    }

    It 'refuses <Parameter> <Value> before anything runs' -ForEach @(
        @{ Parameter = 'VmName'; Value = 'vm;calc' }
        @{ Parameter = 'VmName'; Value = '-vm' }
        @{ Parameter = 'VmName'; Value = "vm`n" }
        @{ Parameter = 'GuestUserName'; Value = 'user name' }
        @{ Parameter = 'GuestUserName'; Value = 'user$(calc)' }
        @{ Parameter = 'InnerScript'; Value = 'not base64!' }
        @{ Parameter = 'InnerParameters'; Value = "e30=`n" }
        @{ Parameter = 'GuestPassword'; Value = 'pass word' }
    ) {
        $parameters = New-WrapperParameters
        $parameters[$Parameter] = $Value
        $run = Invoke-HostScript -Name 'invoke-in-vm' -Parameters $parameters
        $run.BindingError | Should -Not -BeNullOrEmpty
        Should -Invoke Invoke-InVm -Times 0 -Exactly
    }
}
