//! Who may do what: typed account and user ids, a user's rights (role and
//! admin areas), and the rules about changing rights, as pure functions
//! that the API and the console both ask.
//!
//! What an administrator's areas allow is one rule per [`Capability`]
//! ([`Rights::may`]), and who may change whose rights is [`may_add`] and
//! [`may_change`]; the server only supplies the facts (the caller's rights,
//! the user before and after a change, how many other unrestricted
//! administrators remain). Rules about one's own things (a page one owns, a
//! meeting one hosts) sit with those things in the server's use cases.

use std::fmt;

use crate::people::{AdminArea, Role};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(String);

        impl $name {
            /// The id as stored.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_string())
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }
    };
}

id_type!(
    /// An account's id (`acc_…`): every query is scoped to one.
    AccountId
);
id_type!(
    /// A user's id (`usr_…`), unique across accounts.
    UserId
);

/// The admin areas an administrator is limited to; none means all (an
/// unrestricted administrator), and a member has none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Areas(u8);

impl Areas {
    /// No area (for an administrator: unrestricted).
    pub const NONE: Areas = Areas(0);

    fn bit(area: AdminArea) -> u8 {
        1 << (AdminArea::ALL.iter().position(|a| *a == area).unwrap_or(0))
    }

    /// These areas.
    pub fn of(areas: impl IntoIterator<Item = AdminArea>) -> Self {
        Areas(areas.into_iter().fold(0, |bits, a| bits | Self::bit(a)))
    }

    /// Stands for names this server does not know (a newer server's area,
    /// or a damaged value): it makes the set not empty, so that an
    /// administrator limited to such areas is never taken as unrestricted,
    /// and it grants nothing here.
    const UNKNOWN: u8 = 1 << 7;

    /// Whether `area` is among them.
    pub fn contains(self, area: AdminArea) -> bool {
        self.0 & Self::bit(area) != 0
    }

