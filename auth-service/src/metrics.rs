//! The auth-service's own Prometheus series: logins, lockouts, refreshes,
//! reuse, registrations and signing keys. Each [`Metrics`] owns its
//! registry, which the kit also counts HTTP requests in and serves at
//! `GET /metrics` (see `service_kit::metrics`).

use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};

use crate::domain::EndReason;

/// Why a login was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFailure {
    /// Unknown email or wrong password (401).
    InvalidCredentials,
    /// Too many failures for this email from this address (429).
    Locked,
    /// Too many password checks waiting (503).
    Overloaded,
}

impl LoginFailure {
    const ALL: [LoginFailure; 3] = [
        LoginFailure::InvalidCredentials,
        LoginFailure::Locked,
        LoginFailure::Overloaded,
    ];

    fn label(self) -> &'static str {
        match self {
            LoginFailure::InvalidCredentials => "invalid_credentials",
            LoginFailure::Locked => "locked",
            LoginFailure::Overloaded => "overloaded",
        }
    }
}

/// How a refresh ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// A new pair was issued.
    Ok,
    /// Unknown, expired, revoked or superseded token.
    Invalid,
    /// An already-used token: the session was revoked.
    Reuse,
}

impl RefreshOutcome {
    const ALL: [RefreshOutcome; 3] = [
        RefreshOutcome::Ok,
        RefreshOutcome::Invalid,
        RefreshOutcome::Reuse,
    ];

    fn label(self) -> &'static str {
        match self {
            RefreshOutcome::Ok => "ok",
            RefreshOutcome::Invalid => "invalid",
            RefreshOutcome::Reuse => "reuse",
        }
    }
}

/// The registry of one auth-service and the handles of its domain counters.
/// Clones share the same series.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    logins: IntCounter,
    login_failures: IntCounterVec,
    lockouts: IntCounter,
    refreshes: IntCounterVec,
    reuse_detected: IntCounter,
    registrations: IntCounter,
    signing_keys: IntGauge,
    jwks_key_checks: IntCounter,
    sessions_ended: IntCounterVec,
}

