//! Statistical disclosure control for published figures.
//!
//! The NHS England rule for sub-national tables: 0 stays 0; 1–7 is published as the words
//! "fewer than 8"; everything else is rounded to the nearest 5. Totals are computed from the
//! unrounded values, then rounded. Tables with three or more dimensions use the stricter ONS
//! "10-5" rule: under 10 is hidden, the rest rounded to 5. The thresholds are settings.
//! National figures are published exactly.

use rand::Rng;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rules {
    /// Counts from 1 up to this are shown as "fewer than (this + 1)" (NHS: 7).
    pub small_max: i64,
    /// Counts below this are hidden in 3+-dimension tables (ONS: 10).
    pub hide_below: i64,
    /// Rounding base (5).
    pub base: i64,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            small_max: 7,
            hide_below: 10,
            base: 5,
        }
    }
}

/// Differential privacy: discrete Laplace (two-sided geometric) noise with parameter ε,
/// added to each count before disclosure control; each person contributes at most one unit
/// to each table (sensitivity 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Privacy {
    pub epsilon: f64,
}

impl Privacy {
    /// One draw of discrete Laplace noise: the difference of two geometric variables with
    /// success probability 1 − e^(−ε).
    pub fn noise<R: Rng + ?Sized>(&self, rng: &mut R) -> i64 {
        let q = (-self.epsilon).exp();
        let geometric = |rng: &mut R| -> i64 {
            // Failures before the first success, by inversion.
            let u: f64 = rng.gen_range(f64::MIN_POSITIVE..1.0);
            (u.ln() / q.ln()).floor() as i64
        };
        geometric(rng) - geometric(rng)
    }

    /// The noise's variance, 2q / (1 − q)², for q = e^(−ε).
    pub fn variance(&self) -> f64 {
        let q = (-self.epsilon).exp();
        2.0 * q / (1.0 - q).powi(2)
    }

    /// Adds noise to a count (never below zero).
    pub fn apply<R: Rng + ?Sized>(&self, n: i64, rng: &mut R) -> i64 {
        (n + self.noise(rng)).max(0)
    }
}

/// A figure as published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published {
    /// Shown as is (national figures, zero).
    Exact(i64),
    /// Rounded to the base.
    Rounded(i64),
    /// 1 to `small_max`.
    FewerThan(i64),
    /// Hidden (the stricter rule).
    Hidden,
}

/// Which rule a table uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Level {
    National,
    SubNational,
    /// Sub-national tables with three or more dimensions.
    CrossTab,
}

fn round_to(n: i64, base: i64) -> i64 {
    if base <= 1 {
        return n;
    }
    ((n + base / 2) / base) * base
}

impl Rules {
    pub fn publish(&self, n: i64, level: Level) -> Published {
        let n = n.max(0);
        match level {
            Level::National => Published::Exact(n),
            _ if n == 0 => Published::Exact(0),
            Level::SubNational if n <= self.small_max => Published::FewerThan(self.small_max + 1),
            Level::CrossTab if n < self.hide_below => Published::Hidden,
            _ => Published::Rounded(round_to(n, self.base)),
        }
    }

    /// A one-line statement of the rules (and any differential privacy), printed with every
    /// report.
    pub fn method_with(&self, privacy: Option<Privacy>) -> String {
        match privacy {
            None => self.method(),
            Some(p) => format!(
                "{} Differential privacy is on: discrete Laplace noise with epsilon = {} was added to every count (national figures included) before rounding; each person contributes at most one unit to each table.",
                self.method(),
                p.epsilon
            ),
        }
    }

    /// A one-line statement of the rules, printed with every report.
    pub fn method(&self) -> String {
        format!(
            "Figures below national level: 0 stays 0; 1 to {} is shown as \"fewer than {}\"; everything else is rounded to the nearest {}. \
             Totals are computed from unrounded values, then rounded. Tables with three or more dimensions hide values under {} and round the rest to {}. \
             National figures are exact.",
            self.small_max,
            self.small_max + 1,
            self.base,
            self.hide_below,
            self.base
        )
    }
}

