//! Attempts per client address: a fixed one-minute window per address, in a map whose size
//! is bounded because attackers choose the keys (any number of IPv6 addresses).

use std::collections::HashMap;
use std::sync::Mutex;

pub struct AttemptLimiter {
    per_minute: u32,
    capacity: usize,
    windows: Mutex<HashMap<String, Window>>,
}

#[derive(Clone, Copy)]
struct Window {
    minute: i64,
    attempts: u32,
}

impl AttemptLimiter {
    pub fn new(per_minute: u32, capacity: usize) -> Self {
        AttemptLimiter {
            per_minute,
            capacity,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt from `client`; false when it is over the limit.
    pub fn allow(&self, client: &str, now: i64) -> bool {
        let minute = now.div_euclid(60);
        let mut windows = match self.windows.lock() {
            Ok(windows) => windows,
            Err(poisoned) => poisoned.into_inner(),
        };
        if !windows.contains_key(client) && windows.len() >= self.capacity {
            // Windows of past minutes no longer count for anything.
            windows.retain(|_, window| window.minute == minute);
            if windows.len() >= self.capacity {
                // Every slot is busy this minute: a flood. Refuse new addresses rather than
                // forget the counts of the addresses already seen.
                return false;
            }
        }
        let window = windows.entry(client.to_owned()).or_insert(Window {
            minute,
            attempts: 0,
        });
        if window.minute != minute {
            *window = Window {
                minute,
                attempts: 0,
            };
        }
        window.attempts = window.attempts.saturating_add(1);
        window.attempts <= self.per_minute
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.windows.lock().map(|w| w.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_address_and_minute() {
        let limiter = AttemptLimiter::new(2, 100);
        assert!(limiter.allow("a", 0));
        assert!(limiter.allow("a", 1));
        assert!(!limiter.allow("a", 2));
        assert!(limiter.allow("b", 2));
        assert!(limiter.allow("a", 61));
    }

    #[test]
    fn the_map_stays_bounded() {
        let limiter = AttemptLimiter::new(5, 3);
        for i in 0..3 {
            assert!(limiter.allow(&format!("addr{i}"), 0));
        }
        assert!(
            !limiter.allow("another", 0),
            "a full map refuses new addresses"
        );
        assert_eq!(limiter.len(), 3);
        assert!(
            limiter.allow("another", 60),
            "old windows are dropped a minute later"
        );
        assert!(limiter.len() <= 3);
    }
}
