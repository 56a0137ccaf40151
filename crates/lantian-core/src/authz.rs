//! Who is acting, and what they may do: one permission matrix, checked in one place.
//!
//! There is no impersonation of customers, by design: staff act as themselves, and the audit
//! trail says so.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The two kinds of people with accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubjectKind {
    Customer,
    Staff,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Customer => "customer",
            SubjectKind::Staff => "staff",
        }
    }

    pub fn parse(s: &str) -> Option<SubjectKind> {
        match s {
            "customer" => Some(SubjectKind::Customer),
            "staff" => Some(SubjectKind::Staff),
            _ => None,
        }
    }
}

/// A person with an account: the owner of sessions, consents, notices, tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Subject {
    pub kind: SubjectKind,
    pub id: i64,
}

impl Subject {
    pub fn staff(id: i64) -> Subject {
        Subject { kind: SubjectKind::Staff, id }
    }
    pub fn customer(id: i64) -> Subject {
        Subject { kind: SubjectKind::Customer, id }
    }
    /// `staff:7`: the row identifier used in encryption AAD and audit targets.
    pub fn key(&self) -> String {
        format!("{}:{}", self.kind.as_str(), self.id)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Support,
    Billing,
    Compliance,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Owner, Role::Admin, Role::Support, Role::Billing, Role::Compliance];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Support => "support",
            Role::Billing => "billing",
            Role::Compliance => "compliance",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Everything a staff member may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// See the console at all.
    Console,
    /// Read the audit trail.
    AuditRead,
    /// Create and deactivate staff accounts.
    StaffManage,
    /// See a masked personal value in full (always with a reason, always audited).
    RevealPersonalData,
    /// See and retry dead jobs.
    JobsManage,
    /// Customers: look up accounts (masked).
    CustomersRead,
    /// Catalog, prices, coupons.
    CatalogManage,
    /// Invoices, refunds, balance adjustments.
    BillingManage,
    /// Tickets: answer, assign, close.
    SupportHandle,
    /// Privacy requests, legal holds, authority demands, incidents.
    ComplianceManage,
    /// Search the access log (IP addresses, devices, pages and sign-ins of everyone).
    AccessLogRead,
    /// Servers: the provisioning queue, retries, the reconciler's report, and suspending,
    /// resuming or terminating a service by hand.
    ServicesManage,
}

/// The permission matrix: which roles grant what.
fn granted(role: Role, p: Permission) -> bool {
    use Permission::*;
    use Role::*;
    match role {
        Owner => true,
        Admin => !matches!(p, ComplianceManage),
        // Support looks into sign-in trouble and stolen accounts; billing has no need.
        Support => matches!(p, Console | RevealPersonalData | CustomersRead | SupportHandle | AccessLogRead),
        Billing => matches!(p, Console | CustomersRead | CatalogManage | BillingManage),
        Compliance => {
            matches!(p, Console | AuditRead | RevealPersonalData | CustomersRead | ComplianceManage | AccessLogRead)
        }
    }
}

/// The roles that grant `p`, to find the staff who should hear of something.
pub fn roles_granting(p: Permission) -> Vec<Role> {
    Role::ALL.into_iter().filter(|r| granted(*r, p)).collect()
}

/// Who is acting. Cron jobs and gateway callbacks act as `System`, never as a fake admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Customer(i64),
    Staff { id: i64, roles: Vec<Role> },
    System,
}

impl Principal {
    pub fn can(&self, p: Permission) -> bool {
        match self {
            Principal::Staff { roles, .. } => roles.iter().any(|r| granted(*r, p)),
            Principal::Customer(_) | Principal::System => false,
        }
    }

    /// The one check every staff-facing service function makes first.
    pub fn require(&self, p: Permission) -> Result<()> {
        if self.can(p) { Ok(()) } else { Err(Error::Forbidden) }
    }

    pub fn subject(&self) -> Option<Subject> {
        match self {
            Principal::Customer(id) => Some(Subject::customer(*id)),
            Principal::Staff { id, .. } => Some(Subject::staff(*id)),
            Principal::System => None,
        }
    }

    pub fn is_owner(&self) -> bool {
        matches!(self, Principal::Staff { roles, .. } if roles.contains(&Role::Owner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staff(roles: &[Role]) -> Principal {
        Principal::Staff { id: 1, roles: roles.to_vec() }
    }

    #[test]
    fn the_matrix() {
        assert!(staff(&[Role::Owner]).can(Permission::ComplianceManage));
        assert!(!staff(&[Role::Admin]).can(Permission::ComplianceManage));
        assert!(staff(&[Role::Admin]).can(Permission::StaffManage));
        assert!(!staff(&[Role::Support]).can(Permission::AuditRead));
        assert!(!staff(&[Role::Support]).can(Permission::BillingManage));
        assert!(staff(&[Role::Billing]).can(Permission::BillingManage));
        assert!(!staff(&[Role::Billing]).can(Permission::RevealPersonalData));
        assert!(staff(&[Role::Compliance]).can(Permission::AuditRead));
        assert!(staff(&[Role::Support, Role::Billing]).can(Permission::BillingManage));
        assert!(!staff(&[]).can(Permission::Console));
        assert!(!Principal::Customer(1).can(Permission::Console));
        assert!(!Principal::System.can(Permission::RevealPersonalData));
        assert!(matches!(Principal::Customer(1).require(Permission::AuditRead), Err(Error::Forbidden)));
        for role in [Role::Owner, Role::Admin, Role::Compliance, Role::Support] {
            assert!(staff(&[role]).can(Permission::AccessLogRead), "{role:?} reads the access log");
        }
        assert!(!staff(&[Role::Billing]).can(Permission::AccessLogRead));
        assert!(!Principal::Customer(1).can(Permission::AccessLogRead));
        assert!(!Principal::System.can(Permission::AccessLogRead));
    }
}
