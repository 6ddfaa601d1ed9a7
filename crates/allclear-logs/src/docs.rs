//! The documentation of the rule this crate reports, `logs.ban`, in allclear-core's
//! [`RuleDoc`] shape. Each built-in detection (see [`crate::builtin`]) and each fail2ban jail
//! a team configures reports through it; the finding's `jail` detail says which.

use allclear_core::{RuleDoc, Severity};

const BAN: RuleDoc = RuleDoc {
    id: "logs.ban",
    severity: Severity::Medium,
    severity_note: "",
    title: "Address that would be banned",
    what: "An address (or, for sudo and su, a local user) whose failures in the logs reached a \
        jail's threshold: `maxretry` matches of the jail's filter within `findtime`. The \
        jails are fail2ban's own (`jail.conf`, `filter.d/*.conf`) or allclear's built-in \
        detections, which work with no configuration:\n\
        - sshd: failed passwords and keys, invalid users, pre-authentication disconnects and \
        scanners;\n\
        - sudo: wrong passwords, users not in sudoers, commands not allowed;\n\
        - su: failed attempts to become another user;\n\
        - pam: remote authentication failures of any service (pam_unix with rhost);\n\
        - nginx-http-auth, apache-auth: HTTP basic authentication with a wrong password or \
        unknown user;\n\
        - http-probe: requests for .env, .git/, wp-login.php, xmlrpc.php, phpMyAdmin and \
        /admin answered with 4xx;\n\
        - http-4xx: a burst of client errors from one address;\n\
        - postfix-sasl: SMTP AUTH failures;\n\
        - dovecot: IMAP/POP3 logins that failed authentication;\n\
        - drupal: failed logins reported by Drupal's syslog module;\n\
        - rails-devise: sign-ins answered 401 Unauthorized.",
    why: "Repeated authentication failures and probes for secrets are password guessing and \
        reconnaissance; a ban (or at least the report) stops the attempt from going on \
        unseen. A local user failing sudo may be an intruder trying to escalate.",
    example: "/var/log/auth.log:4182  203.0.113.7 would be banned by sshd: 5 failures \
        within 2m (maxretry 5, findtime 10m), banned for 10m",
    fix: "Nothing, when the ban is what you want: `allclear host logs run` applies it with \
        nftables or ipset. If the address is yours (a monitor, an office), add it to the \
        jail's `ignoreip`. If a real user is locked out, check what they mistyped in the \
        lines the finding lists.",
};

/// The documentation of every rule this crate reports.
pub fn rule_docs() -> impl Iterator<Item = RuleDoc> {
    std::iter::once(BAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ban_rule_names_every_builtin_detection() {
        for jail in crate::builtin::builtin_jails() {
            assert!(
                BAN.what.contains(&format!("{}:", jail.name))
                    || BAN.what.contains(&format!("{},", jail.name)),
                "logs.ban's documentation does not name the built-in detection {}",
                jail.name
            );
        }
        assert!(allclear_core::check_rule_docs(&[BAN]).is_empty());
    }
}
