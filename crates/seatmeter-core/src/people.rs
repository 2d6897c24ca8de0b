//! Who acts in an account: e-mail addresses, roles and administrator areas,
//! parsed once where they enter so that inner code never re-checks them.

use std::fmt;

/// An e-mail address, checked for shape and kept as given; compared by [`Email::key`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

/// Why a text is not an e-mail address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailError(&'static str);

impl fmt::Display for EmailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for EmailError {}

impl Email {
    /// Checks `text` (surrounding spaces removed) against the one rule
    /// Seatmeter has for addresses, a plain subset of RFC 5321 that every
    /// mail server and the mail library accept: `local@domain`, at most 254
    /// characters; the local part (at most 64) of letters, digits and
    /// ``!#$%&'*+/=?^_`{|}~-``, in dot-separated pieces; the domain of two
    /// or more dot-separated labels of letters, digits and inner hyphens
    /// (at most 63 each), ASCII only. Quoted local parts, comments, IP
    /// literals and international addresses are refused.
    pub fn parse(text: &str) -> Result<Self, EmailError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(EmailError("is empty"));
        }
        if text.len() > 254 {
            return Err(EmailError("is longer than 254 characters"));
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EmailError("contains a space or a control character"));
        }
        let Some((local, domain)) = text.rsplit_once('@') else {
            return Err(EmailError("has no @ (expected name@example.com)"));
        };
        if local.is_empty() || local.len() > 64 || local.contains('@') {
            return Err(EmailError("has an empty, too long or doubled part before the @"));
        }
        if !local.split('.').all(|piece| !piece.is_empty() && piece.bytes().all(is_atext)) {
            return Err(EmailError(
                "has a character that addresses may not have before the @ (letters, digits, dots and \
                 !#$%&'*+/=?^_`{|}~- only; no dot first, last or twice in a row)",
            ));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 || !labels.iter().all(|label| is_label(label)) {
            return Err(EmailError(
                "has no valid domain after the @ (expected name@example.com: letters, digits, inner \
                 hyphens and dots)",
            ));
        }
        Ok(Self(text.to_string()))
    }

    /// The address as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form addresses are compared in: case-insensitive.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A character an address's local part may hold between dots (RFC 5322's `atext`).
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~-".contains(&b)
}

/// A domain label: 1 to 63 letters, digits and hyphens, no hyphen first or last.
fn is_label(label: &str) -> bool {
    let bytes = label.as_bytes();
    (1..=63).contains(&bytes.len())
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && bytes.first() != Some(&b'-')
        && bytes.last() != Some(&b'-')
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user's role in an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Sees and changes only their own things.
    Member,
    /// Administers the account, in all areas or in some.
    Administrator,
}

impl Role {
    /// The stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Administrator => "administrator",
        }
    }

    /// Parses the stored and API name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "member" => Some(Role::Member),
            "administrator" => Some(Role::Administrator),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_and_compared_without_case() {
        let e = Email::parse("  Jane.Doe@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "Jane.Doe@Example.COM");
        assert_eq!(e.key(), "jane.doe@example.com");
        for bad in [
            "",
            "jane",
            "jane@",
            "@example.com",
            "jane@example",
            "ja ne@example.com",
            "jane@example..com",
            "<b>x</b>@w.example",
            "\"quoted\"@example.com",
            "jane.@example.com",
            ".jane@example.com",
            "ja..ne@example.com",
            "jane@-example.com",
            "jane@example-.com",
            "jane@[127.0.0.1]",
            "josé@example.com",
            "jane@exämple.com",
            "jane(comment)@example.com",
            "jane@example.com.",
            "a,b@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        for good in ["o'brien+tag@mail.example.co.uk", "x_y-z@a1-b2.example", "{odd}|mail~@example.org"] {
            assert!(Email::parse(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn roles_round_trip() {
        for role in [Role::Member, Role::Administrator] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("owner"), None);
    }
}

/// An area an administrator may be limited to. An administrator limited to
/// none is unrestricted and has them all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AdminArea {
    /// Users and their licenses.
    UsersLicenses,
    /// Billing and license purchases.
    Billing,
    /// Security settings.
    Security,
    /// Privacy, including erasing a person's activities.
    Privacy,
    /// Branding of pages and notifications.
    Branding,
    /// Reports.
    Reports,
}

impl AdminArea {
    /// Every area.
    pub const ALL: [AdminArea; 6] = [
        AdminArea::UsersLicenses,
        AdminArea::Billing,
        AdminArea::Security,
        AdminArea::Privacy,
        AdminArea::Branding,
        AdminArea::Reports,
    ];

    /// The stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            AdminArea::UsersLicenses => "users_licenses",
            AdminArea::Billing => "billing",
            AdminArea::Security => "security",
            AdminArea::Privacy => "privacy",
            AdminArea::Branding => "branding",
            AdminArea::Reports => "reports",
        }
    }

    /// Parses the stored and API name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

/// A kind of license.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LicenseKind {
    /// Assigned: lets its holder own an enabled booking page.
    ScheduledMeetings,
    /// Assigned: lets its holder take live chats and instant calls.
    LiveEngagement,
    /// Metered by usage, not assigned.
    Host,
}

impl LicenseKind {
    /// Every kind.
    pub const ALL: [LicenseKind; 3] =
        [LicenseKind::ScheduledMeetings, LicenseKind::LiveEngagement, LicenseKind::Host];

    /// The stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            LicenseKind::ScheduledMeetings => "scheduled_meetings",
            LicenseKind::LiveEngagement => "live_engagement",
            LicenseKind::Host => "host",
        }
    }

    /// Parses the stored and API name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Whether licenses of this kind are assigned to users (host licenses are metered).
    pub fn is_assigned(self) -> bool {
        self != LicenseKind::Host
    }
}

#[cfg(test)]
mod kind_tests {
    use super::*;

    #[test]
    fn areas_and_kinds_round_trip() {
        for area in AdminArea::ALL {
            assert_eq!(AdminArea::parse(area.as_str()), Some(area));
        }
        for kind in LicenseKind::ALL {
            assert_eq!(LicenseKind::parse(kind.as_str()), Some(kind));
        }
        assert!(!LicenseKind::Host.is_assigned());
        assert_eq!(LicenseKind::parse("seats"), None);
    }
}
