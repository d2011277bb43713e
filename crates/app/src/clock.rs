//! One clock policy: a data dir has one business time zone (the zone usage is counted in
//! per day, and the zone every "today" is taken in), and [`Clock::today`] is the only way
//! pages, commands, the worker and reports learn the date.
//!
//! The zone is stored in the data dir (`Store::business_time_zone`). `--time-zone` (or `MIKAWAYA_TIME_ZONE`) sets it and
//! is remembered, so a later command without the flag agrees with the server; without any,
//! it is UTC.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use mikawaya_domain::Invalid;
use mikawaya_store::Store;

/// The data dir's clock: the instant now, and the business time zone its days are in.
#[derive(Debug, Clone, PartialEq)]
pub struct Clock {
    zone: TimeZone,
    now: Timestamp,
}

impl Clock {
    /// The system clock, in `zone`.
    pub fn system(zone: TimeZone) -> Clock {
        Clock {
            zone,
            now: Timestamp::now(),
        }
    }

    /// A fixed instant, in `zone` (tests, history replays).
    pub fn at(zone: TimeZone, now: Timestamp) -> Clock {
        Clock { zone, now }
    }

    /// Today in the business time zone.
    pub fn today(&self) -> Date {
        self.now.to_zoned(self.zone.clone()).date()
    }

    /// The current instant.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// The business time zone.
    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    /// The day an instant falls on in the business time zone.
    pub fn day_of(&self, instant: Timestamp) -> Date {
        instant.to_zoned(self.zone.clone()).date()
    }

    /// Midnight starting `day` in the business time zone.
    pub fn start_of(&self, day: Date) -> Option<Zoned> {
        day.to_zoned(self.zone.clone()).ok()
    }
}

/// "Today" for the data: `today`, or, when the usage events (`span`: their first and
/// last day) ended before it, the day after the last one, so that a history loaded from
/// the past (a warehouse export of 2020) is analysed as of its end without faking the
/// clock. Defaults that follow it say so (the CLI prints the day it chose).
pub fn data_today(span: Option<(Date, Date)>, today: Date) -> Date {
    match span {
        Some((_, last)) if last < today => last.tomorrow().unwrap_or(today).min(today),
        _ => today,
    }
}

/// Parses an IANA time zone name (`field` names the flag or field in the error).
pub fn parse_time_zone(name: &str, field: &str) -> Result<TimeZone, Invalid> {
    TimeZone::get(name.trim()).map_err(|_| {
        Invalid::new(
            field,
            format!("'{name}' is not an IANA time zone such as Asia/Tokyo"),
        )
    })
}

/// The data dir's business time zone: `given` (checked, and remembered in the store when
/// it differs from the stored one), else the stored one, else UTC.
pub fn resolve_time_zone(
    store: &dyn Store,
    given: Option<&str>,
) -> Result<TimeZone, crate::AppError> {
    let stored = store.business_time_zone()?;
    let Some(name) = given else {
        return Ok(stored);
    };
    let zone = parse_time_zone(name, "time_zone")?;
    if zone.iana_name() != stored.iana_name() {
        let name = zone.iana_name().unwrap_or("UTC");
        store.set_business_time_zone(&mikawaya_domain::Actor::system().manage()?, name)?;
    }
    Ok(zone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_is_the_business_days_date_not_utcs() {
        // 2026-12-01 23:30 UTC is already 2026-12-02 08:30 in Tokyo.
        let instant: Timestamp = "2026-12-01T23:30:00Z"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        let tokyo = parse_time_zone("Asia/Tokyo", "time_zone").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            Clock::at(tokyo.clone(), instant).today(),
            Date::constant(2026, 12, 2)
        );
        assert_eq!(
            Clock::at(TimeZone::UTC, instant).today(),
            Date::constant(2026, 12, 1)
        );
        let start = Clock::at(tokyo, instant)
            .start_of(Date::constant(2026, 12, 2))
            .map(|z| z.timestamp().to_string());
        assert_eq!(start.as_deref(), Some("2026-12-01T15:00:00Z"));
    }

    #[test]
    fn the_datas_today_is_the_day_after_a_history_that_ended() {
        let today = Date::constant(2026, 12, 3);
        let span = |first, last| Some((first, last));
        // Events through 2020-06-30: as of 2020-07-01 (its window holds the last day).
        assert_eq!(
            data_today(
                span(Date::constant(2020, 1, 1), Date::constant(2020, 6, 30)),
                today
            ),
            Date::constant(2020, 7, 1)
        );
        // Events through yesterday or today, or none: today.
        assert_eq!(
            data_today(
                span(Date::constant(2026, 1, 1), Date::constant(2026, 12, 2)),
                today
            ),
            today
        );
        assert_eq!(data_today(span(today, today), today), today);
        assert_eq!(data_today(None, today), today);
    }

    #[test]
    fn a_bad_zone_names_its_field() {
        let error = parse_time_zone("Mars/Olympus", "--time-zone").err();
        assert_eq!(error.map(|e| e.field), Some("--time-zone".to_owned()));
    }
}
