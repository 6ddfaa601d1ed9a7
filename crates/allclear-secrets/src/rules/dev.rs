//! Code hosting, package registries, CI and developer services.

use allclear_core::Severity;

use super::{Context, Filter, Rule, end, keyed};

pub(super) const RULES: &[Rule] = &[
    Rule {
        id: "secrets.github-token",
        name: "GitHub token",
        severity: Severity::Critical,
        keywords: &["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
        patterns: &[concat!(
            r"\b(?P<secret>gh[pousr]_[A-Za-z0-9]{36,251})",
            end!()
        )],
        filter: Filter::Entropy(3.5),
        description: "A GitHub personal access (ghp_), OAuth (gho_), user-to-server (ghu_), \
            server-to-server (ghs_) or refresh (ghr_) token: acts as the user or app on every \
            repository it can reach.",
        remedy: "Revoke it (Settings → Developer settings → Personal access tokens, or the \
            app's installation), replace it with a fine-grained token or a GitHub App, and \
            check the security log.",
        examples: &[
            "GITHUB_TOKEN=ghp_vKGUgjyK0kntvvycNh0Ugtjw0Bq2vzMhNuYz",
            "git clone https://x:ghs_xYO758ADXWnGciWDc5d3XNHhh7ULrtddDiAj@github.com/o/r",
        ],
        counter_examples: &[
            "ghp_3n6Ewd5DKESjcU2BoQlB",
            "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.github-fine-grained-token",
        name: "GitHub fine-grained personal access token",
        severity: Severity::Critical,
        keywords: &["github_pat_"],
        patterns: &[concat!(
            r"\b(?P<secret>github_pat_[A-Za-z0-9_]{82})",
            end!()
        )],
        filter: Filter::Entropy(3.5),
        description: "A fine-grained GitHub personal access token: acts as the user on the \
            repositories and permissions it was granted.",
        remedy: "Revoke it (Settings → Developer settings → Fine-grained tokens) and issue a \
            new one with the least access and a short expiry.",
        examples: &[
            "token: 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",
        ],
        counter_examples: &["github_pat_ODZt6kZTvfOcsOxFZpEbVRAtIy2OEu"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.github-oauth-secret",
        name: "GitHub OAuth app client secret",
        severity: Severity::High,
        keywords: &["github"],
        patterns: &[keyed!(
            r"github[_.\-]?(?:client[_.\-]?|oauth[_.\-]?|app[_.\-]?)?secret",
            r"[0-9a-f]{40}"
        )],
        // Every match has it; most `github` are URLs (every source line of a lockfile).
        near: &["secret"],
        filter: Filter::Entropy(3.0),
        description: "The client secret of a GitHub OAuth app: with the client ID it completes \
            the OAuth flow as the app.",
        remedy: "Generate a new client secret in the OAuth app's settings and delete the old \
            one.",
        examples: &[
            "GITHUB_SECRET=e0129eac6d2a39f563dd2ef59a10ac7d6e8b6cf8",
            "github_client_secret: 'c70ed5cb27e13b228c10185e2c9be85b03c5e574'",
        ],
        counter_examples: &["GITHUB_SECRET=${{ secrets.GH }}"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.gitlab-token",
        name: "GitLab token",
        severity: Severity::Critical,
        keywords: &[
            "glpat-",
            "gldt-",
            "glrt-",
            "glcbt-",
            "glptt-",
            "glft-",
            "glimt-",
            "glagent-",
            "gloas-",
            "glsoat-",
            "glffct-",
            "gr1348941",
        ],
        patterns: &[
            concat!(
                r"\b(?P<secret>gl(?:pat|dt|rt|cbt|ptt|ft|imt|agent|oas|soat|ffct)-[A-Za-z0-9_\-]{20,64})",
                end!()
            ),
            concat!(r"\b(?P<secret2>GR1348941[A-Za-z0-9_\-]{20})", end!()),
        ],
        filter: Filter::Entropy(3.0),
        description: "A GitLab personal, project, group, deploy, runner, pipeline-trigger, \
            feed or agent token: API or registry access as its owner.",
        remedy: "Revoke it where it was created (user or project Access tokens, CI/CD → \
            Runners, Deploy tokens) and create a new one with the least scope.",
        examples: &[
            "GO_REPO_TOKEN=glpat-938XzQbF2cZQ4Otpupyn",
            "--registration-token \"GR1348941-dQMe_6CO4PnLZxa1Py8\"",
        ],
        counter_examples: &["glpat-R5AYzM4L"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.bitbucket-app-password",
        name: "Bitbucket app password",
        severity: Severity::High,
        keywords: &["atbb"],
        patterns: &[concat!(r"\b(?P<secret>ATBB[A-Za-z0-9_=.\-]{32})", end!())],
        filter: Filter::Entropy(3.5),
        description: "A Bitbucket Cloud app password: repository and API access as the user.",
        remedy: "Revoke it (Personal settings → App passwords) and prefer access tokens scoped \
            to one repository.",
        examples: &["https://me:ATBBvxGFqUB3rMVR5s295gqQrNv1Pr52qTTX@bitbucket.org/team/repo"],
        counter_examples: &["ATBByWNQqekVr2"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.atlassian-api-token",
        name: "Atlassian API token",
        severity: Severity::High,
        keywords: &["atatt3"],
        patterns: &[concat!(
            r"\b(?P<secret>ATATT3[A-Za-z0-9_\-=]{150,250})",
            end!()
        )],
        filter: Filter::Entropy(4.0),
        description: "An Atlassian Cloud API token (Jira, Confluence): everything the user can \
            do there.",
        remedy: "Revoke it at id.atlassian.com (Security → API tokens) and create a new one.",
        examples: &[
            "JIRA_API_TOKEN=\"ATATT3FpUhNcHjiYoHaUJEABxrjYs2eZh5EyaIPbLKIt9s6mXfajBSNMDXbCvw3y_YRr0DqdulL3FLyd10izEnOWsZ6ev0JsvCdw9rqe2yWrTseYg5e3FX1TFbgwYZI3j2FWlXF94_5lmVR8mXh2Q77cR0Xm-Nt9cjK8Y_Fzkf7QYzhWXTHbp3Ojut=A4A2F460\"",
        ],
        counter_examples: &["ATATT3vvAiT1WW4fNnWIuNd_qBAmwgN823Qc8H8zxD_7XE"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.npm-token",
        name: "npm access token",
        severity: Severity::Critical,
        keywords: &["npm_"],
        patterns: &[concat!(r"\b(?P<secret>npm_[A-Za-z0-9]{36})", end!())],
        filter: Filter::Entropy(3.5),
        description: "An npm access token: publishes packages as the user — a supply-chain \
            attack on everyone who installs them.",
        remedy: "Revoke it (`npm token revoke`, or npmjs.com → Access Tokens), and use \
            granular tokens or trusted publishing from CI.",
        examples: &["//registry.npmjs.org/:_authToken=npm_4XKwylBLel99zF1KKnrusscYQ5owQkHpTzmY"],
        counter_examples: &["npm_config_cache=/tmp", "npm_rjoDe2hs0soRCygduXsg"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.npmrc-auth",
        name: "Registry credential in .npmrc",
        severity: Severity::High,
        keywords: &["_authtoken", "_auth", "_password"],
        patterns: &[concat!(
            // The key starts its line or follows the registry's `:` (`//host/:_auth=`), as
            // .npmrc writes it: `old_password = …` in code is not one.
            r"(?m)(?:^[ \t]*|:)(?i:_authToken|_auth|_password)[ \t]*=[ \t]*[\x22']?(?P<secret>[A-Za-z0-9+/=_.\-]{16,400})",
            r"(?:[^A-Za-z0-9+/=_.\-]|\z)"
        )],
        filter: Filter::Entropy(3.0),
        description: "A token or base64 password for an npm-compatible registry in .npmrc \
            syntax.",
        remedy: "Revoke the token at the registry, and inject it at run time \
            (`_authToken=${NPM_TOKEN}`).",
        examples: &["//npm.pkg.github.com/:_authToken=CkOK5REMLIcoBYfbCkkrbuBRI3PGfGNWCDM8XKuq"],
        counter_examples: &[
            "//registry.npmjs.org/:_authToken=${NPM_TOKEN}",
            "old_password = self.alice.password_hash_value",
        ],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.pypi-token",
        name: "PyPI API token",
        severity: Severity::Critical,
        keywords: &["pypi-age"],
        patterns: &[concat!(
            r"\b(?P<secret>pypi-AgE[A-Za-z0-9_\-]{50,400})",
            end!()
        )],
        description: "A PyPI (or TestPyPI) API token: uploads releases of the user's or \
            project's packages.",
        remedy: "Delete the token (PyPI → Account settings → API tokens) and move publishing \
            to trusted publishing from CI.",
        examples: &[
            "password = pypi-AgEIcHlwaS5vcmcZkiSaDnqL3NlKcrnVmYchfnnYL5y2UaKS69dtFlwMOlTaivOUkGuD9UajxuiY1ZmjPKxr41bYMg0Xt1HmwPxInUSPuSKj7XTMcI51LA0kRkM1-iAE2AQyWwx",
        ],
        counter_examples: &["pypi-AgE"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.rubygems-api-key",
        name: "RubyGems API key",
        severity: Severity::Critical,
        keywords: &["rubygems_"],
        patterns: &[concat!(r"\b(?P<secret>rubygems_[a-f0-9]{48})", end!())],
        description: "A RubyGems.org API key: pushes and yanks gems as the owner.",
        remedy: "Delete the key (rubygems.org → Settings → API keys), create a scoped one, and \
            enable MFA for pushes.",
        examples: &[":rubygems_api_key: rubygems_edf8839b167d7b7cd28988133d3cea712043e32979a2c537"],
        counter_examples: &["rubygems_version: 3.4.1"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.crates-io-token",
        name: "crates.io API token",
        severity: Severity::High,
        keywords: &["cio"],
        patterns: &[concat!(r"\b(?P<secret>cio[A-Za-z0-9]{32})", end!())],
        filter: Filter::Entropy(4.0),
        description: "A crates.io API token: publishes and yanks crates as the owner.",
        remedy: "Revoke it (crates.io → Account settings → API tokens) and use scoped, \
            expiring tokens or trusted publishing.",
        examples: &["token = \"cioNOxKFypoZ7LtTR2oYBIshmyiujYCMio0\""],
        counter_examples: &[
            "ratio of cio to nothing",
            "cioAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.nuget-api-key",
        name: "NuGet API key",
        severity: Severity::High,
        keywords: &["oy2"],
        patterns: &[concat!(r"\b(?P<secret>oy2[a-z0-9]{43})", end!())],
        filter: Filter::Entropy(3.5),
        description: "A nuget.org API key: pushes packages as the owner.",
        remedy: "Regenerate or delete the key (nuget.org → API Keys).",
        examples: &[
            "dotnet nuget push x.nupkg --api-key oy2cts5gswn8xsefhtf32zedui0c62mohpr6ipzn0j2xg7",
        ],
        counter_examples: &["oy2fle44wkaq9"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.docker-hub-token",
        name: "Docker Hub access token",
        severity: Severity::High,
        keywords: &["dckr_pat_", "dckr_oat_"],
        patterns: &[concat!(
            r"\b(?P<secret>dckr_(?:pat|oat)_[A-Za-z0-9_\-]{27,36})",
            end!()
        )],
        description: "A Docker Hub personal or organisation access token: pushes images as \
            the account.",
        remedy: "Delete the token (Account settings → Personal access tokens) and create one \
            with read-only scope where that suffices.",
        examples: &["docker login -u me -p dckr_pat_Fw2f2ceuzK247ufmqogl35ztBHI"],
        counter_examples: &["dckr_pat_zYsqHq5ZAP"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.artifactory-token",
        name: "JFrog Artifactory API key or reference token",
        severity: Severity::High,
        keywords: &["akcp", "cmvmd"],
        patterns: &[
            concat!(r"\b(?P<secret>AKCp[A-Za-z0-9]{69})", end!()),
            concat!(r"\b(?P<secret2>cmVmd[A-Za-z0-9]{59})", end!()),
        ],
        filter: Filter::Entropy(3.5),
        description: "A JFrog Artifactory API key or reference token: reads and deploys \
            artifacts as the user.",
        remedy: "Revoke it in the JFrog platform (User profile → API key / Access tokens).",
        examples: &[
            "--apikey=AKCpEd1U2GAyPPoP6vDX5N76EheG5mwq6TZd8m9spMrbpnP7pW9EYxMhvt6vXTSSZfkIirLGR",
        ],
        counter_examples: &["AKCpXnoCioXHrrPafXmUDF3H"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.sonarqube-token",
        name: "SonarQube / SonarCloud token",
        severity: Severity::Medium,
        keywords: &[
            "sqp_",
            "squ_",
            "sqa_",
            "sonar.login",
            "sonar_login",
            "sonarlogin",
            "sonar.token",
            "sonar_token",
            "sonartoken",
        ],
        patterns: &[
            concat!(r"\b(?P<secret>sq[pua]_[a-f0-9]{40})", end!()),
            concat!(
                r"(?i:sonar[._\-]?(?:login|token))[\x22']?(?:[ \t]*[:=,][ \t]*|[ \t]+)[\x22']?(?P<secret2>[a-f0-9]{40})",
                end!()
            ),
        ],
        description: "A SonarQube or SonarCloud token: runs analyses and reads project code \
            and issues.",
        remedy: "Revoke it (My Account → Security) and keep the new one in the CI secret \
            store.",
        examples: &[
            "-Dsonar.login=f21e3b614b520cd8ba6dae5771fcda7f3403c47e",
            "SONAR_TOKEN=squ_4c7d870a8a3035193dfe5606fd6054bd25ead005",
        ],
        counter_examples: &[
            "sonarqube-scanner-2.5.0.tgz#696b34b7ad75ab2e7a5e01136b78c95201a5b256",
            "/d:sonar.login=$(SONAR_LOGIN)",
        ],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.codeclimate-token",
        name: "Code Climate reporter ID or repository token",
        severity: Severity::Medium,
        keywords: &["codeclimate", "cc_test_reporter"],
        patterns: &[keyed!(
            r"codeclimate[_.\-]?repo[_.\-]?token|cc[_.\-]test[_.\-]reporter[_.\-]id",
            r"[a-f0-9]{64}"
        )],
        description: "A Code Climate test reporter ID or repository token: uploads coverage \
            for the repository.",
        remedy: "Regenerate it in the repository's Code Climate settings.",
        examples: &[
            "CC_TEST_REPORTER_ID: dea45964cf6a74c43a055a37575d2b9c7e82e7a3340543829352e15fccb7563a",
        ],
        counter_examples: &["CC_TEST_REPORTER_ID: ${{ secrets.CC }}"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.databricks-token",
        name: "Databricks access token",
        severity: Severity::High,
        keywords: &["dapi"],
        patterns: &[concat!(r"\b(?P<secret>dapi[a-f0-9]{32}(?:-\d)?)", end!())],
        filter: Filter::Entropy(3.0),
        description: "A Databricks personal access token: runs jobs and reads data in the \
            workspace as the user.",
        remedy: "Revoke it (User settings → Developer → Access tokens) and prefer OAuth \
            machine-to-machine credentials.",
        examples: &["DATABRICKS_TOKEN: 'dapiae32abab3836d58526e264370596be32-3'"],
        counter_examples: &["dapiDataGetTopLongShortPositionRatio()"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.doppler-token",
        name: "Doppler token",
        severity: Severity::High,
        keywords: &["dp."],
        patterns: &[concat!(
            r"\b(?P<secret>dp\.(?:ct|pt|sa|scim|audit|st(?:\.[a-z0-9_\-]{2,35})?)\.[A-Za-z0-9]{40,44})",
            end!()
        )],
        filter: Filter::Entropy(3.5),
        description: "A Doppler CLI, personal, service, service-account, SCIM or audit token: \
            reads the secrets of the projects it covers.",
        remedy: "Revoke it in the Doppler dashboard and issue a new one.",
        examples: &["DOPPLER_TOKEN=dp.st.prd.oYGrixZeRRpAX857uvSil4LIFqb4IzZBJpSbPLxoepU"],
        counter_examples: &["dp.append(x)"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.dependency-track-key",
        name: "OWASP Dependency-Track API key",
        severity: Severity::Medium,
        keywords: &["odt_"],
        patterns: &[concat!(r"\b(?P<secret>odt_[A-Za-z0-9]{32,40})", end!())],
        filter: Filter::Entropy(3.5),
        description: "A Dependency-Track API key: uploads BOMs and reads the portfolio.",
        remedy: "Regenerate the team's API key in Dependency-Track (Administration → Teams).",
        examples: &["X-Api-Key: odt_D7WdCYsugC7be6q6GFbVNq3E7mmixjwr"],
        counter_examples: &["odt_WPHZwiAA2P"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.postman-api-key",
        name: "Postman API key",
        severity: Severity::High,
        keywords: &["pmak-"],
        patterns: &[concat!(
            r"\b(?P<secret>PMAK-[a-f0-9]{24}-[a-f0-9]{34})",
            end!()
        )],
        description: "A Postman API key: reads collections and environments (which often hold \
            other credentials).",
        remedy: "Revoke it (Postman → Settings → API keys).",
        examples: &["x-api-key: PMAK-f3f26f5f379288c7deaedd7e-4a06566f8b42e6841e33e652210d70bfdb"],
        counter_examples: &["PMAK-506bc4c2b4"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.stackhawk-api-key",
        name: "StackHawk API key",
        severity: Severity::Medium,
        keywords: &["hawk."],
        patterns: &[concat!(
            r"\b(?P<secret>hawk\.[A-Za-z0-9_\-]{20}\.[A-Za-z0-9_\-]{20})",
            end!()
        )],
        filter: Filter::Entropy(3.5),
        description: "A StackHawk API key: runs scans and reads findings for the organisation.",
        remedy: "Delete the key in StackHawk (Settings → API keys) and create a new one.",
        examples: &["HAWK_API_KEY=\"hawk.iUNcN2Hr4sOTcZmIByZs.hOIKaHdC9eyrsvvG4KoC\""],
        counter_examples: &["hawk.config"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.sourcegraph-token",
        name: "Sourcegraph access token",
        severity: Severity::High,
        keywords: &["sgp_"],
        patterns: &[concat!(
            r"\b(?P<secret>sgp_(?:[a-f0-9]{16}_|local_)?[a-f0-9]{40})",
            end!()
        )],
        description: "A Sourcegraph access token: searches all code the user can see.",
        remedy: "Delete it (User settings → Access tokens).",
        examples: &["access token sgp_8ad5c8556d82ea82_b874e97cbf4e83fc861e12f3b3b4f50077e38623"],
        counter_examples: &["sgp_e3cb75faabb23a7fc79e"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.segment-token",
        name: "Segment public API token",
        severity: Severity::High,
        keywords: &["sgp_"],
        patterns: &[concat!(r"\b(?P<secret>sgp_[A-Za-z0-9]{64})", end!())],
        filter: Filter::Entropy(3.5),
        description: "A Segment public API token: manages the workspace's sources and \
            destinations.",
        remedy: "Revoke it (Settings → Access management → Tokens).",
        examples: &[
            "\"token\": \"sgp_ynfrAI4rSv2qGci1zIDrRwO5jvWHigb7rq2ZajMAc1z0miG05etPIwH0zrF5xksW\"",
        ],
        counter_examples: &["sgp_8VpADCGjv9FQ0a92lS2n5QAsTgH4M1"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.jenkins-token",
        name: "Jenkins API token or crumb",
        severity: Severity::High,
        keywords: &["jenkins"],
        patterns: &[keyed!(
            r"jenkins[A-Za-z0-9_.\-]{0,30}?(?:token|crumb|passwd|password|secret|api[_.\-]?key)",
            r"11[0-9a-f]{32}|[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
        )],
        filter: Filter::Entropy(3.0),
        description: "A Jenkins user API token, build trigger token or crumb: triggers and \
            reads builds (and their credentials) as the user.",
        remedy: "Revoke the API token (User → Configure → API Token) or change the job's \
            trigger token.",
        examples: &[
            "export JENKINS_TOKEN=11c58bb3077cc956a68b39525af4c028df",
            "readonly string jenkinsToken = \"4b8b87ac-2829-4078-be89-86a873bf79ce\";",
        ],
        counter_examples: &["JENKINS_TOKEN=$TOKEN"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.jenkins-initial-admin-password",
        name: "Jenkins initial admin password",
        severity: Severity::High,
        keywords: &["password to proceed"],
        patterns: &[concat!(
            r"(?i:password to proceed to installation)[^\n]{0,10}\s{1,20}(?P<secret>[0-9a-f]{32})",
            end!()
        )],
        context: Context::around(0, 4),
        description: "The initial administrator password Jenkins prints on first start: full \
            control of a fresh Jenkins.",
        remedy: "Finish the setup wizard (which retires it) or change the admin password.",
        examples: &[
            "Please use the following password to proceed to installation:\n\n8b33282facd9d2f933dfd3fc31f2cc51\n",
        ],
        counter_examples: &[
            "Please use the following password to proceed to installation:\n\n$PASSWORD\n",
        ],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.netlify-token",
        name: "Netlify access token",
        severity: Severity::High,
        keywords: &["nfp_"],
        patterns: &[concat!(r"\b(?P<secret>nfp_[A-Za-z0-9]{36,40})", end!())],
        filter: Filter::Entropy(3.5),
        description: "A Netlify personal access token: deploys and configures the user's sites.",
        remedy: "Revoke it (User settings → Applications → Personal access tokens).",
        examples: &["NETLIFY_AUTH_TOKEN=nfp_W51N2QRm51QPEkXfD2eK58ulkMxzn7tFtxcz"],
        counter_examples: &["nfp_SVWt0DWd3E"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.twitch-stream-key",
        name: "Twitch stream key",
        severity: Severity::Medium,
        keywords: &["live_"],
        patterns: &[concat!(
            r"\b(?P<secret>live_\d{6,10}_[A-Za-z0-9]{30})",
            end!()
        )],
        description: "A Twitch stream key: broadcasts to the channel.",
        remedy: "Reset the stream key (Creator dashboard → Settings → Stream).",
        examples: &["STREAM_KEY=live_896936625_9lXUwTseP6pASUJdsnG0CmMaVDsj4i"],
        counter_examples: &["live_397506309_UvmQTv8f0LSt4DDMH5NT"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.iot-platform-token",
        name: "IoT platform device token (Adafruit IO, Blynk, ThingsBoard)",
        severity: Severity::Medium,
        keywords: &["aio_", "blynk", "thingsboard"],
        patterns: &[
            concat!(r"\b(?P<secret>aio_[A-Za-z0-9]{28})", end!()),
            concat!(
                r"blynk\.cloud/external/api/[^\s\x22'<>]{0,200}?[?&]token=(?P<secret2>[A-Za-z0-9_\-]{32})",
                end!()
            ),
            r"thingsboard\.cloud/api/v1/(?P<secret3>[A-Za-z0-9]{20})/",
        ],
        filter: Filter::Entropy(3.0),
        description: "A device or account token of an IoT platform: reads and writes the \
            devices' data and controls them.",
        remedy: "Regenerate the key or device token in the platform's console.",
        examples: &[
            "export IO_KEY=\"aio_WaaEt65Xb95FVSoYuzVw1tAwi1xM\"",
            "curl \"https://blynk.cloud/external/api/get?token=MYxgt8zogaYGSRNyFQ2uTwrpGuCDtJ_3&V1\"",
        ],
        counter_examples: &["aio_Yl6nX0GFNZ"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.truenas-api-key",
        name: "TrueNAS API key",
        severity: Severity::High,
        keywords: &["login_with_api_key", "truenas"],
        patterns: &[concat!(
            r"[\x22'](?P<secret>\d{1,4}-[A-Za-z0-9]{64})[\x22']",
            end!()
        )],
        context: Context::around(2, 8),
        filter: Filter::Entropy(4.0),
        description: "A TrueNAS API key: administers the storage appliance.",
        remedy: "Revoke the key (Settings → API Keys) and create a new one.",
        examples: &[
            "{\"method\": \"auth.login_with_api_key\", \"params\": [\"3-fuTeOqzoVMIZfBol0SlkVSOq4O9s0cPm5yU0p6Dz3rTqO5miNRk34UaihAoztaUf\"]}",
        ],
        counter_examples: &["{\"method\": \"auth.login_with_api_key\", \"params\": [\"$KEY\"]}"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.kagi-api-key",
        name: "Kagi API key or session token",
        severity: Severity::Medium,
        keywords: &["kagi"],
        patterns: &[
            keyed!(
                r"kagi[A-Za-z0-9_.\-]{0,20}?(?:key|token)",
                r"[A-Za-z0-9_\-]{11}\.[A-Za-z0-9_\-]{43}"
            ),
            concat!(
                r"kagi\.com/[^\s\x22'<>]{0,200}?[?&]token=(?P<secret2>[A-Za-z0-9_\-]{11}\.[A-Za-z0-9_\-]{43})",
                end!()
            ),
        ],
        filter: Filter::Entropy(3.5),
        description: "A Kagi API key or private session link: searches as the user, on their \
            bill.",
        remedy: "Regenerate the key or session link in Kagi settings.",
        examples: &["KAGI_API_KEY='nAWWrkYKo4e.lJpUZyFrFaPw3sRQ3NforwvDCLsq3q4-bEt8sYFEWCy'"],
        counter_examples: &["6xif_vX5i1H.GoYMoyP3BV8Lpil5ehuAXHEbfJyaLgDEcydDc6otAba"],
        ..Rule::DEFAULT
    },
];