    /// Whether there are none (for an administrator: unrestricted).
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The areas, in [`AdminArea::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = AdminArea> {
        AdminArea::ALL.into_iter().filter(move |a| self.contains(*a))
    }

    /// The stored form: the areas' names, comma-separated, sorted.
    pub fn to_stored(self) -> String {
        self.iter().map(AdminArea::as_str).collect::<Vec<_>>().join(",")
    }

    /// From the stored form. An unknown name grants nothing here, but the
    /// set is not empty for it: limits never vanish into "unrestricted".
    pub fn from_stored(text: &str) -> Self {
        let names = text.split(',').filter(|name| !name.is_empty());
        names.fold(Areas::NONE, |areas, name| match AdminArea::parse(name) {
            Some(area) => Areas(areas.0 | Self::bit(area)),
            None => Areas(areas.0 | Self::UNKNOWN),
        })
    }
}

/// What a user may do: their role and, for an administrator, the areas.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rights {
    /// Member or administrator.
    pub role: Role,
    /// For an administrator, the areas they are limited to (none: all).
    pub areas: Areas,
}

impl Rights {
    /// A member's rights.
    pub const MEMBER: Rights = Rights { role: Role::Member, areas: Areas::NONE };
    /// An unrestricted administrator's rights.
    pub const UNRESTRICTED: Rights = Rights { role: Role::Administrator, areas: Areas::NONE };

    /// From the stored role and areas (an unknown role counts as a member).
    pub fn from_stored(role: &str, areas: &str) -> Self {
        match Role::parse(role) {
            Some(Role::Administrator) => {
                Rights { role: Role::Administrator, areas: Areas::from_stored(areas) }
            }
            _ => Rights::MEMBER,
        }
    }

    /// Whether these rights administer `area`.
    pub fn administers(self, area: AdminArea) -> bool {
        self.role == Role::Administrator && (self.areas.is_empty() || self.areas.contains(area))
    }

    /// Whether these are an administrator's of every area. Only such an
    /// administrator hands out administrator rights, so that nobody can
    /// widen their own.
    pub fn is_unrestricted_admin(self) -> bool {
        self.role == Role::Administrator && self.areas.is_empty()
    }

    /// Whether these rights are at least `other`'s: everything `other` may
    /// do, these may too.
    pub fn covers(self, other: Rights) -> bool {
        match (self.role, other.role) {
            (_, Role::Member) => true,
            (Role::Member, Role::Administrator) => false,
            (Role::Administrator, Role::Administrator) => {
                self.areas.is_empty()
                    || (!other.areas.is_empty() && other.areas.iter().all(|a| self.areas.contains(a)))
            }
        }
    }
}

/// Does `actor`, user `actor_id`, see and manage what is user `user_id`'s
/// (the user themself, their scheduling privileges)? Everyone manages their
/// own; an administrator of users & licenses manages everyone's in their
/// account.
pub fn manages_user(actor: Rights, actor_id: &str, user_id: &str) -> bool {
    actor_id == user_id || actor.administers(AdminArea::UsersLicenses)
}

/// Something a user may be allowed to do; [`Rights::may`] is the one rule
/// for each, asked by the API and the console alike (so what a page offers
/// is what the API allows).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Capability {
    /// See and change every user, their licenses and booking pages, and meetings of others.
    ManageUsers,
    /// Enter PAKs and install license files.
    InstallLicenses,
    /// See the license pools, files and the history of installs.
    SeeLicenses,
    /// See the account's host-license usage and its meetings.
    SeeUsage,
    /// See the whole activity stream (not only one's own).
    SeeWholeActivityStream,
    /// Erase a person's activities.
    EraseActivities,
    /// Change the security policies and see and revoke everyone's API tokens.
    ManageSecurity,
    /// See the compliance state and the notifications sent.
    SeeCompliance,
    /// Rename the account, move its time zone, add administrators and change rights.
    ManageAccount,
}

impl Capability {
    /// Every capability.
    pub const ALL: [Capability; 9] = [
        Capability::ManageUsers,
        Capability::InstallLicenses,
        Capability::SeeLicenses,
        Capability::SeeUsage,
        Capability::SeeWholeActivityStream,
        Capability::EraseActivities,
        Capability::ManageSecurity,
        Capability::SeeCompliance,
        Capability::ManageAccount,
    ];
}

impl Rights {
    /// Whether these rights allow `capability`: the one place each rule is written.
    pub fn may(self, capability: Capability) -> bool {
        use AdminArea::*;
        match capability {
            Capability::ManageUsers => self.administers(UsersLicenses),
            Capability::InstallLicenses => self.administers(Billing),
            Capability::SeeLicenses => self.administers(Billing) || self.administers(UsersLicenses),
            Capability::SeeUsage => self.administers(Reports) || self.administers(UsersLicenses),
            Capability::SeeWholeActivityStream => self.administers(Reports) || self.administers(Security),
            Capability::EraseActivities => self.administers(Privacy),
            Capability::ManageSecurity => self.administers(Security),
            Capability::SeeCompliance => self.role == Role::Administrator,
            Capability::ManageAccount => self.is_unrestricted_admin(),
        }
    }
}

/// A user as the rules about rights see them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Standing {
    /// Their rights.
    pub rights: Rights,
    /// Whether they are disabled.
    pub disabled: bool,
}

impl Standing {
    /// Whether this user keeps the account manageable: an enabled
    /// unrestricted administrator.
    pub fn is_enabled_unrestricted_admin(self) -> bool {
        !self.disabled && self.rights.is_unrestricted_admin()
    }
}

/// Why a change of rights is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RightsRefusal {
    /// Only an unrestricted administrator adds administrators, changes roles
    /// or areas, or disables (or enables) an administrator.
    NeedsUnrestrictedAdmin,
    /// The change would leave the account without an enabled unrestricted
    /// administrator.
    LastUnrestrictedAdmin,
    /// Nobody changes their own role, areas or access: another
    /// administrator does. So no one locks themself out by mistake, and a
    /// caller (a person, or a program with their token) can never take its
    /// own rights away.
    OwnRights,
}

/// May a user change themself from `before` to `after`? Only what is not
/// their role, areas or access.
pub fn may_change_own(before: Standing, after: Standing) -> Result<(), RightsRefusal> {
    if before != after {
        return Err(RightsRefusal::OwnRights);
    }
    Ok(())
}

/// May `actor` add a user with `rights`? Any administrator of users &
/// licenses adds members; only an unrestricted administrator adds
/// administrators. (Whether the actor administers users & licenses at all
/// is asked first, with its own message.)
pub fn may_add(actor: Rights, rights: Rights) -> Result<(), RightsRefusal> {
    if rights.role == Role::Administrator && !actor.is_unrestricted_admin() {
        return Err(RightsRefusal::NeedsUnrestrictedAdmin);
    }
    Ok(())
}

/// Does changing a user from `before` to `after` need an unrestricted
/// administrator? It does when the role or the areas change, and when an
/// administrator is disabled or enabled.
pub fn needs_unrestricted_admin(before: Standing, after: Standing) -> bool {
    let rights_changed = before.rights != after.rights;
    let administrator_access_changed =
        before.rights.role == Role::Administrator && before.disabled != after.disabled;
    rights_changed || administrator_access_changed
}

/// May `actor` change a user from `before` to `after`, with `others` other
/// enabled unrestricted administrators in the account? The one rule both
/// the API and the console ask. (`others` need only be counted when
/// [`loses_unrestricted_admin`] says so.)
pub fn may_change(
    actor: Rights,
    before: Standing,
    after: Standing,
    others: u64,
) -> Result<(), RightsRefusal> {
    if needs_unrestricted_admin(before, after) && !actor.is_unrestricted_admin() {
        return Err(RightsRefusal::NeedsUnrestrictedAdmin);
    }
    if loses_unrestricted_admin(before, after) && others == 0 {
        return Err(RightsRefusal::LastUnrestrictedAdmin);
    }
    Ok(())
}

/// Whether the change takes an enabled unrestricted administrator away
/// (then the other ones must be counted, under a lock).
pub fn loses_unrestricted_admin(before: Standing, after: Standing) -> bool {
    before.is_enabled_unrestricted_admin() && !after.is_enabled_unrestricted_admin()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn rights() -> impl Strategy<Value = Rights> {
        (any::<bool>(), 0u8..64).prop_map(|(admin, bits)| {
            if admin { Rights { role: Role::Administrator, areas: Areas(bits) } } else { Rights::MEMBER }
        })
    }

    fn standing() -> impl Strategy<Value = Standing> {
        (rights(), any::<bool>()).prop_map(|(rights, disabled)| Standing { rights, disabled })
    }

    #[test]
    fn areas_round_trip_through_their_stored_form() {
        let areas = Areas::of([AdminArea::Reports, AdminArea::Billing]);
        assert_eq!(areas.to_stored(), "billing,reports");
        assert_eq!(Areas::from_stored("reports,billing"), areas);
        assert!(Areas::from_stored("").is_empty());
    }

    #[test]
    fn an_area_this_server_does_not_know_grants_nothing_and_never_unrestricts() {
        for stored in ["future_area", " reports", "reports,future_area", ","] {
            let rights = Rights::from_stored("administrator", stored);
            if stored == "," {
                assert!(rights.is_unrestricted_admin(), "no names at all is no limit");
                continue;
            }
            assert!(!rights.is_unrestricted_admin(), "{stored:?}");
            assert!(!rights.may(Capability::ManageAccount), "{stored:?}");
            assert_eq!(rights.administers(AdminArea::Reports), stored == "reports,future_area", "{stored:?}");
            assert!(!rights.administers(AdminArea::Billing), "{stored:?}");
        }
    }

    #[test]
    fn an_unrestricted_administrator_administers_every_area_and_a_member_none() {
        for area in AdminArea::ALL {
            assert!(Rights::UNRESTRICTED.administers(area));
            assert!(!Rights::MEMBER.administers(area));
        }
        let billing = Rights { role: Role::Administrator, areas: Areas::of([AdminArea::Billing]) };
        assert!(billing.administers(AdminArea::Billing));
        assert!(!billing.administers(AdminArea::Security));
    }

    #[test]
    fn each_capability_follows_its_areas() {
        let only = |area| Rights { role: Role::Administrator, areas: Areas::of([area]) };
        for capability in Capability::ALL {
            assert!(Rights::UNRESTRICTED.may(capability), "{capability:?}");
            assert!(!Rights::MEMBER.may(capability), "{capability:?}");
        }
        assert!(only(AdminArea::Billing).may(Capability::InstallLicenses));
        assert!(!only(AdminArea::UsersLicenses).may(Capability::InstallLicenses));
        assert!(only(AdminArea::UsersLicenses).may(Capability::SeeLicenses));
        assert!(only(AdminArea::Reports).may(Capability::SeeUsage));
        assert!(only(AdminArea::Security).may(Capability::SeeWholeActivityStream));
        assert!(!only(AdminArea::Privacy).may(Capability::SeeWholeActivityStream));
        assert!(only(AdminArea::Privacy).may(Capability::EraseActivities));
        assert!(only(AdminArea::Branding).may(Capability::SeeCompliance));
        assert!(!only(AdminArea::Branding).may(Capability::ManageAccount));
    }

    proptest! {
        #[test]
        fn wider_rights_may_everything_narrower_ones_may(a in rights(), b in rights()) {
            if a.covers(b) {
                for capability in Capability::ALL {
                    prop_assert!(!b.may(capability) || a.may(capability), "{:?}", capability);
                }
            }
        }

        #[test]
        fn only_an_unrestricted_administrator_changes_rights(
            actor in rights(), before in standing(), after in standing(), others in 0u64..3,
        ) {
            let verdict = may_change(actor, before, after, others);
            if before.rights != after.rights && !actor.is_unrestricted_admin() {
                prop_assert_eq!(verdict, Err(RightsRefusal::NeedsUnrestrictedAdmin));
            }
            if verdict.is_ok() && !actor.is_unrestricted_admin() {
                prop_assert_eq!(before.rights, after.rights);
            }
        }

        #[test]
        fn the_last_unrestricted_administrator_is_never_removed(
            before in standing(), after in standing(), others in 0u64..3,
        ) {
            let verdict = may_change(Rights::UNRESTRICTED, before, after, others);
            let account_keeps_one = others > 0 || after.is_enabled_unrestricted_admin()
                || !before.is_enabled_unrestricted_admin();
            prop_assert_eq!(verdict.is_ok(), account_keeps_one);
        }

        #[test]
        fn nobody_widens_their_own_rights(actor in rights(), after in rights(), disabled in any::<bool>()) {
            // A user changing themselves: what they may do afterwards, they could do before.
            let before = Standing { rights: actor, disabled: false };
            let after = Standing { rights: after, disabled };
            if may_change(actor, before, after, 1).is_ok() {
                prop_assert!(actor.covers(after.rights));
            }
        }

        #[test]
        fn nobody_changes_their_own_role_areas_or_access(before in standing(), after in standing()) {
            prop_assert_eq!(may_change_own(before, after).is_ok(), before == after);
        }

        #[test]
        fn covering_is_a_partial_order(a in rights(), b in rights(), c in rights()) {
            prop_assert!(a.covers(a));
            if a.covers(b) && b.covers(c) {
                prop_assert!(a.covers(c));
            }
            if a.covers(b) {
                for area in AdminArea::ALL {
                    prop_assert!(!b.administers(area) || a.administers(area));
                }
            }
        }

        #[test]
        fn users_manage_themselves_and_user_administrators_everyone(
            actor in rights(), me in 0u8..3, other in 0u8..3,
        ) {
            let (me, other) = (format!("usr_{me}"), format!("usr_{other}"));
            prop_assert!(manages_user(actor, &me, &me));
            let verdict = manages_user(actor, &me, &other);
            prop_assert_eq!(verdict, me == other || actor.administers(AdminArea::UsersLicenses));
            if actor.role == Role::Member {
                prop_assert_eq!(verdict, me == other);
            }
        }

        #[test]
        fn administrators_are_added_only_by_unrestricted_ones(actor in rights(), added in rights()) {
            let verdict = may_add(actor, added);
            prop_assert_eq!(verdict.is_ok(), added.role == Role::Member || actor.is_unrestricted_admin());
        }
    }
}
