//! Queries in the style of public Defender and Sentinel hunting/detection rules: the idioms
//! analysts actually write must all parse.

const QUERIES: &[&str] = &[
    r#"let MaliciousUrls = dynamic(["evil.com", "bad.net"]);
UrlClickEvents
| where Timestamp > ago(30d)
| where ActionType == "ClickAllowed" or IsClickedThrough != "0"
| where Url has_any (MaliciousUrls)
| join kind=leftouter (EmailEvents | project NetworkMessageId, Subject, SenderFromAddress) on NetworkMessageId
| summarize Clicks = count(), Users = make_set(AccountUpn, 100) by Url, bin(Timestamp, 1d)
| order by Clicks desc"#,
    r#"DeviceProcessEvents
| where Timestamp > ago(7d)
| where FileName in~ ("powershell.exe", "pwsh.exe") and ProcessCommandLine has_any ("-enc", "-EncodedCommand")
| where InitiatingProcessParentFileName =~ "winword.exe"
| extend Decoded = base64_decode_tostring(extract(@"-enc(?:odedcommand)?\s+([A-Za-z0-9+/=]+)", 1, ProcessCommandLine))
| project-reorder Timestamp, DeviceName, ProcessCommandLine, Decoded
| top 100 by Timestamp desc"#,
    r#"SigninLogs
| where TimeGenerated > ago(1d)
| where ResultType !in ("0", "50125", "50140")
| extend City = tostring(LocationDetails.city), OS = tostring(DeviceDetail.operatingSystem)
| summarize FailedCount = count(), Cities = make_set(City), StartTime = min(TimeGenerated), EndTime = max(TimeGenerated) by UserPrincipalName, IPAddress
| where FailedCount > 10
| extend timestamp = StartTime, AccountCustomEntity = UserPrincipalName, IPCustomEntity = IPAddress"#,
    r#"let timeframe = 1d;
let threshold = 5;
SecurityEvent
| where TimeGenerated >= ago(timeframe)
| where EventID == 4625 and AccountType =~ "User"
| summarize count() by bin(TimeGenerated, 1h), Account, Computer
| where count_ > threshold"#,
    r#"CloudAppEvents
| where Timestamp > ago(1d)
| extend Props = parse_json(RawEventData)
| mv-expand Props.Parameters
| evaluate bag_unpack(Props_Parameters, "p_")"#,
    r#"let starttime = 14d;
let endtime = 1d;
SigninLogs
| where TimeGenerated between (startofday(ago(starttime)) .. startofday(ago(endtime)))
| make-series Count = count() default = 0 on TimeGenerated from startofday(ago(starttime)) to startofday(ago(endtime)) step 1d by UserPrincipalName
| extend (Anomalies, Score, Baseline) = series_decompose_anomalies(Count, 1.5, -1, 'linefit')
| mv-expand Count to typeof(long), Anomalies to typeof(double), Score to typeof(double), TimeGenerated to typeof(datetime)
| where Anomalies > 0
| render timechart"#,
    r#"IdentityInfo
| extend AccountName = tostring(split(AccountUPN, "@")[0]), AccountUPNSuffix = tostring(split(AccountUPN, "@")[1])
| project-rename UserName = AccountName
| project-away AccountUPNSuffix"#,
    r#"DeviceProcessEvents
| where InitiatingProcessCommandLine matches regex @"(?i)powershell.*-e(nc)?\s"
| where FolderPath !startswith @"C:\Windows\" and ProcessCommandLine contains @'\\.\pipe\'
| where InitiatingProcessVersionInfoCompanyName !has "Microsoft"
| project Timestamp, DeviceName, ProcessCommandLine"#,
    r#"union isfuzzy=true
    (DeviceEvents | where ActionType == "AntivirusDetection"),
    (DeviceProcessEvents | where FileName =~ "mimikatz.exe"),
    (DeviceFileEvents | where SHA256 in ("abc", "def"))
| summarize arg_max(Timestamp, *) by DeviceId"#,
    r#"let Users = materialize(IdentityInfo
    | summarize arg_max(Timestamp, *) by AccountObjectId
    | project AccountObjectId, AccountUpn);
DeviceNetworkEvents
| where RemotePort in (3389, 22) and RemoteIPType == "Public"
| summarize dcount(RemoteIP) by DeviceName, bin(Timestamp, 5m)
| where dcount_RemoteIP > 10
| lookup kind=leftouter (DeviceInfo | summarize arg_max(Timestamp, *) by DeviceId | project DeviceId, DeviceName, OSPlatform) on DeviceName"#,
    r#"DeviceFileEvents
