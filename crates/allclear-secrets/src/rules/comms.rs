//! Chat, e-mail, payments and social platforms.

use allclear_core::Severity;

use super::{Context, Filter, Rule, end, keyed};

pub(super) const RULES: &[Rule] = &[
    Rule {
        id: "secrets.slack-token",
        name: "Slack token",
        severity: Severity::Critical,
        keywords: &[
            "xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xoxe-", "xoxe.", "xapp-",
        ],
        patterns: &[
            concat!(r"\b(?P<secret>xox[baprse]-[0-9A-Za-z\-]{10,250})", end!()),
            concat!(
                r"\b(?P<secret2>xoxe\.xox[bp]-\d-[A-Za-z0-9]{100,300})",
                end!()
            ),
            r"\b(?P<secret3>xapp-[0-9A-Za-z/\-]{20,250})(?:[^0-9A-Za-z/\-_]|\z)",
        ],
        filter: Filter::Entropy(3.0),
        description: "A Slack bot, user, app-level, configuration or refresh token: reads and \
            posts messages, and reads files, in every channel the token can see.",
        remedy: "Revoke it (api.slack.com → Your apps → the app → OAuth & Permissions → \
            Revoke, or `auth.revoke`), reinstall to get a new one, and review the access logs.",
        examples: &[
            "SLACK_TOKEN=xoxb-456741874744-0801509096311-kTPKCMzDwU587qI8BhoQ34Xe",
            "token: xoxp-455689438558-382353456590-001285412515-dd2437bb9fe8ccb4af6290b3121d0eed",
            "SLACK_APP_TOKEN=xapp-1-MDRAGPAYT4K-0250436135139-f7ea884253e1838cb4ec2f6f1ef6b590c01857fd79ed41419a76ec11a5ce40de",
        ],
        counter_examples: &[
            "xoxb-0000000000-0000000000000-xxxxxxxxxxxxxxxxxxxxxxxx",
            "xoxb-short",
        ],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.slack-webhook",
        name: "Slack incoming webhook",
        severity: Severity::High,
        keywords: &["hooks.slack.com"],
        patterns: &[concat!(
            r"(?P<secret>hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_\-]{30,130})",
            end!()
        )],
        filter: Filter::Entropy(3.5),
        description: "A Slack incoming webhook URL: posts messages to its channel as the app \
            (a phishing channel inside your workspace).",
        remedy: "Remove the webhook (the app's Incoming Webhooks page) and create a new one \
            kept in a secret store.",
        examples: &[
            "url: https://hooks.slack.com/services/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",
        ],
        counter_examples: &[
            "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        ],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.discord-webhook",
        name: "Discord webhook or bot token",
        severity: Severity::High,
        keywords: &["discord"],
        patterns: &[
            concat!(
                r"(?P<secret>discord(?:app)?\.com/api/webhooks/\d{15,21}/[A-Za-z0-9_\-]{60,70})",
                end!()
            ),
            keyed!(
                r"discord[_.\-]?(?:bot[_.\-]?)?token",
                r"[MNO][A-Za-z0-9_\-]{23,25}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,38}"
            ),
        ],
        filter: Filter::Entropy(3.5),
        description: "A Discord webhook URL or bot token: posts to the channel, or acts as the \
            bot in every server it joined.",
        remedy: "Delete the webhook (channel settings → Integrations) or reset the bot token \
            (Developer Portal → Bot → Reset Token).",
        examples: &[
            "https://discord.com/api/webhooks/735143819832063409/r28dEJtME_eJ3Jidr7Eb6ygxxouyU6NDwFT4gfdsAv3jFl0uIIOeP6cQFCmqhHeYa4Uy",
        ],
        counter_examples: &["https://discord.com/api/webhooks/123/abc"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.teams-webhook",
        name: "Microsoft Teams incoming webhook",
        severity: Severity::High,
        keywords: &["outlook.office.com/webhook", "webhook.office.com"],
        patterns: &[concat!(
            r"(?P<secret>https://[A-Za-z0-9.\-]*(?:outlook\.office\.com|webhook\.office\.com)/webhook(?:b2)?/",
            r"[0-9a-f\-]{36}@[0-9a-f\-]{36}/IncomingWebhook/[0-9a-f]{32}/[0-9a-f\-]{36}(?:/[A-Za-z0-9_\-]{20,})?)"
        )],
        description: "A Microsoft Teams incoming webhook URL: posts messages to the channel.",
        remedy: "Remove the Incoming Webhook connector from the channel and configure a new \
            one.",
        examples: &[
            "https://acme.webhook.office.com/webhookb2/b785a5d9-8c3d-464b-a18f-a01146eeac1a@d55f8fbf-26ae-4bdf-9e15-b30ba1f621bf/IncomingWebhook/cf3aa81c8f1696a990d04115effea6d8/63078c47-277a-4036-9ef5-adb053a21ed0",
        ],
        counter_examples: &["https://outlook.office.com/webhook/<id>"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.telegram-bot-token",
        name: "Telegram bot token",
        severity: Severity::High,
        keywords: &[":aa"],
        patterns: &[concat!(
            r"\b(?P<secret>\d{8,10}:AA[0-9A-Za-z_\-]{30,35})",
            end!()
        )],
        filter: Filter::Entropy(3.5),
        description: "A Telegram bot token: controls the bot and reads every message sent to \
            it.",
        remedy: "Revoke it with @BotFather (/revoke) and configure the new token.",
        examples: &["TELEGRAM_TOKEN=8558902112:AAXA0E2l-n-2wO7RbaLA3EflDhiMW3GyVOb"],
        counter_examples: &["mac 00:aa:bb:cc:dd:ee"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.twilio-credentials",
        name: "Twilio API key or auth token",
        severity: Severity::High,
        keywords: &["twilio"],
        patterns: &[
            concat!(r"\b(?P<secret>SK[0-9a-f]{32})", end!()),
            keyed!(
                r"twilio[A-Za-z0-9_.\-]{0,30}?(?:token|secret|key)",
                r"[A-Za-z0-9]{32}"
            ),
        ],
        context: Context::around(3, 3),
        filter: Filter::Entropy(3.5),
        description: "A Twilio API key SID and secret, or an account auth token: sends SMS and \
            calls on the account's bill and reads message logs.",
        remedy: "Delete the API key (Console → API keys & tokens) or rotate the auth token \
            (promote the secondary token).",
        examples: &[
            "twilioApiKeySecret = 'YTj9AcovsbIFfitxuyBNxFSIfsucmprn'",
            "// twilio\nconst keySid = 'SKd058e6d02822c7000fdd966e0ce1a314'",
        ],
        counter_examples: &[
            "SKfd41456e930e35cdafbcc8df61bd5bee without the vendor's name anywhere",
        ],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.sendgrid-api-key",
        name: "SendGrid API key",
        severity: Severity::Critical,
        keywords: &["sg."],
        patterns: &[concat!(
            r"\b(?P<secret>SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43})",
            end!()
        )],
        description: "A SendGrid API key: sends mail from your verified domains (phishing that \
            passes SPF and DKIM) and reads contacts.",
        remedy: "Delete the key (Settings → API Keys) and create a restricted one.",
        examples: &[
            "SENDGRID_API_KEY='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'",
        ],
        counter_examples: &[
            "msg.ByZqfmiNYVJZdX8zU0w8Ez.sIf5sGG1caSGUOo8JH3GCI3DmNxVx85TfUDU_z8c8mT",
            "SG.short",
        ],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.mailgun-api-key",
        name: "Mailgun API key",
        severity: Severity::High,
        keywords: &["key-", "mailgun"],
        patterns: &[
            concat!(r"\b(?P<secret>key-[0-9a-f]{32})", end!()),
            keyed!(
                r"mailgun[A-Za-z0-9_.\-]{0,20}?(?:key|token|secret)",
                r"[0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8}"
            ),
        ],
        near: &["mailgun", "api_key", "apikey", "api-key", "mg_"],
        filter: Filter::Entropy(3.0),
        description: "A Mailgun private API key: sends mail from your domains and reads logs.",
        remedy: "Delete the key (API Security → API keys) and create a new one.",
        examples: &[
            "var apiKey = process.env.MAILGUN_API || 'key-7121d5e21af2259ff1e593a07fa79d67'",
        ],
        counter_examples: &["cache-key-20abda257bc1a3a341b84f1cd23b4921"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.mailchimp-api-key",
        name: "Mailchimp API key",
        severity: Severity::High,
        keywords: &["-us"],
        patterns: &[concat!(r"\b(?P<secret>[0-9a-f]{32}-us\d{1,2})", end!())],
        filter: Filter::Entropy(3.0),
        description: "A Mailchimp API key: reads the audience (personal data) and sends \
            campaigns.",
        remedy: "Delete the key (Account → Extras → API keys).",
        examples: &["MAILCHIMP_API='ed7039151aaee140238f6a3271af8677-us13'"],
        counter_examples: &["en-us", "b6f1bbb9f4c863adaccd-us13"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.postmark-token",
        name: "Postmark server or account token",
        severity: Severity::High,
        keywords: &["postmark"],
        patterns: &[keyed!(
            r"postmark",
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
        )],
        description: "A Postmark server or account API token: sends mail from your sender \
            signatures and reads message content.",
        remedy: "Regenerate the token (Server → API Tokens, or Account → API Tokens).",
        examples: &[
            "\"X-Postmark-Server-Token\": \"395b8082-6115-4bc9-a715-02b55e37c21e\"",
            "postmarkApiToken: '5fdcf8d4-0e3b-470c-b22a-a7cff288189f'",
        ],
        counter_examples: &["postmark: process.env.POSTMARK_TOKEN"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.brevo-api-key",
        name: "Brevo (Sendinblue) API key",
        severity: Severity::High,
        keywords: &["xkeysib-", "xsmtpsib-"],
        patterns: &[concat!(
            r"\b(?P<secret>x(?:keysib|smtpsib)-[a-f0-9]{64}-[A-Za-z0-9]{16})",
            end!()
        )],
        description: "A Brevo API or SMTP key: sends mail and reads contacts.",
        remedy: "Delete the key (SMTP & API → API keys) and create a new one.",
        examples: &[
            "BREVO_KEY=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",
        ],
        counter_examples: &["xkeysib-5000280b19"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.stripe-live-key",
        name: "Stripe live secret or restricted key",
        severity: Severity::Critical,
        keywords: &["sk_live_", "rk_live_"],
        patterns: &[concat!(
            r"\b(?P<secret>[sr]k_live_[0-9A-Za-z]{10,247})",
            end!()
        )],
        filter: Filter::Entropy(3.0),
        description: "A Stripe live secret or restricted key: charges cards, issues refunds \
            and payouts, and reads customers.",
        remedy: "Roll the key (Developers → API keys → Roll key) and review the request log.",
        examples: &["Stripe.api_key = \"sk_live_kSZmxRpt68qgY0HrhmUmKKXJ\""],
        counter_examples: &[
            "sk_live_xxxxxxxxxxxxxxxxxxxxxxxx",
            "pk_live_kubhuRFMwK2KQysNHv63Av2X",
        ],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.stripe-test-key",
        name: "Stripe test secret key",
        severity: Severity::Low,
        keywords: &["sk_test_", "rk_test_"],
        patterns: &[concat!(
            r"\b(?P<secret>[sr]k_test_[0-9A-Za-z]{10,247})",
            end!()
        )],
        filter: Filter::Entropy(3.0),
        description: "A Stripe test-mode key: no real money, but it exposes test data and \
            often sits next to its live twin.",
        remedy: "Roll the test key in the Stripe dashboard and load keys from the environment.",
        examples: &["require(\"stripe\")(\"sk_test_hwTAcaWeJHnnpbqAIcGWU3Fd\")"],
        counter_examples: &["sk_test_H0zYv"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.stripe-webhook-secret",
        name: "Stripe webhook signing secret",
        severity: Severity::High,
        keywords: &["whsec_"],
        patterns: &[concat!(r"\b(?P<secret>whsec_[A-Za-z0-9]{32,64})", end!())],
        filter: Filter::Entropy(3.5),
        description: "A webhook signing secret (Stripe, Svix and others use `whsec_`): lets \
            anyone forge events your endpoint will trust.",
        remedy: "Roll the endpoint's signing secret in the provider's dashboard.",
        examples: &["STRIPE_WEBHOOK_SECRET=whsec_hs0BXZEwkmt0IXSFrOgMdFYPJ4nIfGsA"],
        counter_examples: &["whsec_rCiESXu3"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.square-token",
        name: "Square access token or application secret",
        severity: Severity::Critical,
        keywords: &["sq0atp-", "sq0csp-"],
        patterns: &[concat!(
            r"\b(?P<secret>sq0(?:atp|csp)-[0-9A-Za-z_\-]{22,43})",
            end!()
        )],
        filter: Filter::Entropy(3.5),
        description: "A Square access token or OAuth application secret: takes payments and \
            reads customers.",
        remedy: "Revoke the token or replace the application secret in the Square Developer \
            Dashboard.",
        examples: &[
            "var accessToken = 'sq0atp-nH72z3sSLK4H23oB1CCqRP';",
            "app_secret: sq0csp-eCXajVprsJtSgZl3HbsBeMoxLvHhuIZq_g2rOosVqg-",
        ],
        counter_examples: &["sq0idp-EspoBbhRR1ftB7ocSyNgYO"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.braintree-token",
        name: "PayPal Braintree access token",
        severity: Severity::Critical,
        keywords: &["access_token$"],
        patterns: &[concat!(
            r"\b(?P<secret>access_token\$(?:production|sandbox)\$[0-9a-z]{16}\$[0-9a-f]{32})",
            end!()
        )],
        description: "A Braintree (PayPal) access token: processes payments for the merchant.",
        remedy: "Revoke it in the Braintree control panel and re-authorise.",
        examples: &[
            "BRAINTREE_TOKEN=access_token$production$te7a0rc7t36w67mk$90267efd1661be517dd7cff995cc725d",
        ],
        counter_examples: &["access_token$production$short"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.shopify-token",
        name: "Shopify access token or secret",
        severity: Severity::Critical,
        keywords: &["shpat_", "shpca_", "shppa_", "shpss_"],
        patterns: &[concat!(
            r"\b(?P<secret>shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})",
            end!()
        )],
        description: "A Shopify Admin API access token (shpat_, shpca_, shppa_) or app shared \
            secret (shpss_): reads orders and customers, and changes the store.",
        remedy: "Uninstall/reinstall the custom app or rotate the API credentials in the \
            Shopify admin, and rotate the shared secret in the Partner dashboard.",
        examples: &[
            "$token = \"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\";",
            "SHOPIFY_API_SECRET: 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",
        ],
        counter_examples: &["shpat_f4018e5ce8f3c7ef"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.facebook-access-token",
        name: "Facebook (Meta) access token",
        severity: Severity::High,
        keywords: &["EAA"],
        case_sensitive_keywords: true,
        patterns: &[concat!(r"\b(?P<secret>EAA[A-Za-z0-9]{90,400})", end!())],
        filter: Filter::Entropy(4.0),
        description: "A Meta Graph API access token: acts as the user or page it was issued \
            for.",
        remedy: "Invalidate it (log out the sessions, or reset the app secret which kills \
            app-issued tokens) and issue tokens at run time.",
        examples: &[
            "access_token=EAACEdEose0cBAmc1ehlFqC21FJLB0UuaQsH4beHXBUTMtbV4ZNVjnlnAmSkG7CoBVRagvZ9F18H4ZVQKnfD1OeISdB0hEFFsReHYZhMTQlh6sjG2ZZykSBymTRX4O0FWGbKdv",
        ],
        counter_examples: &["EAA4T5pYEHLWmegQOOepPIs"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.facebook-app-secret",
        name: "Facebook (Meta) app secret",
        severity: Severity::High,
        keywords: &[
            "facebook",
            "fbapi",
            "fb_api",
            "fb.api",
            "fbapp",
            "fb_app",
            "fbsecret",
            "fb_secret",
            "fbkey",
            "fb_key",
            "fb-api",
            "fb-app",
        ],
        patterns: &[keyed!(
            r"(?:facebook|fb)[_.\-]?(?:app[_.\-]?)?(?:secret|api[_.\-]?key|key|token)|facebook[A-Za-z0-9_.\-]{0,20}?(?:key|secret)",
            r"[0-9a-f]{32}"
        )],
        filter: Filter::Entropy(3.0),
        description: "A Facebook app secret: signs requests as the app and mints app tokens.",
        remedy: "Reset the app secret (App dashboard → Settings → Basic → Reset).",
        examples: &[
            "var fbApiKey = '3aac818ba8c9d67235912732824149a8';",
            "config.facebook.key = \"d140b5c6a3394f3c13eae8c89d378b2a\"",
        ],
        counter_examples: &["\\\"fbconnectkey\\\";s:32:\\\"5a6d763236ae96c0a64f1cae8d1634c1\\\";"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.twitter-credentials",
        name: "X (Twitter) API key or secret",
        severity: Severity::High,
        keywords: &["twitter"],
        patterns: &[keyed!(
            r"twitter[A-Za-z0-9_.\-]{0,20}?(?:key|secret|token|id)",
            r"[A-Za-z0-9]{18,50}|\d{5,20}-[A-Za-z0-9]{30,45}"
        )],
        filter: Filter::Entropy(3.5),
        description: "An X (Twitter) consumer key/secret or access token: posts and reads \
            direct messages as the account.",
        remedy: "Regenerate the keys and tokens in the X developer portal (Project → App → \
            Keys and tokens).",
        examples: &[
            "TWITTER_API_SECRET = 'h8zwddW165IsxXuWLhKbHTJsOvqM7nMC6PkC64g8Yf'",
            "TWITTER_ID: \"zW9kQKusgMieDYq5j9mv\"",
        ],
        counter_examples: &["TWITTER_API_KEY = os.environ['TWITTER_API_KEY']"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.twitter-bearer-token",
        name: "X (Twitter) bearer token",
        severity: Severity::High,
        keywords: &["aaaaaaaaaaaaaaaaaaaaa"],
        patterns: &[concat!(
            r"\b(?P<secret>A{21,23}[A-Za-z0-9%]{60,120})",
            end!()
        )],
        filter: Filter::None,
        description: "An X (Twitter) app bearer token: reads the API as the app.",
        remedy: "Regenerate the bearer token in the X developer portal.",
        examples: &[
            "BEARER=AAAAAAAAAAAAAAAAAAAAAjnl3YjjidWHKHM4pn08PZHxVG0gVCm%3DisBA20bpQ9sSnYSH3aS6oggI9rZg82T871j3D2V7D6EknzePn3",
        ],
        counter_examples: &["AAAAAAAAAAAAAAAAAAAAAAAAAA"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.linkedin-client-secret",
        name: "LinkedIn client ID or secret",
        severity: Severity::Medium,
        keywords: &["linkedin"],
        patterns: &[keyed!(
            r"linkedin[A-Za-z0-9_.\-]{0,20}?(?:key|secret)",
            r"[A-Za-z0-9]{12,16}"
        )],
        filter: Filter::Entropy(3.0),
        description: "A LinkedIn OAuth client secret (or its ID): completes OAuth as the app.",
        remedy: "Generate a new client secret in the LinkedIn developer portal (Auth tab).",
        examples: &["LINKEDIN_SECRET = \"gQXQSeFnI9YnK2E1\""],
        counter_examples: &["LINKEDIN_SECRET = ENV['LINKEDIN_SECRET']"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.mapbox-secret-token",
        name: "Mapbox secret or temporary token",
        severity: Severity::High,
        keywords: &["k.eyj"],
        patterns: &[concat!(
            r"\b(?P<secret>[st]k\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{20,})",
            end!()
        )],
        description: "A Mapbox secret (sk.) or temporary (tk.) token: manages styles, datasets \
            and uploads on the account. (Public pk. tokens are meant for browsers.)",
        remedy: "Delete the token (Account → Tokens) and create a new one with the scopes \
            needed.",
        examples: &[
            "MAPBOX_SECRET_TOKEN=sk.eyJCM_7wAWxa9IQdjMxsAmNXsuaNlKCaGJNFnw8hpgk.wI1Wo1NSxKICamTih_bHcl",
        ],
        counter_examples: &[
            "pk.eyJl1pJ88EL3d3IyyfWfsuU3NQ4Tq4SKBqUX57TXhSZ.RGN-U1QesIDtVZet2_qDll",
        ],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.dropbox-token",
        name: "Dropbox access token",
        severity: Severity::High,
        keywords: &["sl."],
        patterns: &[concat!(
            r"\b(?P<secret>sl\.[A-Za-z0-9_\-]{120,1400})",
            end!()
        )],
        filter: Filter::Entropy(4.0),
        description: "A Dropbox short-lived access token: reads and writes the user's files \
            until it expires.",
        remedy: "Revoke it (`/2/auth/token/revoke`) or remove the app's access in the user's \
            Dropbox settings.",
        examples: &[
            "\"access_token\": \"sl.6bFnUy9nIRlhL0R9JJ1iJkRQAP3ZWzPOnZSH5MnLZRUqjdlka1-Wss-bcsMkeybFgG7QJHqsTKGaNvkquvlf0AJlK_ngWx9CiSet__7M80d9wTovh17VVAwcjSdkLG2wZdmrHg7l\",",
        ],
        counter_examples: &["sl.append(x)"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.okta-api-token",
        name: "Okta API token",
        severity: Severity::Critical,
        keywords: &["okta", "ssws"],
        patterns: &[
            keyed!(
                r"okta[A-Za-z0-9_.\-]{0,20}?(?:token|key|secret)",
                r"00[A-Za-z0-9_\-]{39}[A-Za-z0-9]"
            ),
            concat!(
                r"SSWS[ \t]+(?P<secret2>00[A-Za-z0-9_\-]{39}[A-Za-z0-9])",
                end!()
            ),
        ],
        filter: Filter::Entropy(3.5),
        description: "An Okta API token: administers the Okta org (users, groups, apps) with \
            the rights of the admin who made it.",
        remedy: "Revoke it (Security → API → Tokens) and use OAuth service apps with scoped \
            grants.",
        examples: &[
            "okta_api_token = 00rOvDu8h-5HD-Jf0aJzX1PUKjSzTYcRW30Btm5npH",
            "Authorization: SSWS 00-r0j0h9WjN0A7h7chqgHxbxeulIVtjTmyeHcggad",
        ],
        counter_examples: &["okta_api_token: 000000000000000000000000000000000000000000"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.salesforce-access-token",
        name: "Salesforce access token",
        severity: Severity::High,
        keywords: &["00d"],
        patterns: &[concat!(
            r"\b(?P<secret>00D[A-Za-z0-9]{12,15}![A-Za-z0-9_.]{80,200})",
            end!()
        )],
        filter: Filter::Entropy(4.0),
        // Every match has one; `00d` is common in hex (checksums, hashes).
        near: &["!"],
        description: "A Salesforce session or OAuth access token (the org ID, `!`, then the \
            session): acts as the user in the org until the session ends.",
        remedy: "Revoke it (Setup → Session Management, or the connected app's OAuth usage) \
            and re-authenticate.",
        examples: &[
            "Access Token      00DyHRSIf8NFmAU!NLnY5Yx0y3RnjDQl2Kvf8THRXfEuzcrJaBnx7IfDH5mMDdwin86TkVYCM7l8GQlchbkER0Af7BOfjtNayviHzm5YdOnCqIz0",
        ],
        counter_examples: &["00DWiw8SE7diV3T!short"],
        ..Rule::DEFAULT
    },
];
