//! The frameworks our teams run: Rails, Devise, Django, Drupal.

use allclear_core::Severity;

use super::{Context, Filter, Rule, end};

pub(super) const RULES: &[Rule] = &[
    Rule {
        id: "secrets.rails-secret-key-base",
        name: "Rails secret_key_base",
        severity: Severity::Critical,
        keywords: &["secret_key_base"],
        patterns: &[concat!(
            r#"(?i:secret_key_base)["']?[ \t]*(?::|=>|=)[ \t]*["']?(?P<secret>[0-9a-f]{64,256})"#,
            end!()
        )],
        description: "The key Rails derives every other key from: it signs and encrypts \
            sessions and cookies (forge any user's session), signed IDs and Active Storage \
            URLs, and with old cookie serializers it meant remote code execution.",
        remedy: "Generate a new one (`bin/rails secret`), store it in encrypted credentials or \
            SECRET_KEY_BASE, deploy, and accept that existing sessions are invalidated.",
        examples: &[
            "production:\n  secret_key_base: 0d06f59dd8fe4e7169d2fce5f4e5c67984cae2fd273a3b110721b32144d1b6df7f21adf869d2b912744cbc1c047cb529faa99901ee1de017455e53bcbd187b03",
        ],
        counter_examples: &["secret_key_base: <%= ENV[\"SECRET_KEY_BASE\"] %>"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.devise-secret-key",
        name: "Devise secret key or pepper",
        severity: Severity::Critical,
        keywords: &["config.secret_key", "config.pepper"],
        patterns: &[concat!(
            r#"config\.(?:secret_key|pepper)[ \t]*=[ \t]*["'](?P<secret>[0-9a-f]{64,256})["']"#,
            end!()
        )],
        description: "Devise's `config.secret_key` (signs reset and confirmation tokens) or \
            `config.pepper` (mixed into every password hash).",
        remedy: "Remove the line so Devise uses secret_key_base, or load it from credentials; \
            a leaked pepper means rehashing passwords at next login.",
        examples: &[
            "  config.secret_key = 'f5c06f8b34eced9652e44574c0492a62b20499808ebd104b6ba9e0f424b3f599915df674c882a0fc526a85963670513f0ae45c72f148455c28696ac1f9640a1a'",
        ],
        counter_examples: &["  config.secret_key = Rails.application.credentials.devise_key"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.django-secret-key",
        name: "Django SECRET_KEY",
        severity: Severity::High,
        keywords: &["django-insecure-", "secret_key"],
        patterns: &[
            r#"(?P<secret>django-insecure-[^"'\s]{20,100})"#,
            concat!(
                r#"\bSECRET_KEY[ \t]*=[ \t]*["'](?P<secret2>[^"'\n]{40,100})["']"#,
                r"(?:[^A-Za-z0-9_\-]|\z)"
            ),
        ],
        filter: Filter::Entropy(4.0),
        description: "Django's SECRET_KEY: signs sessions, password-reset tokens and messages; \
            whoever knows it can forge them.",
        remedy: "Generate a new key (`django.core.management.utils.get_random_secret_key()`), \
            load it from the environment, and expect sessions to be reset.",
        examples: &[
            "SECRET_KEY = 'django-insecure-yu2wGCLOajCKKgFdMK2X0ZMnTwStt1PpHUQLeenUVDBDH4LEiu'",
        ],
        counter_examples: &["SECRET_KEY = os.environ['DJANGO_SECRET_KEY']"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.drupal-hash-salt",
        name: "Drupal hash_salt",
        severity: Severity::High,
        keywords: &["hash_salt"],
        patterns: &[
            r#"\$settings\[["']hash_salt["']\][ \t]*=[ \t]*["'](?P<secret>[^"'\n]{16,200})["']"#,
        ],
        filter: Filter::Entropy(3.5),
        description: "Drupal's `$settings['hash_salt']`: salts one-time login links, form \
            tokens and cache keys; with it, password-reset links can be forged.",
        remedy: "Generate a new salt, keep it outside the web root \
            (`file_get_contents('/etc/drupal/salt.txt')`) or in the environment.",
        examples: &["$settings['hash_salt'] = '3pLVCm8I5ShQXkvTy4fBaKXlnOPAmnj_S-jBE5Rlie9';"],
        counter_examples: &["$settings['hash_salt'] = file_get_contents('/home/site/salt.txt');"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.drupal-database-password",
        name: "Drupal database password",
        severity: Severity::Critical,
        keywords: &["$databases"],
        patterns: &[
            r#"\$databases(?:\[[^\n]{0,80})?[ \t]*=(?s:[^;]{0,800}?)["']password["'][ \t]*=>[ \t]*["'](?P<secret>[^"'\n]{1,200})["']"#,
        ],
        context: Context::around(0, 30),
        filter: Filter::Password,
        description: "The database password in a Drupal `settings.php` or \
            `settings.local.php` `$databases` array.",
        remedy: "Change the database password, and read it from the environment \
            (`getenv('DB_PASSWORD')`) in a settings file that is not committed.",
        examples: &[
            "$databases['default']['default'] = [\n  'database' => 'drupal',\n  'username' => 'drupal',\n  'password' => 'C1aC9kyPstT4D0',\n  'host' => 'db',\n];",
        ],
        counter_examples: &[
            "$databases['default']['default'] = [\n  'password' => getenv('DB_PASSWORD'),\n];",
        ],
        ..Rule::DEFAULT
    },
];