impl Metrics {
    /// A fresh registry with every domain series at zero, so dashboards and
    /// alerts see them before the first event.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let logins = IntCounter::new("auth_logins_total", "Successful logins (both doors).")?;
        let login_failures = IntCounterVec::new(
            Opts::new(
                "auth_login_failures_total",
                "Refused logins, by reason: invalid_credentials (401), locked (429) or overloaded (503).",
            ),
            &["reason"],
        )?;
        let lockouts = IntCounter::new(
            "auth_lockouts_total",
            "Logins answered 429 too_many_attempts because the email was locked for the address.",
        )?;
        let refreshes = IntCounterVec::new(
            Opts::new(
                "auth_refreshes_total",
                "Refresh-token rotations, by outcome: ok, invalid or reuse.",
            ),
            &["outcome"],
        )?;
        let reuse_detected = IntCounter::new(
            "auth_refresh_reuse_detected_total",
            "Reuses of a rotated refresh token; each revoked its session.",
        )?;
        let registrations = IntCounter::new(
            "auth_registrations_total",
            "Accounts created through POST /auth/register.",
        )?;
        let signing_keys = IntGauge::new(
            "auth_signing_keys",
            "Signing keys published in the JWKS by this instance.",
        )?;
        let jwks_key_checks = IntCounter::new(
            "auth_jwks_key_checks_total",
            "Reads of the signing keys made on behalf of JWKS requests (rationed).",
        )?;
        let sessions_ended = IntCounterVec::new(
            Opts::new(
                "auth_sessions_ended_total",
                "Sessions ended, by reason: logout, revoked, reuse_detected, password_changed or expired.",
            ),
            &["reason"],
        )?;
        for reason in EndReason::ALL {
            sessions_ended.with_label_values(&[reason.as_str()]);
        }
        for reason in LoginFailure::ALL {
            login_failures.with_label_values(&[reason.label()]);
        }
        for outcome in RefreshOutcome::ALL {
            refreshes.with_label_values(&[outcome.label()]);
        }
        registry.register(Box::new(logins.clone()))?;
        registry.register(Box::new(login_failures.clone()))?;
        registry.register(Box::new(lockouts.clone()))?;
        registry.register(Box::new(refreshes.clone()))?;
        registry.register(Box::new(reuse_detected.clone()))?;
        registry.register(Box::new(registrations.clone()))?;
        registry.register(Box::new(signing_keys.clone()))?;
        registry.register(Box::new(jwks_key_checks.clone()))?;
        registry.register(Box::new(sessions_ended.clone()))?;
        Ok(Self {
            registry,
            logins,
            login_failures,
            lockouts,
            refreshes,
            reuse_detected,
            registrations,
            signing_keys,
            jwks_key_checks,
            sessions_ended,
        })
    }

    /// A login opened a session.
    pub fn login_succeeded(&self) {
        self.logins.inc();
    }

    /// A login was refused; a lockout is counted as such too.
    pub fn login_failed(&self, reason: LoginFailure) {
        self.login_failures
            .with_label_values(&[reason.label()])
            .inc();
        if reason == LoginFailure::Locked {
            self.lockouts.inc();
        }
    }

    /// A refresh ended; reuse is counted as a detection too.
    pub fn refreshed(&self, outcome: RefreshOutcome) {
        self.refreshes.with_label_values(&[outcome.label()]).inc();
        if outcome == RefreshOutcome::Reuse {
            self.reuse_detected.inc();
        }
    }

    /// A user registered.
    pub fn registered(&self) {
        self.registrations.inc();
    }

    /// How many signing keys are published now.
    pub fn set_signing_keys(&self, count: usize) {
        self.signing_keys
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    /// A JWKS request read the signing keys from the database.
    pub fn jwks_key_checked(&self) {
        self.jwks_key_checks.inc();
    }

    /// `count` sessions ended for `reason`.
    pub fn sessions_ended(&self, reason: EndReason, count: usize) {
        self.sessions_ended
            .with_label_values(&[reason.as_str()])
            .inc_by(u64::try_from(count).unwrap_or(u64::MAX));
    }

    /// The registry, for the kit's HTTP series and `GET /metrics`.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Every series, in the Prometheus text format.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        service_kit::metrics::render(&self.registry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_domain_series_is_exposed_at_zero() {
        let metrics = Metrics::new().expect("metrics");
        let text = metrics.render().expect("render");
        for line in [
            "auth_logins_total 0",
            "auth_login_failures_total{reason=\"invalid_credentials\"} 0",
            "auth_login_failures_total{reason=\"locked\"} 0",
            "auth_lockouts_total 0",
            "auth_refreshes_total{outcome=\"ok\"} 0",
            "auth_refreshes_total{outcome=\"invalid\"} 0",
            "auth_refreshes_total{outcome=\"reuse\"} 0",
            "auth_refresh_reuse_detected_total 0",
            "auth_registrations_total 0",
            "auth_signing_keys 0",
            "auth_jwks_key_checks_total 0",
            "auth_sessions_ended_total{reason=\"logout\"} 0",
            "auth_sessions_ended_total{reason=\"reuse_detected\"} 0",
            "auth_sessions_ended_total{reason=\"expired\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }

    #[test]
    fn two_instances_count_apart() {
        let a = Metrics::new().expect("a");
        let b = Metrics::new().expect("b");
        let _ = service_kit::metrics::http_middleware(a.registry()).expect("a http");
        let _ = service_kit::metrics::http_middleware(b.registry()).expect("b http");
        a.refreshed(RefreshOutcome::Reuse);
        let text = b.render().expect("render");
        assert!(
            text.contains("auth_refresh_reuse_detected_total 0"),
            "{text}"
        );
    }
}