impl Published {
    /// The value as written in tables and CSV: an integer or words.
    pub fn text(&self) -> String {
        match self {
            Published::Exact(n) | Published::Rounded(n) => n.to_string(),
            Published::FewerThan(k) => format!("fewer than {k}"),
            Published::Hidden => "hidden".into(),
        }
    }

    pub fn value(&self) -> Option<i64> {
        match self {
            Published::Exact(n) | Published::Rounded(n) => Some(*n),
            _ => None,
        }
    }
}

impl Serialize for Published {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.value() {
            Some(n) => s.serialize_i64(n),
            None => s.serialize_str(&self.text()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_edge_of_the_nhs_rule() {
        let r = Rules::default();
        let sub = |n| r.publish(n, Level::SubNational).text();
        assert_eq!(sub(0), "0");
        assert_eq!(sub(1), "fewer than 8");
        assert_eq!(sub(7), "fewer than 8");
        assert_eq!(sub(8), "10");
        assert_eq!(sub(9), "10");
        assert_eq!(sub(10), "10");
        assert_eq!(sub(12), "10");
        assert_eq!(sub(13), "15");
        assert_eq!(sub(1853), "1855");
        assert_eq!(sub(-3), "0");
        assert_eq!(r.publish(3, Level::National).text(), "3");
    }

    #[test]
    fn the_stricter_rule_for_cross_tabulations() {
        let r = Rules::default();
        let x = |n| r.publish(n, Level::CrossTab).text();
        assert_eq!(x(0), "0");
        assert_eq!(x(1), "hidden");
        assert_eq!(x(9), "hidden");
        assert_eq!(x(10), "10");
        assert_eq!(x(12), "10");
        assert_eq!(x(13), "15");
    }

    #[test]
    fn totals_come_from_unrounded_values() {
        let r = Rules::default();
        let cells = [3, 3, 3];
        let total: i64 = cells.iter().sum();
        assert!(cells
            .iter()
            .all(|c| r.publish(*c, Level::SubNational).text() == "fewer than 8"));
        assert_eq!(r.publish(total, Level::SubNational).text(), "10");
    }

    #[test]
    fn discrete_laplace_noise_has_the_stated_mean_and_variance() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(42);
        for eps in [0.5, 1.0, 2.0] {
            let p = Privacy { epsilon: eps };
            let n = 200_000;
            let draws: Vec<f64> = (0..n).map(|_| p.noise(&mut rng) as f64).collect();
            let mean = draws.iter().sum::<f64>() / n as f64;
            let var = draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / n as f64;
            let sd_of_mean = (p.variance() / n as f64).sqrt();
            assert!(mean.abs() < 5.0 * sd_of_mean, "eps {eps}: mean {mean}");
            assert!(
                (var / p.variance() - 1.0).abs() < 0.05,
                "eps {eps}: var {var} vs {}",
                p.variance()
            );
        }
        assert!(Rules::default()
            .method_with(Some(Privacy { epsilon: 1.5 }))
            .contains("epsilon = 1.5"));
        assert_eq!(Privacy { epsilon: 1.0 }.apply(0, &mut rng).min(0), 0);
    }

    #[test]
    fn no_published_sub_national_value_is_small_or_off_the_base() {
        let r = Rules::default();
        for n in 0..5000 {
            match r.publish(n, Level::SubNational) {
                Published::Exact(v) => assert_eq!(v, 0),
                Published::Rounded(v) => assert!(v % 5 == 0 && v >= 10, "{n} -> {v}"),
                Published::FewerThan(k) => assert!((1..=7).contains(&n) && k == 8),
                Published::Hidden => panic!("hidden at sub-national level"),
            }
        }
    }
}
