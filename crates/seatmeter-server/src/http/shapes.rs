//! The shapes of the values the API takes, as its description states them:
//! each one the exact rule the use cases check (lengths, characters,
//! patterns, ranges, names), so that a request the description calls valid
//! is taken, and one it calls invalid is refused. Fields name these with
//! `#[schema(value_type = …)]` or `#[param(value_type = …)]`.
//!
//! Rules one field cannot state alone (a scheduled end after its start, a
//! scheduler other than the host, opening hours that start before they
//! end) are said in the operations' descriptions; `scripts/api-check`
//! lists the operations that have them.

use std::borrow::Cow;

use seatmeter_core::availability::WEEKDAYS;
use seatmeter_core::people::{AdminArea, LicenseKind, Role};
use utoipa::openapi::schema::{
    AdditionalProperties, AnyOfBuilder, ArrayBuilder, ArrayItems, KnownFormat, ObjectBuilder, OneOfBuilder,
    SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// A character of a text people type: anything but a control character
/// (`\u0000`–`\u001f`, `\u007f`–`\u009f`).
const VISIBLE: &str = r"[^\x00-\x1f\x7f-\x9f]";

/// A character that is not a space (Unicode `White_Space`) either.
const NOT_SPACE: &str = r"[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";

/// The pattern of a text people type: at least one character that is not a
/// space, and no control character.
pub fn text_pattern() -> String {
    format!("^{VISIBLE}*{NOT_SPACE}{VISIBLE}*$")
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn text(max: usize, description: &str) -> RefOr<Schema> {
    string()
        .description(Some(format!(
            "{description}: 1 to {max} characters, not only spaces, and no control characters \
             (surrounding spaces are removed)"
        )))
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some(text_pattern()))
        .into()
}

fn id(prefix: &str, what: &str) -> RefOr<Schema> {
    string()
        .description(Some(format!("The id of {what}: `{prefix}_` and 24 hexadecimal digits")))
        .pattern(Some(format!("^{prefix}_[0-9a-f]{{24}}$")))
        .examples([format!("{prefix}_65ddebfbad2fc4b0fa1c742e")])
        .into()
}

/// Declares a shape: a type that only names a schema.
macro_rules! shape {
    ($(#[$doc:meta])* $name:ident => $schema:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $schema
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

shape!(
    /// A person's or an account's name.
    Name => text(200, "A name")
);
shape!(
    /// A meeting's or a booking page's title.
    Title => text(200, "A title")
);
shape!(
    /// A booking page's theme.
    Theme => text(100, "A theme name")
);
shape!(
    /// What an API token is for.
    TokenName => text(100, "What the token is for")
);
shape!(
    /// A Product Authorization Key.
    Pak => string()
        .description(Some(
            "The Product Authorization Key as the vendor sent it (`PAK-…`, in any case): 1 to 100 ASCII \
             characters, not only spaces (surrounding spaces are removed)",
        ))
        .min_length(Some(1))
        .max_length(Some(100))
        .pattern(Some("^[ ]*[!-~][ -~]*$"))
        .into()
);
shape!(
    /// A user's id.
    UserId => id("usr", "a user of the account")
);
shape!(
    /// A meeting's id.
    MeetingId => id("mtg", "a meeting of the account")
);
shape!(
    /// A booking page's id.
    PageId => id("bpg", "a booking page of the account")
);
shape!(
    /// An API token's id.
    TokenId => id("tok", "an API token of the account")
);
shape!(
    /// An e-mail address, by the one rule of `seatmeter_core::people::Email`.
    EmailAddress => string()
        .description(Some(
            "An e-mail address, `local@domain`, at most 254 characters: the local part (at most 64) \
             of letters, digits and ``!#$%&'*+/=?^_`{|}~-`` in dot-separated pieces, the domain of two \
             or more dot-separated labels of letters, digits and inner hyphens (at most 63 each); \
             ASCII only, no quoted local parts, comments or IP literals",
        ))
        .min_length(Some(3))
        .max_length(Some(254))
        .pattern(Some(
            r"^(?=[^@]{1,64}@)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$",
        ))
        .examples(["ada@example.com"])
        .into()
);
/// The years instants may fall in: 1678 to 2261 (nanoseconds since 1970
/// in 64 bits reach from 1677-09-21 to 2262-04-11).
const YEAR: &str = "(167[89]|16[89][0-9]|1[7-9][0-9]{2}|2[01][0-9]{2}|22[0-5][0-9]|226[01])";

/// `YYYY-MM-DD` in the years instants may fall in.
fn date_pattern() -> String {
    format!("{YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")
}

/// A day, `YYYY-MM-DD`, in the years instants may fall in.
fn day() -> ObjectBuilder {
    string()
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
        .pattern(Some(format!("^{}$", date_pattern())))
        .description(Some("A day `YYYY-MM-DD`, years 1678 to 2261"))
}

shape!(
    /// An instant.
    Instant => string()
        .description(Some(
            "An instant: an RFC 3339 date-time with an offset (`2026-03-01T09:00:00Z`, \
             `2026-03-01T10:00:00+01:00`), years 1678 to 2261; leap seconds (`:60`) are refused",
        ))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .pattern(Some(format!(
            "^{}[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$",
            date_pattern()
        )))
        .examples(["2026-03-01T09:00:00Z"])
        .into()
);
shape!(
    /// An instant, or a day (its midnight UTC).
    InstantOrDay => AnyOfBuilder::new()
        .description(Some("An RFC 3339 date-time with an offset, or a day `YYYY-MM-DD` (its midnight UTC)"))
        .item(Instant::schema())
        .item(day())
        .into()
);
shape!(
    /// Where a page of the activity stream goes on.
    Cursor => string()
        .description(Some("The `next_cursor` of the previous page"))
        .pattern(Some(r"^-?[0-9]{1,18}\.act_[0-9a-f]{24}$"))
        .into()
);
shape!(
    /// Where a page of a license's holders goes on.
    HolderCursor => string()
        .description(Some("The `next_cursor` of the previous page"))
        .pattern(Some(r"^-?[0-9]{1,18}\.usr_[0-9a-f]{24}$"))
        .into()
);
shape!(
    /// A text to look for.
    Search => string()
        .description(Some("Any text but the NUL character"))
        .min_length(Some(1))
        .pattern(Some(r"^[^\x00]*$"))
        .into()
);
shape!(
    /// An IANA time zone this server knows.
    TimeZoneName => string()
        .description(Some("An IANA time zone name, such as `Europe/Paris` or `America/New_York`"))
        .enum_values(Some(crate::app::accounts::time_zone_names()))
        .examples(["Europe/Paris"])
        .into()
);
shape!(
    /// How many items a page holds.
    PageSize => ObjectBuilder::new()
        .schema_type(Type::Integer)
        .description(Some("How many at most (default 100)"))
        .minimum(Some(1))
        .maximum(Some(1000))
        .into()
);

/// A string that is one of `names`.
fn one_of<I: IntoIterator<Item = S>, S: Into<String>>(description: &str, names: I) -> RefOr<Schema> {
    let names: Vec<String> = names.into_iter().map(Into::into).collect();
    string().description(Some(description)).enum_values(Some(names)).into()
}

shape!(
    /// A role.
    RoleName => one_of("A role", [Role::Member, Role::Administrator].map(Role::as_str))
);
shape!(
    /// An administrator's area.
    AreaName => one_of("An area an administrator may be limited to", AdminArea::ALL.map(AdminArea::as_str))
);
shape!(
    /// A license kind that is assigned to users.
    AssignedKind => one_of(
        "A license kind assigned to users (host licenses are metered by usage, not assigned)",
        LicenseKind::ALL.into_iter().filter(|kind| *kind != LicenseKind::Host).map(LicenseKind::as_str),
    )
);
shape!(
    /// A license kind.
    KindName => one_of("A license kind", LicenseKind::ALL.map(LicenseKind::as_str))
);
shape!(
    /// A meeting's state.
    MeetingStateName => one_of("A meeting's state", ["scheduled", "running", "ended"])
);
shape!(
    /// How the cells of a machine CSV are written.
    CellsName => one_of(
        "`exact` (the default: as `seatmeter usage` and `seatmeter import` read them), or `formula_safe` \
         (to open in a spreadsheet: a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return \
         gets a leading `'`)",
        ["exact", "formula_safe"],
    )
);
shape!(
    /// How usage is answered.
    UsageFormat => one_of("`json`, or `csv` (exactly the CSV of `seatmeter usage`)", ["json", "csv"])
);

/// A time of day, `HH:MM` from `00:00` to `24:00`.
fn time_of_day() -> ObjectBuilder {
    string()
        .description(Some("A time of day, `HH:MM` from `00:00` to `24:00`"))
        .pattern(Some("^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"))
}

/// A day's opening hours: `[start, end]` pairs.
fn day_hours() -> ArrayBuilder {
    let pair = ArrayBuilder::new()
        .items(ArrayItems::False)
        .prefix_items([Schema::from(time_of_day()), Schema::from(time_of_day())])
        .min_items(Some(2))
        .max_items(Some(2));
    ArrayBuilder::new()
        .description(Some(
            "A day's hours: `[start, end]` pairs, each ending after it starts, none overlapping another",
        ))
        .items(pair)
}

shape!(
    /// Opening hours by day of the week.
    WeekHours => {
        let mut week = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some("Opening hours by day of the week (`mon` … `sun`); a day left out is closed"))
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        for day in WEEKDAYS {
            week = week.property(day, day_hours());
        }
        week.into()
    }
);
shape!(
    /// Opening hours of given dates.
    DateHours => ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some("Hours by date `YYYY-MM-DD`, replacing the week's on that date (`[]`: closed all day)"))
        .property_names(Some(day()))
        .additional_properties(Some(day_hours()))
        .into()
);
shape!(
    /// Changes to the opening hours of given dates.
    DateHoursChanges => ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "Hours by date `YYYY-MM-DD` to set, replacing the week's on that date (`[]`: closed all \
             day); `null` removes a date's hours",
        ))
        .property_names(Some(day()))
        .additional_properties(Some(RefOr::T(Schema::OneOf(
            OneOfBuilder::new().item(day_hours()).item(ObjectBuilder::new().schema_type(Type::Null)).build(),
        ))))
        .into()
);

