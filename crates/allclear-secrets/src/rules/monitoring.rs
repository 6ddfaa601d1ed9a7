//! Monitoring, error tracking, on-call and observability services.

use allclear_core::Severity;

use super::{Anchor, Context, Filter, Rule, end, keyed};

pub(super) const RULES: &[Rule] = &[
    Rule {
        id: "secrets.new-relic-key",
        name: "New Relic API or license key",
        severity: Severity::High,
        keywords: &["nrak-", "nraa-", "nrii-", "nriq-", "nrra-", "nrjs-", "nral"],
        patterns: &[
            concat!(r"\b(?P<secret>NRAK-[A-Z0-9]{27})", end!()),
            concat!(r"\b(?P<secret2>NRAA-[a-f0-9]{27})", end!()),
            concat!(r"\b(?P<secret3>NRI[IQ]-[A-Za-z0-9_\-]{32})", end!()),
            concat!(r"\b(?P<secret4>NRRA-[a-f0-9]{42})", end!()),
            concat!(r"\b(?P<secret5>NRJS-[a-f0-9]{19})", end!()),
            concat!(r"\b(?P<secret6>[a-z0-9]{36}NRAL)", end!()),
        ],
        filter: Filter::Entropy(3.0),
        description: "A New Relic user, admin, insert, query, REST or browser key, or an \
            ingest license key: queries or sends telemetry for the account.",
        remedy: "Delete or rotate the key in New Relic (API keys UI) and update the agents.",
        examples: &[
            "NEW_RELIC_API_KEY=NRAK-B9V633O3Y6BCT4P6OPXCLMAM8PQ",
            "license_key: fwuyz5wxobi4c1ei9hreg1no2em2c04lb8duNRAL",
            "insertKey: \"NRII-BkDBYg11sBv09I83riuugYRT7q_2IZVQ\"",
        ],
        counter_examples: &["NRAK-SH5WK3M9SM", "license_key: xxxxxxxxxxxxxxx"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.new-relic-legacy-license-key",
        name: "New Relic legacy license key",
        severity: Severity::High,
        keywords: &["license_key", "licensekey", "license-key"],
        patterns: &[concat!(
            r"(?i:license[_\-]?key)[\x22']?[ \t]*[:=][ \t]*[\x22']?(?P<secret>[0-9a-f]{40})",
            end!()
        )],
        context: Context::around(4, 1),
        near: &["relic"],
        filter: Filter::Entropy(3.0),
        description: "A 40-character New Relic license key in an agent configuration: sends \
            data into the account and identifies it.",
        remedy: "Rotate the ingest license key (API keys UI) and update the agents.",
        examples: &["# New Relic agent\nlicense_key: 7b4050a3868d203174bd32b2b1d0852400946ce3"],
        counter_examples: &[
            "license_key: 0aafd1d0597f2f4bb224c53217c340d4d998fd5d  # some other product",
        ],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.pixie-api-key",
        name: "Pixie (New Relic) API or deploy key",
        severity: Severity::High,
        keywords: &["px-api-", "px-dep-"],
        patterns: &[concat!(
            r"\b(?P<secret>px-(?:api|dep)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})",
            end!()
        )],
        description: "A Pixie API or deploy key: deploys the Pixie agent into clusters or \
            queries their telemetry.",
        remedy: "Delete the key in the Pixie admin UI and create a new one.",
        examples: &["PX_API_KEY=px-api-2f2e2eda-3691-43c6-b6bd-4ba1d60443b0"],
        counter_examples: &["px-api-a1b2c3d4-e5f6-g7h8-i8j0-k0l3m3n4o0p5"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.sentry-token",
        name: "Sentry auth token or DSN secret",
        severity: Severity::High,
        keywords: &["sntrys_", "sntryu_", "sentry"],
        patterns: &[
            concat!(r"\b(?P<secret>sntry[su]_[A-Za-z0-9+/=_\-]{40,300})", end!()),
            r"https?://[0-9a-f]{32}:(?P<secret2>[0-9a-f]{32})@[A-Za-z0-9.\-]+/\d+",
            keyed!(r"sentry[_.\-]?(?:auth[_.\-]?)?token", r"[0-9a-f]{64}"),
        ],
        filter: Filter::Entropy(3.0),
        description: "A Sentry organisation or user auth token, or the secret part of a legacy \
            DSN: uploads releases and source maps, or reads issues (with their personal data).",
        remedy: "Revoke the token (Settings → Auth Tokens) or rotate the project's client keys.",
        examples: &[
            "SENTRY_AUTH_TOKEN=sntrys_nDUjkSMTvPYcwyqC_uqeb-Gx_pRisR31yJkasH2uF_AB6hJro_dovvtlWPBqbbncAsODe-8CVqWxToi4TjLrjgps7WD-xhwFLI0IeDe8B-aBtpyKtaruYVo7",
            "SENTRY_AUTH_TOKEN=3c27c1be7107967d781d09788f283ed7586d2142aaa79ce6ce862ffabefef06c",
        ],
        counter_examples: &["dsn: https://0eaa583aadfa8a18e7da151034d09641@o1.ingest.sentry.io/1"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.datadog-key",
        name: "Datadog API or application key",
        severity: Severity::High,
        keywords: &[
            "datadog",
            "dd_api",
            "dd-api",
            "dd_app",
            "dd-app",
            "ddapi",
            "ddapp",
            "dd_client",
        ],
        patterns: &[keyed!(
            r"(?:datadog|dd)[_.\-]?(?:api|app(?:lication)?|client[_.\-]?(?:api|app))[_.\-]?key|dd-(?:api|application)-key",
            r"[0-9a-f]{40}|[0-9a-f]{32}"
        )],
        filter: Filter::Entropy(3.0),
        description: "A Datadog API key (submits data) or application key (reads dashboards, \
            logs and monitors, which may hold personal data).",
        remedy: "Revoke the key (Organization settings → API keys / Application keys) and \
            create a new one.",
        examples: &[
            "DD_API_KEY=be14b2eb5dfd4be28ccc56acaabf57f8",
            "datadog_app_key: 4360e67b99b3015d88c6015ed4ff6355505d4e31",
        ],
        counter_examples: &["DD_API_KEY=${DD_API_KEY}"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.opsgenie-api-key",
        name: "Opsgenie API key",
        severity: Severity::High,
        keywords: &["opsgenie", "geniekey"],
        patterns: &[keyed!(
            r"opsgenie[A-Za-z0-9_.\-]{0,20}?(?:key|token)|geniekey",
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
        )],
        description: "An Opsgenie API key: creates, closes and reads alerts, and changes \
            schedules (an attacker can silence your on-call).",
        remedy: "Delete the key in Opsgenie (Settings → API key management or the \
            integration) and create a new one.",
        examples: &[
            "Authorization: GenieKey 5c78c0d0-2095-4186-a725-b1cc7a66af97",
            "OPSGENIE_API_KEY=1edeba1b-662e-4622-90eb-7bb602ee8859",
        ],
        counter_examples: &["OPSGENIE_API_KEY=<key>"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.pagerduty-token",
        name: "PagerDuty API token or integration key",
        severity: Severity::High,
        keywords: &[
            "pagerduty",
            "pager_duty",
            "pd_api",
            "pd_token",
            "pd_key",
            "pd_routing",
            "token token=",
        ],
        patterns: &[
            keyed!(
                r"pager[_.\-]?duty[A-Za-z0-9_.\-]{0,20}?(?:key|token)|pd[_.\-](?:api[_.\-]?|routing[_.\-]?|integration[_.\-]?)?(?:key|token)",
                r"u\+[A-Za-z0-9_+\-]{18}|[A-Za-z0-9_+\-]{20}|[0-9a-f]{32}"
            ),
            concat!(r"(?i:Token token=)(?P<secret2>[A-Za-z0-9_+\-]{20})", end!()),
        ],
        filter: Filter::Entropy(3.0),
        description: "A PagerDuty REST API token or Events integration key: triggers, \
            acknowledges and resolves incidents, or reads the on-call roster.",
        remedy: "Delete the API key (Integrations → API Access Keys) or regenerate the \
            integration key on the service.",
        examples: &[
            "PAGERDUTY_TOKEN=u+jW4qtyrUZAVjA9-hpN",
            "Authorization: Token token=i2UV7oasAK0G1iRJh99k",
        ],
        counter_examples: &["PAGERDUTY_TOKEN=${PD}"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.dynatrace-token",
        name: "Dynatrace API token",
        severity: Severity::High,
        keywords: &["dt0c01."],
        patterns: &[concat!(
            r"\b(?P<secret>dt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64})",
            end!()
        )],
        description: "A Dynatrace API token: reads monitoring data or configures the \
            environment, by its scopes.",
        remedy: "Delete the token (Access tokens) and create a new one.",
        examples: &[
            "apiToken: dt0c01.2438NYSBMPDKVEWG4QMCIT4G.8HJCTV58W9221I3QV5I6KXVK0Q0Y94A9O7G5ZBDB2XZNIPVWOSENY1Z6P6DLFTJC",
        ],
        counter_examples: &["dt0c01.N7D0W6BXAD"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.grafana-token",
        name: "Grafana API key or service account token",
        severity: Severity::High,
        keywords: &["glc_", "glsa_", "eyjrijoi"],
        patterns: &[
            concat!(r"\b(?P<secret>glc_[A-Za-z0-9+/]{32,400}={0,2})", end!()),
            concat!(
                r"\b(?P<secret2>glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})",
                end!()
            ),
            concat!(
                r"\b(?P<secret3>eyJrIjoi[A-Za-z0-9+/]{40,200}={0,2})",
                end!()
            ),
        ],
        filter: Filter::Entropy(3.5),
        description: "A Grafana Cloud access policy token, service account token or legacy API \
            key: reads dashboards and data sources, or administers the instance.",
        remedy: "Delete the token (Administration → Service accounts, or Grafana Cloud → \
            Access policies) and create a new one.",
        examples: &[
            "Authorization: Bearer glsa_CF4HR6ugkBkBwXxicWFfkcmPs1I2k2T5_59cb8c7d",
            "\"token\": \"glc_eQZXpb32qUli7fcNBTOl7cIiJx9okRL5OToh6EtetHouiRHq1IR90ip7BaxuLEAPxX7IJOUJf0RMbs0i\"",
        ],
        counter_examples: &["glsa_eLoGxAP6Dj"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.observability-service-token",
        name: "Splunk, Rollbar or Bugsnag token",
        severity: Severity::Medium,
        keywords: &["splunk", "rollbar", "bugsnag"],
        patterns: &[
            keyed!(
                r"splunk[A-Za-z0-9_.\-]{0,20}?(?:token|key)",
                r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
            ),
            keyed!(
                r"(?:rollbar|bugsnag)[A-Za-z0-9_.\-]{0,20}?(?:token|key)",
                r"[0-9a-f]{32}"
            ),
        ],
        filter: Filter::Entropy(3.0),
        description: "A Splunk HTTP Event Collector token or a Rollbar/Bugsnag access token: \
            injects log events or reads error reports (with their personal data).",
        remedy: "Disable and recreate the HEC token, or rotate the project access token.",
        examples: &[
            "SPLUNK_HEC_TOKEN=9a5f2f3e-b62a-4b26-a765-d3a0e5146543",
            "ROLLBAR_ACCESS_TOKEN=ae80cb8d8e1efee627a8b84d0558323c",
        ],
        counter_examples: &["ROLLBAR_ACCESS_TOKEN=${ROLLBAR}"],
        ..Rule::DEFAULT
    },
];

const _: Anchor = Anchor::Window;
