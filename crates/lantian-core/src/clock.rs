//! Time as an input. Production reads the system clock; tests hold a [`ManualClock`] and move it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A point in time as milliseconds since the Unix epoch: portable between SQLite and
/// PostgreSQL (`BIGINT`), sortable, and trivial to compare in retention rules.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, sqlx::Type)]
#[sqlx(transparent)]
#[serde(transparent)]
pub struct UnixMs(pub i64);

impl UnixMs {
    pub fn plus(self, d: Duration) -> UnixMs {
        UnixMs(self.0.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
    }

    pub fn minus(self, d: Duration) -> UnixMs {
        UnixMs(self.0.saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
    }

    /// Which period of length `every` this instant falls in (periods start at the epoch).
    pub fn period(self, every: Duration) -> i64 {
        let len = i64::try_from(every.as_millis()).unwrap_or(i64::MAX).max(1);
        self.0.div_euclid(len)
    }

    /// The instant as a timestamp, for formatting in the business time zone.
    pub fn to_timestamp(self) -> jiff::Timestamp {
        jiff::Timestamp::from_millisecond(self.0).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }

    /// The instant in China Standard Time, where the books are kept, ages counted and service
    /// periods run. China has one time zone and no daylight saving, so UTC+8 is exact.
    pub fn in_china(self) -> jiff::Zoned {
        self.to_timestamp().to_zoned(china())
    }

    /// The calendar day in China Standard Time this instant falls on, counted from 1970-01-01:
    /// what "N days after expiry" counts.
    pub fn china_day(self) -> i64 {
        (self.0 + CHINA_OFFSET_MS).div_euclid(DAY_MS)
    }

    /// The first instant of China Standard Time day `day` (as [`UnixMs::china_day`] counts).
    pub fn start_of_china_day(day: i64) -> UnixMs {
        UnixMs(day * DAY_MS - CHINA_OFFSET_MS)
    }
}

const DAY_MS: i64 = 86_400_000;
const CHINA_OFFSET_MS: i64 = 8 * 3_600_000;

/// China Standard Time (Asia/Shanghai), as a fixed UTC+8 offset.
pub fn china() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::fixed(jiff::tz::offset(8))
}

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> UnixMs;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixMs {
        let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        UnixMs(i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
    }
}

/// A clock that only moves when told to. Starts at the given instant.
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(start: UnixMs) -> Self {
        Self(AtomicI64::new(start.0))
    }

    pub fn set(&self, t: UnixMs) {
        self.0.store(t.0, Ordering::SeqCst);
    }

    pub fn advance(&self, d: Duration) {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixMs {
        UnixMs(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(UnixMs(1_000));
        assert_eq!(c.now(), UnixMs(1_000));
        c.advance(Duration::from_secs(2));
        assert_eq!(c.now(), UnixMs(3_000));
        c.set(UnixMs(5));
        assert_eq!(c.now(), UnixMs(5));
    }

    #[test]
    fn unix_ms_arithmetic_saturates() {
        assert_eq!(UnixMs(i64::MAX - 1).plus(Duration::from_secs(1)), UnixMs(i64::MAX));
        assert_eq!(UnixMs(10).minus(Duration::from_millis(4)), UnixMs(6));
    }

    #[test]
    fn china_days_turn_at_midnight_utc_plus_8() {
        // 2026-03-01T00:00+08:00 is 2026-02-28T16:00Z.
        let midnight = UnixMs(1_772_294_400_000);
        assert_eq!(midnight.china_day(), UnixMs(midnight.0 - 1).china_day() + 1);
        assert_eq!(UnixMs::start_of_china_day(midnight.china_day()), midnight);
        assert_eq!(midnight.in_china().date(), jiff::civil::date(2026, 3, 1));
    }
}