/// A text of 1 to `max` characters without NUL.
fn key_text(max: usize, description: &str) -> ObjectBuilder {
    string()
        .description(Some(description))
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some(r"^[^\x00]*$"))
}

/// An event of `kind` with the fields it needs, `meeting_id` among them
/// when `meeting_required` (in a batch; a meeting's own events name it in
/// the path). The fields another type needs are taken and ignored.
fn event_variant(kind: &str, needs: &[&str], meeting_required: bool) -> Schema {
    let mut required = vec!["idempotency_key", "type", "at"];
    if meeting_required {
        required.push("meeting_id");
    }
    required.extend_from_slice(needs);
    let needed = |field: &str| needs.contains(&field);
    let unread = || -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
            .description(Some("Not read for this type"))
            .pattern(Some(r"^[^\x00]*$"))
            .into()
    };
    let text = |field: &str, description: &str| -> RefOr<Schema> {
        if needed(field) { key_text(320, description).into() } else { unread() }
    };
    let portion =
        if needed("portion") { one_of("How the attendee takes part", ["web", "phone"]) } else { unread() };
    let mut event = ObjectBuilder::new()
        .schema_type(Type::Object)
        .title(Some(kind))
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .property(
            "idempotency_key",
            key_text(200, "Chosen by the sender, unique per event in the account: sending the same event again changes nothing"),
        )
        .property(
            "meeting_id",
            if meeting_required {
                key_text(200, "The meeting (`mtg_…`)")
            } else {
                key_text(200, "The meeting; if given, the meeting of the path")
                    .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
            },
        )
        .property("type", string().enum_values(Some([kind])))
        .property("at", Instant::schema())
        .property("attendee", text("attendee", "Who joined or left: an e-mail, a phone number or a session id"))
        .property("portion", portion)
        .property(
            "join_before_host",
            ObjectBuilder::new()
                .schema_type(SchemaType::from_iter([Type::Boolean, Type::Null]))
                .description(Some("The attendee joined before the host (`attendee_joined`)")),
        )
        .property("to", text("to", "Who received host rights"));
    for field in required {
        event = event.required(field);
    }
    Schema::Object(event.build())
}

/// A meeting event: one of five types, each with the fields it needs.
fn event(meeting_required: bool) -> RefOr<Schema> {
    OneOfBuilder::new()
        .description(Some(
            "A meeting event: `started`, `attendee_joined`, `attendee_left`, `host_rights_passed` or `ended`",
        ))
        .item(event_variant("started", &[], meeting_required))
        .item(event_variant("attendee_joined", &["attendee", "portion"], meeting_required))
        .item(event_variant("attendee_left", &["attendee", "portion"], meeting_required))
        .item(event_variant("host_rights_passed", &["to"], meeting_required))
        .item(event_variant("ended", &[], meeting_required))
        .into()
}

shape!(
    /// A meeting's event, its meeting named by the path.
    MeetingEvent => event(false)
);
shape!(
    /// An event of a batch.
    Event => event(true)
);
shape!(
    /// A batch of events.
    EventBatch => OneOfBuilder::new()
        .description(Some("A JSON array of 1 to 10,000 events, or one event"))
        .item(
            ArrayBuilder::new()
                .items(Event::schema())
                .min_items(Some(1))
                .max_items(Some(super::event_batch::MAX_EVENTS_PER_REQUEST)),
        )
        .item(Event::schema())
        .into()
);
