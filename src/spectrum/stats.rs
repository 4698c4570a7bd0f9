//! The statistics of a deadlock rate: the Wilson score interval.

/// z for a two-sided 95 % interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// The Wilson score interval for `k` successes in `n` trials at normal quantile `z`, as
/// fractions in [0, 1]. Unlike the textbook `p ± z·sqrt(p(1-p)/n)` it never leaves [0, 1] and
/// does not collapse to a point at 0 or n deadlocks, which is exactly where a spectrum's cells
/// often are. `n = 0` gives the uninformative (0, 1).
pub fn wilson(k: u64, n: u64, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let n_f = n as f64;
    let p = k as f64 / n_f;
    let z2 = z * z;
    let denom = 1.0 + z2 / n_f;
    let centre = (p + z2 / (2.0 * n_f)) / denom;
    let half = z * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt() / denom;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Whether two intervals share a point.
pub fn overlap(a: (f64, f64), b: (f64, f64)) -> bool {
    a.0 <= b.1 && b.0 <= a.1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: (f64, f64), want: (f64, f64)) {
        assert!(
            (got.0 - want.0).abs() < 5e-5 && (got.1 - want.1).abs() < 5e-5,
            "got {got:?}, want {want:?}"
        );
    }

    /// Reference values from Newcombe (1998), "Two-sided confidence intervals for the single
    /// proportion", table I (method 3, Wilson score without continuity correction).
    #[test]
    fn wilson_matches_newcombes_table() {
        close(wilson(81, 263, Z95), (0.2553, 0.3662));
        close(wilson(15, 148, Z95), (0.0624, 0.1605));
        close(wilson(0, 20, Z95), (0.0, 0.1611));
        close(wilson(1, 29, Z95), (0.0061, 0.1718));
    }

    #[test]
    fn wilson_is_symmetric_and_stays_in_bounds() {
        let (lo, hi) = wilson(5, 10, Z95);
        close((lo, hi), (0.2366, 0.7634));
        close(wilson(10, 10, Z95), (1.0 - 0.2775, 1.0));
        close(wilson(0, 10, Z95), (0.0, 0.2775));
        assert_eq!(wilson(0, 0, Z95), (0.0, 1.0));
    }

    #[test]
    fn overlap_is_closed_at_the_ends() {
        assert!(overlap((0.1, 0.2), (0.2, 0.3)));
        assert!(!overlap((0.1, 0.19), (0.2, 0.3)));
        assert!(overlap((0.0, 1.0), (0.4, 0.5)));
    }
}
