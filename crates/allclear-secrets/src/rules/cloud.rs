//! Cloud providers: AWS, Google Cloud, Azure, DigitalOcean, Cloudflare, Heroku, Alibaba,
//! HashiCorp, Kubernetes.

use allclear_core::Severity;

use super::{Context, Filter, Rule, end, end64, keyed};

pub(super) const RULES: &[Rule] = &[
    Rule {
        id: "secrets.aws-access-key-id",
        name: "AWS access key ID",
        severity: Severity::High,
        keywords: &["akia", "asia", "abia", "acca", "a3t"],
        patterns: &[concat!(
            r"\b(?P<secret>(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16})",
            end!()
        )],
        description: "The public half of an AWS IAM access key (AKIA… long-lived, ASIA… \
            temporary). On its own it identifies the key; next to its secret it is full API \
            access to the account, and it is rarely committed without the secret nearby.",
        remedy: "Deactivate and delete the key in IAM (Users → Security credentials), create a \
            new one if still needed and keep it in a secret store or an instance role, then \
            check CloudTrail for use of the old key.",
        examples: &[
            "aws_access_key_id = AKIA62KSF4D7YKXV7H72",
            r#"const id = "ASIAEAPEMFLEFMTN2TOG";"#,
        ],
        counter_examples: &[
            "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
            "AKIAEMMMZJVG3OMN3US",
            "akiaCBSPC6XCUMO7FBVK",
        ],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.aws-secret-access-key",
        name: "AWS secret access key",
        severity: Severity::Critical,
        keywords: &[
            "aws_secret",
            "aws-secret",
            "awssecret",
            "aws.secret",
            "secret_access",
            "secretaccess",
            "secret-access",
        ],
        patterns: &[keyed!(
            r"aws[_.\-]?secret[_.\-]?(?:access[_.\-]?)?key|secret[_.\-]?access[_.\-]?key",
            r"[A-Za-z0-9/+]{40}"
        )],
        filter: Filter::Entropy(3.5),
        claims: &[
            "aws_secret",
            "aws-secret",
            "awssecret",
            "secret_access_key",
            "secretaccesskey",
            "secret-access-key",
        ],
        description: "The secret half of an AWS IAM access key: with the key ID it signs any \
            API call the IAM user or role may make.",
        remedy: "Deactivate and delete the access key in IAM, issue a new one (or better, use \
            an instance/task role or SSO), and review CloudTrail for the old key's use.",
        examples: &[
            "aws_secret_access_key = 9EgrkAlYcM9+rLVTJlhfjf/yS3osWSnaUa2M6MhW",
            r#"export AWS_SECRET_ACCESS_KEY="GEQRm1ZAVKilxEGn+bY6BsjdZNAmftfpbDKVKhhD""#,
        ],
        counter_examples: &[
            "aws_secret_access_key = cJVdWWmrbAFYl/oHA3P/Brq6K3SwesnNv1DcI+z",
            "aws_secret_access_key = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            r#"aws_secret_access_key = "<your secret key>""#,
        ],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.aws-key-pair",
        name: "AWS access key ID with its secret",
        severity: Severity::Critical,
        keywords: &["akia", "asia", "abia", "acca", "a3t"],
        patterns: &[concat!(
            r"(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16}(?s:.){0,160}?[^A-Za-z0-9/+=]",
            r"(?P<secret>[A-Za-z0-9/+]{40})",
            end64!()
        )],
        context: Context::around(0, 3),
        filter: Filter::Entropy(4.0),
        description: "An AWS access key ID followed closely by a 40-character secret, whatever \
            names they carry: the pair is complete programmatic access.",
        remedy: "Deactivate and delete the access key in IAM, replace it with a role or a \
            secret store, and review CloudTrail for the old key's use.",
        examples: &[
            "AKIADBDCAYLRMIXIOONK\nFZsQXKbY5h7vAo/CLbe3Mjz5+8KBkHmiM5f4c0MJ",
            "Access key: ASIAKX6S2I7EDQBNFG7O  Secret: aYBuOjKOlJoExv2l68NChT30SrrUYOePduQL2rP1",
        ],
        counter_examples: &[
            "AKIA4MB5QSZFRNBNSOCE commit e76f67ca8980aab6ae4bc13d2a43a6ada2706912",
            "AKIA43G2TQ2PRVUZCAMS\nnothing else here",
        ],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.aws-mws-token",
        name: "Amazon Marketplace Web Service auth token",
        severity: Severity::High,
        keywords: &["amzn.mws."],
        patterns: &[concat!(
            r"\b(?P<secret>amzn\.mws\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})",
            end!()
        )],
        description: "An MWS authorisation token: lets a developer act on a seller's account.",
        remedy: "Revoke the developer's access in Seller Central (User Permissions → Manage \
            your apps) and authorise again to get a new token.",
        examples: &["mws_auth_token = amzn.mws.bdf968e8-4b79-4cc0-bbb9-59ccb091ea6c"],
        counter_examples: &["amzn.mws.not-a-token"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.aws-appsync-api-key",
        name: "AWS AppSync API key",
        severity: Severity::Medium,
        keywords: &["da2-"],
        patterns: &[concat!(r"\b(?P<secret>da2-[a-z0-9]{26})", end!())],
        description: "An AppSync GraphQL API key. Often shipped to browsers on purpose, but it \
            grants whatever the API allows anonymous keys to do.",
        remedy: "Delete the key in the AppSync console (Settings → API keys), create a new one \
            with a short expiry, and prefer Cognito or IAM authorisation for anything private.",
        examples: &["aws_appsync_apiKey: 'da2-bv4nosttfxewpwzpeox5q1x6w2'"],
        counter_examples: &["da2-504oob9kc9in2eberkh0"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.gcp-api-key",
        name: "Google API key",
        severity: Severity::Medium,
        keywords: &["aiza"],
        patterns: &[concat!(r"\b(?P<secret>AIza[0-9A-Za-z_\-]{35})", end!())],
        description: "A Google Cloud API key (Maps, Gemini, Firebase…). Unrestricted keys can be \
            billed to the project by anyone who has them.",
        remedy: "Delete or regenerate the key in Google Cloud console (APIs & Services → \
            Credentials), and restrict the new one by API and by referrer or IP.",
        examples: &["var DEVELOPER_KEY = 'AIza5-DyHia0-9ry9HrgZzyUv-daLpCigHUHnv4';"],
        counter_examples: &[
            "AIzaSiTXIzcusgmQwVgqnQi0",
            "aizaiD62M8r5vJR_kpsM0oUWX9Sd-woyiz2l9ZC",
        ],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.gcp-oauth-client-secret",
        name: "Google OAuth client secret",
        severity: Severity::High,
        keywords: &["gocspx-"],
        patterns: &[concat!(r"\b(?P<secret>GOCSPX-[A-Za-z0-9_\-]{28})", end!())],
        description: "The secret of a Google OAuth client: with the client ID it can exchange \
            authorisation codes for users' tokens.",
        remedy: "Reset the client secret in Google Cloud console (APIs & Services → \
            Credentials → the OAuth client → Reset secret) and update the deployments.",
        examples: &[r#"client_secret: "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""#],
        counter_examples: &["GOCSPX-nR2PuZOFY2"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.google-oauth-access-token",
        name: "Google OAuth access token",
        severity: Severity::Medium,
        keywords: &["ya29."],
        patterns: &[concat!(
            r"\b(?P<secret>ya29\.[0-9A-Za-z_\-]{20,400})",
            end!()
        )],
        filter: Filter::Entropy(3.5),
        description: "A short-lived Google OAuth access token: acts as the user for up to an \
            hour, with the scopes granted.",
        remedy: "Revoke it (https://oauth2.googleapis.com/revoke?token=…) and find how it was \
            captured: tokens should come from the OAuth flow at run time, not from files.",
        examples: &[
            "access_token = 'ya29._IDZJeaYfPRkUsBU5I7lv7YOUGYt-fSRzyjeNfWMmqm5v25oTzwDFelhrt1I'",
        ],
        counter_examples: &["ya29.short"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.google-oauth-refresh-token",
        name: "Google OAuth refresh token",
        severity: Severity::High,
        keywords: &["1//0"],
        patterns: &[concat!(
            r"(?:^|[^A-Za-z0-9/])(?P<secret>1//0[0-9A-Za-z_\-]{40,400})",
            end!()
        )],
        filter: Filter::Entropy(3.5),
        description: "A Google OAuth refresh token: mints new access tokens for the user until \
            revoked.",
        remedy: "Revoke it in the user's Google account (Security → Third-party access) or via \
            the revoke endpoint, then re-authorise.",
        examples: &[
            "refresh_token: '1//0XjQWaXjxOPl6s47WdjP6M9hdqyHGNDJ1rSIMh9W3MXM7VsctSUdX3h3PYU1fM1SVZNCiVP'",
        ],
        counter_examples: &["see http://1//0 for nothing"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.azure-storage-account-key",
        name: "Azure storage account key",
        severity: Severity::Critical,
        keywords: &["accountkey"],
        patterns: &[concat!(
            r"(?i:AccountKey)[ \t]*=[ \t]*(?P<secret>[A-Za-z0-9+/]{40,100}={0,2})",
            end64!()
        )],
        filter: Filter::Entropy(4.0),
        description: "An Azure Storage account key, usually inside a connection string: full \
            control of every blob, queue, table and file share in the account.",
        remedy: "Rotate the key in the portal (Storage account → Access keys → Rotate), move \
            clients to Entra ID or SAS tokens with expiry, and review the storage logs.",
        examples: &[
            "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=Y05VMZOKd5hrxZ17VHNlz+23+6jK4LYSh9TqXIpLvj9MvF5W6DLE4PGNUOQlG+TCQ7ryqiGv0GZgHSAK8mXXzu==;EndpointSuffix=core.windows.net",
        ],
        counter_examples: &["AccountName=<name>;AccountKey=<key>;", "AccountKey={3};"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.azure-shared-access-key",
        name: "Azure shared access key",
        severity: Severity::High,
        keywords: &["sharedaccesskey"],
        patterns: &[concat!(
            r"(?i:SharedAccessKey)[ \t]*=[ \t]*(?P<secret>[A-Za-z0-9+/]{40,60}={0,2})",
            end64!()
        )],
        filter: Filter::Entropy(4.0),
        description: "A shared access key of an Azure Service Bus, Event Hub or IoT Hub policy: \
            sends, listens or manages according to the policy.",
        remedy: "Regenerate the policy's keys (Shared access policies → the policy → \
            Regenerate) and update the connection strings in your secret store.",
        examples: &[
            "HostName=hub.azure-devices.net;SharedAccessKeyName=owner;SharedAccessKey=L8oV7BTyO2M6jpAb4axLTz52oA7SLG+07IR1Vu1u5Uc=",
        ],
        counter_examples: &["SharedAccessKeyName=x;SharedAccessKey=[key goes here];"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.azure-app-configuration",
        name: "Azure App Configuration connection string",
        severity: Severity::High,
        keywords: &["azconfig.io"],
        patterns: &[concat!(
            r"\.azconfig\.io;Id=[^;\s]{4,60};Secret=(?P<secret>[A-Za-z0-9+/]{40,60}={0,2})",
            end64!()
        )],
        filter: Filter::Entropy(4.0),
        description: "The secret of an Azure App Configuration access key: reads (or writes) \
            every configuration value, often including other secrets.",
        remedy: "Regenerate the access key (App Configuration → Access keys) and prefer managed \
            identities over connection strings.",
        examples: &[
            "Endpoint=https://acme.azconfig.io;Id=qFdP-l0-s0:DjU4LGsWbmekp42en3p3;Secret=1NzZQyNjOuHck0tfq06pLCfNS6VX8QU51n7ayaPs1eQ=",
        ],
        counter_examples: &["Endpoint=https://contoso.azconfig.io;Id=xxx;Secret=xxx"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.azure-sas-token",
        name: "Azure shared access signature",
        severity: Severity::High,
        keywords: &["sv=20"],
        patterns: &[concat!(
            r"[?&;]sv=20\d\d-\d\d-\d\d&[^\s'\x22<>]{0,400}?sig=(?P<secret>[A-Za-z0-9%+/]{40,90}(?:%3D|=){0,2})",
            end64!()
        )],
        filter: Filter::Entropy(4.0),
        description: "A signed Azure Storage URL (SAS): grants the permissions in `sp=` until \
            `se=`, to anyone holding the URL.",
        remedy: "Rotate the account key that signed it (or revoke the stored access policy) and \
            issue short-lived, narrowly scoped SAS tokens at run time.",
        examples: &[
            "https://acme.blob.core.windows.net/c/f.txt?sv=2022-11-02&ss=b&sp=r&se=2030-01-01&sig=fqcGXV0X30atDg5GuBB1HyTweAesmZkrafPaoujCwyk%3D",
        ],
        counter_examples: &["?sv=2022-11-02&sp=r&sig=<signature>"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.azure-devops-pat",
        name: "Azure DevOps personal access token",
        severity: Severity::High,
        keywords: &["azdo"],
        patterns: &[concat!(
            r"\b(?P<secret>[A-Za-z0-9]{76}AZDO[A-Za-z0-9]{4})",
            end!()
        )],
        filter: Filter::Entropy(4.0),
        description: "An Azure DevOps personal access token (84 characters with the AZDO \
            signature): acts as the user on repositories, pipelines and boards.",
        remedy: "Revoke the token (User settings → Personal access tokens) and create a new \
            one with the narrowest scopes and a short expiry.",
        examples: &[
            "azure_devops_pat = \"VTPcL77VxC8LdPIr8dvI1KZ66lWX49Hybmm3Toatz8ATqa3cKTBIJQQJ997ZPiKPpsPh4HQvyToOAZDOFNlh\"",
        ],
        counter_examples: &[
            "nuarWS6UjEszEcuBudqrpqTOhDUTSHpAcuQD9pNALgUdD62QZ1VIJQQJ991LknMjOabw6u3cQKWAZDOR0Qs",
            "tNJHdnovC1PEvkjls8hpSG79qIdru6FsjzBR5uBooHOdee4LucnK0KWfv4CRFXPRJt3DrhhEzBQuXXXX21Kh",
        ],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.azure-ad-client-secret",
        name: "Microsoft Entra ID (Azure AD) client secret",
        severity: Severity::High,
        keywords: &["q~"],
        patterns: &[concat!(
            r"(?:^|[^A-Za-z0-9_~.\-])(?P<secret>[A-Za-z0-9_~.\-]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34})",
            r"(?:[^A-Za-z0-9_~.\-]|\z)"
        )],
        filter: Filter::Entropy(3.5),
        description: "An Entra ID application client secret (the `…Q~…` format): signs in as \
            the application with every permission it was granted.",
        remedy: "Delete the secret in the app registration (Certificates & secrets), add a new \
            one or switch to a certificate or managed identity, and review sign-in logs.",
        examples: &["client_credential='a5z8Q~KsuDy5rL7uivetUJeEp1QeJGOYWNLKbc-1'"],
        counter_examples: &["a Q~ in prose", "Ura8Q~kqA01p7qpw"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.digitalocean-token",
        name: "DigitalOcean token",
        severity: Severity::Critical,
        keywords: &["dop_v1_", "doo_v1_", "dor_v1_"],
        patterns: &[concat!(r"\b(?P<secret>do[opr]_v1_[a-f0-9]{64})", end!())],
        description: "A DigitalOcean personal access, OAuth or refresh token: manages droplets, \
            databases, DNS and billing as the user.",
        remedy: "Delete the token (API → Tokens) and generate a new, narrowly scoped one.",
        examples: &[
            "token = \"dop_v1_5668959be4a15a207313005c224cdc9f858690cf75af94289265478df7e3311b\"",
        ],
        counter_examples: &["dop_v1_efa7bbb6b704a4c923f8374c6c12a1ca644170f39f0a13c8f597b5b145f1"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.cloudflare-api-token",
        name: "Cloudflare API token or key",
        severity: Severity::High,
        keywords: &["cloudflare", "cf_api", "cf-api", "cf.api"],
        patterns: &[keyed!(
            r"cloudflare[_.\-]?(?:api[_.\-]?)?(?:token|key)|cf[_.\-]api[_.\-]?(?:token|key)",
            r"[A-Za-z0-9_\-]{37,40}"
        )],
        filter: Filter::Entropy(3.5),
        description: "A Cloudflare API token or global API key: changes DNS, WAF rules and \
            workers for the zones it covers.",
        remedy: "Roll or delete the token (My Profile → API Tokens); replace global API keys \
            with scoped tokens.",
        examples: &[
            "CLOUDFLARE_API_TOKEN=iiNafQfplWNFF0pxcy_s53K601Uy0yPQNCoHAmjC",
            "cf_api_key: 9f01b1050336c39b3d3547992a6e3646574f8",
        ],
        counter_examples: &["CLOUDFLARE_API_TOKEN=${CF_TOKEN}"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.cloudflare-origin-ca-key",
        name: "Cloudflare Origin CA key",
        severity: Severity::High,
        keywords: &["v1.0-"],
        patterns: &[concat!(
            r"\b(?P<secret>v1\.0-[a-f0-9]{24}-[a-f0-9]{146})",
            end!()
        )],
        description: "A Cloudflare Origin CA key: issues and revokes origin certificates for \
            the account's zones.",
        remedy: "Change the Origin CA key (My Profile → API Tokens → Origin CA Key → Change).",
        examples: &[
            "origin_ca_key = v1.0-b14ec01a9a8f99a19ba14b97-551142a1c4fd760512cb40d314874e66c83e2ef5ab96dc9a9c2dec94649cbb1efac1f66b89d38410d64e46294004a9413ca56cffe072d3252d487e72a7ddc198c99703cff7143fc6a9",
        ],
        counter_examples: &["version v1.0-beta"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.heroku-api-key",
        name: "Heroku API key",
        severity: Severity::High,
        keywords: &["hrku-", "heroku"],
        patterns: &[
            concat!(r"\b(?P<secret>HRKU-[A-Za-z0-9_\-]{60})", end!()),
            keyed!(
                r"heroku[_.\-]?(?:api[_.\-]?)?(?:key|token)",
                r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
            ),
        ],
        description: "A Heroku API key or OAuth token: deploys, scales and reads the config \
            vars (often other secrets) of every app the user can reach.",
        remedy: "Regenerate the API key (Account settings → API Key) or revoke the \
            authorization (`heroku authorizations:revoke`).",
        examples: &[
            "HEROKU_API_KEY: 931778d4-1e10-4ecb-82ca-c66901b1673b",
            "HRKU-U0tjD7Jp_pTvGKQyHaH9yvPHyQZb6Eop24Lp7E60tbwMaIoR9KqOoC9mTSsA",
        ],
        counter_examples: &[
            "https://kolkrabbi.heroku.com/apps/56696530-130b-4829-8cee-309803826c3e/github",
        ],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.alibaba-access-key",
        name: "Alibaba Cloud AccessKey ID",
        severity: Severity::High,
        keywords: &["ltai"],
        patterns: &[concat!(r"\b(?P<secret>LTAI[A-Za-z0-9]{20})", end!())],
        filter: Filter::Entropy(3.5),
        description: "An Alibaba Cloud AccessKey ID, whose secret is usually close by: API \
            access to the account.",
        remedy: "Disable and delete the AccessKey pair in the RAM console and use RAM roles.",
        examples: &["access_key_id: LTAIaz1A12AocCikgbzoOzT9"],
        counter_examples: &["LTAIWqx3JI9Zml"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.vault-token",
        name: "HashiCorp Vault token",
        severity: Severity::Critical,
        keywords: &["hvs.", "hvb.", "hvr.", "vault"],
        patterns: &[
            concat!(r"\b(?P<secret>hv[sbr]\.[A-Za-z0-9_\-]{24,400})", end!()),
            keyed!(
                r"vault[_.\-]?(?:client[_.\-]?)?token",
                r"[sbr]\.[A-Za-z0-9_\-]{24,400}"
            ),
        ],
        filter: Filter::Entropy(3.5),
        description: "A Vault service, batch or recovery token: reads the secrets its policies \
            allow — often all of them.",
        remedy: "Revoke it (`vault token revoke -accessor …`), then check the audit log for \
            what it read.",
        examples: &[
            "apikey: hvs.q9j1nFzcDiDtPyAWlAJrsFRno0SZYIWfGJWxx3Tg",
            r#"VAULT_CLIENT_TOKEN="s.74J0y4B2jSq6u6ATtHAQnZ25""#,
        ],
        counter_examples: &["s.addComponentsFromRegistry()", "hvs.short"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.vault-unseal-key",
        name: "HashiCorp Vault unseal key",
        severity: Severity::Critical,
        keywords: &["unseal"],
        patterns: &[concat!(
            r"(?i:unseal)(?:[ \t]+(?i:key)(?:[ \t]+\d+)?[ \t]*:)?[ \t]+(?P<secret>[A-Za-z0-9+/]{43,44}={0,2})",
            end64!()
        )],
        filter: Filter::Entropy(4.0),
        description: "A share of a Vault unseal (or recovery) key: with enough shares anyone \
            with the storage backend can decrypt everything in Vault.",
        remedy: "Rekey Vault (`vault operator rekey`) so the leaked shares become useless.",
        examples: &[
            "Unseal Key 1: IJ3IkCvxEodMbji3vKhipJ1JAYGVYwXEMVMHbHQsbqur",
            "vault operator unseal Dbo/sIxmPb35Yzsxw9m1/Yhf8+tm/opztPzuvb97t8N4",
        ],
        counter_examples: &["vault operator unseal $KEY"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.terraform-cloud-token",
        name: "Terraform Cloud / Enterprise API token",
        severity: Severity::High,
        keywords: &["atlasv1"],
        patterns: &[concat!(
            r"\b(?P<secret>[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_\-=]{60,70})",
            end!()
        )],
        description: "A Terraform Cloud user, team or organisation token: runs plans and \
            applies, and reads state (with its secrets).",
        remedy: "Delete the token (User settings → Tokens, or the team/organisation API token) \
            and create a new one.",
        examples: &[
            "token = \"3z9FyBASdiWY02.atlasv1.B0KxQ3QUNIzZX5sgygftBacnkgoXavCrQYqnCqHbCSLVqyFe50zD6NObPG-Y_mid_Xo\"",
        ],
        counter_examples: &["atlasv1 docs"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.kubernetes-bootstrap-token",
        name: "Kubernetes bootstrap token",
        severity: Severity::Medium,
        keywords: &["bootstrap", "token-secret"],
        patterns: &[
            concat!(
                r"(?i:bootstrap)[A-Za-z0-9_\-]*[\x22']?(?:[ \t]*[:=][ \t]*|[ \t]+)[\x22']?(?P<secret>[a-z0-9]{6}\.[a-z0-9]{16})",
                end!()
            ),
            concat!(
                r"(?i:token-secret)[ \t]*:[ \t]*[\x22']?(?P<secret2>[a-z0-9]{16})",
                end!()
            ),
        ],
        description: "A kubeadm bootstrap token: joins nodes to the cluster (and, with the \
            default RBAC, reads cluster information).",
        remedy: "Delete it (`kubeadm token delete <id>`) and create a short-lived one when a \
            node needs to join.",
        examples: &[
            "kubeadm join --tls-bootstrap-token sr0w0e.yahs0c4620oc3wx4",
            "token-secret: 4kgw44pf6n10k799",
        ],
        counter_examples: &["ei2m2d.5d5yvrk9vqmah5da", "bootstrap: true"],
        ..Rule::DEFAULT
    },
];