| extend Category = case(FileSize > 10000000, "High", FileSize > 1000000, "Medium", "Low")
| where Timestamp between (ago(7d) .. now())
| where isnotempty(FileName) and FileName endswith ".exe" and not(FileName in~ ("setup.exe"))
| extend Hash = coalesce(SHA256, SHA1, MD5)
| summarize Files = dcount(Hash) by Category"#,
    r#"Syslog
| parse kind=regex SyslogMessage with ".*user=" User " .*from " SourceIP " port " Port:int
| where User !startswith "svc_" and ProcessName !~ "cron"
| where ipv4_is_private(SourceIP) == false"#,
    r#"DeviceProcessEvents
| where ProcessCommandLine has_all ("-nop", "-w", "hidden")
| join kind=inner (DeviceFileEvents | where ActionType == 'FileCreated') on $left.DeviceId == $right.DeviceId, $left.SHA1 == $right.SHA1
| project Timestamp, DeviceName, FileName, FolderPath, SHA256, InitiatingProcessAccountName, InitiatingProcessFileName, InitiatingProcessCommandLine, ReportId, DeviceId"#,
    r#"let Devices = DeviceInfo | where OSPlatform == "Windows10" | distinct DeviceName;
DeviceLogonEvents
| where DeviceName in~ (Devices)
| where LogonType in ("RemoteInteractive", "Network")
| evaluate pivot(LogonType, count(), DeviceName)"#,
    r#"SecurityAlert
| where ProviderName == "MDATP"
| extend Entities = todynamic(Entities)
| mv-apply e = Entities on (where e.Type == "ip" | project IP = tostring(e.Address))
| summarize by bin(TimeGenerated, 1h), IP"#,
    r#"UrlClickEvents
| summarize count_ = count() by Url
| extend ['Click Count'] = count_
| project-reorder ['Click Count'], *
| invoke FileProfile(SHA1, 1000)"#,
    r#"search in (SecurityEvent, Syslog) "mimikatz" | take 10"#,
    r#"let ExcludedAccounts = datatable(Account:string)["svc1", "svc2", 'svc3'];
let Allow = dynamic(["contoso.com"]);
DeviceNetworkEvents
| where TimeGenerated >= startofday(ago(7d)) and Timestamp > datetime(2024-01-01T00:00:00Z)
| where RemoteUrl has "." and not(RemoteUrl has_any (Allow))
| where InitiatingProcessAccountName !in (ExcludedAccounts)
| extend Domain = extract(@"^(?:https?://)?([^/:]+)", 1, RemoteUrl), d = datetime_diff('minute', now(), Timestamp)
| summarize make_set(RemoteIP, 10) by Domain, bin(Timestamp, 1m)
| sort by Timestamp asc"#,
    r#"let timeRange = 1d;
let GetEvents = (t:timespan, id:int = 4688) { SecurityEvent | where TimeGenerated > ago(t) and EventID == id };
GetEvents(timeRange) | count"#,
    r#"let IPList = externaldata(IPAddress:string)[@"https://example.com/ips.csv"] with (format="csv", ignoreFirstRecord=true);
CommonSecurityLog
| where DestinationIP in (IPList)
| extend HourOfDay = hourofday(TimeGenerated), DayOfWeek = dayofweek(TimeGenerated)
| where DayOfWeek in (0d, 6d)"#,
    r#"AuditLogs
| where Operation == "Add member to role."
| extend InitiatedBy = tostring(InitiatedBy.user.userPrincipalName), Target = tostring(TargetResources[0].userPrincipalName)
| extend Role = tostring(parse_json(tostring(TargetResources[0].modifiedProperties))[1].newValue)
| where Role has "Admin""#,
    r#"EmailEvents
| where Timestamp > ago(1d) // recent only
// skip internal mail
| where SenderFromDomain !endswith ".contoso.com"
| summarize Count=count() by bin(Timestamp, 1h), EmailDirection
| render columnchart with (kind=stacked, title="Mail per hour")"#,
    r#"DeviceRegistryEvents
| where RegistryKey has @"\CurrentVersion\Run" and ActionType == "RegistryValueSet"
| where RegistryValueData has_any ("powershell", "mshta", "rundll32")
| project-keep Timestamp, Device*, Registry*"#,
    r#"let lookback = 14d;
