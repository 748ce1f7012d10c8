//! The built-in Defender advanced hunting schemas. Queries over these tables plan and
//! run even when the tables are empty; the store fills them.

use crate::plan::Col;
use kql_value::KqlType;

/// (table, "Column:type, ...") for every built-in table, columns in Defender's order.
pub const DEFENDER_TABLES: &[(&str, &str)] = &[
    (
        "UrlClickEvents",
        "Timestamp:datetime, Url:string, ActionType:string, AccountUpn:string, Workload:string, \
         NetworkMessageId:string, ThreatTypes:string, DetectionMethods:string, IPAddress:string, \
         IsClickedThrough:bool, UrlChain:string, ReportId:string, AppName:string, AppVersion:string, \
         SourceId:string",
    ),
    (
        "EmailEvents",
        "Timestamp:datetime, NetworkMessageId:string, InternetMessageId:string, SenderMailFromAddress:string, \
         SenderFromAddress:string, SenderDisplayName:string, SenderObjectId:string, SenderMailFromDomain:string, \
         SenderFromDomain:string, SenderIPv4:string, SenderIPv6:string, RecipientEmailAddress:string, \
         RecipientObjectId:string, Subject:string, EmailClusterId:long, EmailDirection:string, \
         DeliveryAction:string, DeliveryLocation:string, ThreatTypes:string, ThreatNames:string, \
         DetectionMethods:string, ConfidenceLevel:string, BulkComplaintLevel:int, EmailAction:string, \
         EmailActionPolicy:string, EmailActionPolicyGuid:string, AuthenticationDetails:string, \
         AttachmentCount:int, UrlCount:int, EmailLanguage:string, Connectors:string, OrgLevelAction:string, \
         OrgLevelPolicy:string, UserLevelAction:string, UserLevelPolicy:string, ReportId:string, \
         AdditionalFields:string, LatestDeliveryLocation:string, LatestDeliveryAction:string, \
         ExchangeTransportRule:string, DistributionList:string, ForwardingInformation:string, Context:string, \
         To:dynamic, Cc:dynamic, ThreatClassification:string, RecipientDomain:string, EmailSize:int, \
         IsFirstContact:bool",
    ),
    (
        "EmailUrlInfo",
        "Timestamp:datetime, NetworkMessageId:string, Url:string, UrlDomain:string, UrlLocation:string, \
         ReportId:string, UrlChainId:string, UrlChainPosition:int",
    ),
    (
        "EmailPostDeliveryEvents",
        "Timestamp:datetime, NetworkMessageId:string, InternetMessageId:string, Action:string, \
         ActionType:string, ActionTrigger:string, ActionResult:string, RecipientEmailAddress:string, \
         DeliveryLocation:string, ThreatTypes:string, DetectionMethods:string, ReportId:string, \
         SenderFromAddress:string, EmailDirection:string",
    ),
    (
        "EmailAttachmentInfo",
        "Timestamp:datetime, NetworkMessageId:string, SenderFromAddress:string, SenderDisplayName:string, \
         SenderObjectId:string, RecipientEmailAddress:string, RecipientObjectId:string, FileName:string, \
         FileType:string, SHA256:string, FileSize:long, ThreatTypes:string, ThreatNames:string, \
         DetectionMethods:string, ReportId:string",
    ),
    (
        "MessageEvents",
        "Timestamp:datetime, LastEditedTime:datetime, TeamsMessageId:string, SenderEmailAddress:string, \
         SenderDisplayName:string, SenderObjectId:string, SenderType:string, RecipientDetails:dynamic, \
         IsOwnedThread:bool, MessageId:string, ParentMessageId:string, GroupId:string, GroupName:string, \
         ThreadId:string, ThreadName:string, ThreadType:string, ThreadSubType:string, IsExternalThread:bool, \
         MessageType:string, MessageSubtype:string, MessageVersion:string, Subject:string, ThreatTypes:string, \
         DetectionMethods:string, ConfidenceLevel:dynamic, DeliveryAction:string, DeliveryLocation:string, \
         ReportId:string, SafetyTip:string",
    ),
    (
        "MessageUrlInfo",
        "Timestamp:datetime, TeamsMessageId:string, Url:string, UrlDomain:string, ReportId:string",
    ),
    (
        "AlertInfo",
        "Timestamp:datetime, AlertId:string, Title:string, Category:string, Severity:string, \
         ServiceSource:string, DetectionSource:string, AttackTechniques:string",
    ),
    (
        "AlertEvidence",
        "Timestamp:datetime, AlertId:string, Title:string, Categories:string, AttackTechniques:string, \
         ServiceSource:string, DetectionSource:string, EntityType:string, EvidenceRole:string, \
         EvidenceDirection:string, FileName:string, FolderPath:string, SHA1:string, SHA256:string, \
         FileSize:long, ThreatFamily:string, RemoteIP:string, RemoteUrl:string, AccountName:string, \
         AccountDomain:string, AccountSid:string, AccountObjectId:string, AccountUpn:string, DeviceId:string, \
         DeviceName:string, LocalIP:string, NetworkMessageId:string, EmailSubject:string, ApplicationId:int, \
         Application:string, OAuthApplicationId:string, ProcessCommandLine:string, AdditionalFields:string, \
         RegistryKey:string, RegistryValueName:string, RegistryValueData:string, Severity:string",
    ),
    (
        "IdentityInfo",
        "Timestamp:datetime, ReportId:string, AccountObjectId:string, AccountUpn:string, OnPremSid:string, \
         AccountDisplayName:string, AccountName:string, AccountDomain:string, CriticalityLevel:int, \
         Type:string, DistinguishedName:string, CloudSid:string, GivenName:string, Surname:string, \
         Department:string, JobTitle:string, EmailAddress:string, SipProxyAddress:string, Address:string, \
         City:string, Country:string, IsAccountEnabled:bool, Manager:string, Phone:string, \
         CreatedDateTime:datetime, ChangeSource:string, BlastRadius:string, CompanyName:string, \
         DeletedDateTime:datetime, EmployeeId:string, OtherMailAddresses:dynamic, RiskLevel:string, \
         RiskLevelDetails:string, State:string, Tags:dynamic, AssignedRoles:dynamic, \
         PrivilegedEntraPimRoles:dynamic, TenantId:string, SourceSystem:string",
    ),
];

/// Parses "Name:type, Name:type" into columns.
pub fn parse_columns(spec: &str) -> Vec<Col> {
    spec.split(',')
        .filter_map(|p| {
            let (n, t) = p.trim().split_once(':')?;
            Some(Col::new(n.trim(), KqlType::parse(t.trim())?))
        })
        .collect()
}

/// The columns of built-in table `name`.
pub fn builtin_schema(name: &str) -> Option<Vec<Col>> {
    DEFENDER_TABLES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| parse_columns(s))
}

#[cfg(test)]
mod tests {
    #[test]
    fn url_click_events_has_fifteen_columns() {
        let cols = super::builtin_schema("UrlClickEvents").unwrap();
        assert_eq!(cols.len(), 15);
        assert_eq!(cols[9].name, "IsClickedThrough");
        for (n, s) in super::DEFENDER_TABLES {
            assert_eq!(super::parse_columns(s).len(), s.matches(':').count(), "{n}");
        }
    }
}