let known = SigninLogs | where TimeGenerated between (ago(lookback) .. ago(1d)) | summarize by IPAddress;
SigninLogs
| where TimeGenerated > ago(1d)
| join kind=leftanti known on IPAddress
| summarize Apps = make_set(AppDisplayName), Count = count() by UserPrincipalName, IPAddress
| where array_length(Apps) > 2"#,
    r#"DeviceEvents
| where ActionType == "AsrOfficeChildProcessAudited"
| extend Fields = parse_json(AdditionalFields)
| extend Rule = tostring(Fields.RuleId), IsAudit = tobool(Fields.IsAudit)
| where isnotnull(Rule)
| summarize Hits = countif(IsAudit), Devices = dcountif(DeviceId, IsAudit) by Rule
| top 10 by Hits"#,
    r#"OfficeActivity
| where TimeGenerated > ago(1d)
| where Operation in~ ("New-InboxRule", "Set-InboxRule")
| mv-expand Parameters
| extend Name = tostring(Parameters.Name), Value = tostring(Parameters.Value)
| where Name in~ ("ForwardTo", "RedirectTo") and isnotempty(Value)
| project TimeGenerated, UserId, ClientIP, Name, Value"#,
    r#"DeviceNetworkEvents
| where Timestamp > ago(1h)
| summarize ConnectionCount = count(), Ports = make_set(RemotePort) by DeviceId, RemoteIP, bin(Timestamp, 10m)
| where ConnectionCount > 100 and array_length(Ports) > 20
| extend Score = ConnectionCount * 1.5 / 60 % 7"#,
    r#"let a = toscalar(DeviceInfo | summarize count());
print Devices = a, Ratio = todouble(a) / 100, Now = now(), Yesterday = ago(1d), Week = 7d + 12h"#,
    r#"SecurityEvent
| where EventID == 4624
| parse EventData with * 'TargetUserName">' TargetUserName "<" *
| summarize LogonCount = count(), FirstSeen = min(TimeGenerated), LastSeen = max(TimeGenerated) by TargetUserName, IpAddress
| where LogonCount > 5 and LastSeen - FirstSeen < 10m"#,
    r#"DeviceProcessEvents
| where FileName =~ "rundll32.exe" and ProcessCommandLine matches regex @"(?i)javascript:"
| extend Parent = InitiatingProcessFileName, GrandParent = InitiatingProcessParentFileName
| join kind=innerunique (DeviceNetworkEvents | where RemoteIPType == "Public") on DeviceId, $left.ProcessId == $right.InitiatingProcessId
| project-away DeviceId1, ProcessId1"#,
    r#"let IsPrivate = (ip:string) { ipv4_is_private(ip) or ip startswith "fe80" };
DeviceNetworkEvents
| where not(IsPrivate(RemoteIP))
| summarize by RemoteIP"#,
    r#"AADSignInEventsBeta
| where Timestamp > ago(7d)
| where ErrorCode in (50126, 50053) and Application has_any ("Office", "Azure")
| summarize FailedUsers = dcount(AccountUpn), Apps = make_set(Application, 5) by IPAddress, Country
| where FailedUsers >= 10
| order by FailedUsers desc, Country asc nulls last"#,
    r#"DeviceTvmSoftwareVulnerabilities
| where VulnerabilitySeverityLevel == "Critical"
| summarize Vulns = dcount(CveId), arg_max(SoftwareVersion, SoftwareName) by DeviceName
| sample 20"#,
    r#"T
| where Timestamp > ago(1d) and (A or B) and C != ''
| extend x = iff(isempty(a), "none", a), y = strcat("a", @"\b", 'c'), z = hash_sha256(x)
| extend Tags = pack("a", 1, "b", 2), arr = pack_array(1, 2)
| where SHA1 in (dynamic(['abc','def'])) or SHA1 in~ (BadHashes)
| where datetime_diff("second", EndTime, StartTime) between (0 .. 60)
| summarize count() by tostring(AdditionalFields.x)"#,
    r#"set query_now = datetime(2024-05-01 00:00);
let T = view () { range i from 1 to 3 step 1 };
T | extend s = format_datetime(now(), 'yyyy-MM-dd') | serialize rn = row_number()"#,
];

#[test]
fn hunting_queries_parse() {
    let mut failures = Vec::new();
    for src in QUERIES {
        if let Err(diags) = kql::parse(src) {
            let rendered: String = diags.iter().map(|d| d.render(src)).collect();
            failures.push(format!("{src}\n{rendered}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
