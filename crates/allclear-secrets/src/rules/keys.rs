//! Private keys, signed tokens and password hashes.

use allclear_core::Severity;

use super::{Context, Filter, Rule, end};

pub(super) const RULES: &[Rule] = &[
    Rule {
        id: "secrets.private-key",
        name: "Private key (PEM, OpenSSH, PGP)",
        severity: Severity::Critical,
        keywords: &["private key"],
        patterns: &[concat!(
            r"-----BEGIN[ A-Z0-9]{0,30}PRIVATE KEY(?: BLOCK)?-----(?P<secret>(?s:.){40,}?)",
            r"-----END[ A-Z0-9]{0,30}PRIVATE KEY(?: BLOCK)?-----"
        )],
        context: Context::around(0, 200),
        filter: Filter::PemBlock,
        description: "A private key in PEM armour: RSA, EC, DSA, PKCS#8, OpenSSH or PGP. Whoever \
            has it can impersonate the server, sign as the person, or log in where the key is \
            authorised. Also found inside strings with escaped newlines.",
        remedy: "Treat the key as compromised: generate a new key pair, replace the public key \
            where it is trusted (authorized_keys, certificates, key servers), revoke the old \
            certificate or PGP key, and keep private keys out of the repository.",
        examples: &[
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEowBqDn2pztwX+exMfW2rCOqDeu/GMCdT7XEAp2rC2M7Y+sepiDr+t96vUj70bP\n0OsN0DNcakXvzeLajMn7c7aQI97o5EhiNAvNpjVEkwdebKl7/OVc85E4KYUpYuAf\npnZ1prWjvRya1hPJH31IFFR87ye4XRxaTIJhdnf5u26YrvazxhvlYCK+ypDbBHnD\n-----END RSA PRIVATE KEY-----\n",
            "\"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIEvQi80d2wu02f/af2+sZXxyCS4xluH3aA9pzcFHUTCZ828ntbRo67r6zP+hkj\\nfOB9NQjLrMmlfzftuSpeNeYIEgGZVv5GUBR4G70WY27VKLcAtrHMrNNlWvOgMZid\\n-----END PRIVATE KEY-----\\n\"",
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAkLrHftsrfI/JtFMyLtBRtWQQflASovH8BNd9tNq49N1TOd\nJFNFEQuvBRkeAYckV81uXLEbxT1mI6PgogCQSL5V0obPHE4H9zfYd/Qn2eUKwjM/Y+klr3\n-----END OPENSSH PRIVATE KEY-----",
        ],
        counter_examples: &[
            "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----",
            "-----BEGIN PUBLIC KEY-----\nIHDSgkLcl8i73kEGx16hvdviLSc3vZ3JCmHCj4nXqIvFCmKkJ9lla/WauXz2IGon\n-----END PUBLIC KEY-----",
        ],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.encoded-private-key",
        name: "Base64-encoded private key",
        severity: Severity::Critical,
        keywords: &["ls0tls1crudjti"],
        patterns: &[r"\b(?P<secret>LS0tLS1CRUdJTi[A-Za-z0-9+/]{60,}={0,2})"],
        filter: Filter::EncodedPem,
        description: "A PEM private key, base64-encoded again (Kubernetes secrets, environment \
            variables, CI settings).",
        remedy: "Treat the key as compromised: generate a new key pair, replace the public half \
            where it is trusted, and keep the encoded form in a secret store, not in files.",
        examples: &[
            "PRIVATE_KEY_B64=LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFb2dJQkFBS0NBUUVBy+PVljZ1E+1Dh60fTd/NKMmRKPgxM/djzaqQ3X+u",
        ],
        counter_examples: &[
            "LS0tLS1CRUdJTiBQVUJMSUMgS0VZLS0tLS0KTUlJQklqQU5CZ2txaGtpRzl3MEJBUUVGQUFPQ0FRHB4Nyl6lNmkEK2iaAXuQpHZf5h/XLh9SDehIzDBj",
        ],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.putty-private-key",
        name: "PuTTY private key",
        severity: Severity::Critical,
        keywords: &["putty-user-key-file-"],
        patterns: &[concat!(
            r"PuTTY-User-Key-File-[23]:(?s:.){0,2000}?Private-Lines:[ \t]*\d+\s+",
            r"(?P<secret>[A-Za-z0-9+/=\r\n]{40,})"
        )],
        context: Context::around(0, 60),
        filter: Filter::PemBlock,
        description: "A PuTTY (.ppk) private key: logs in wherever its public key is authorised.",
        remedy: "Generate a new key pair, replace the public key in authorized_keys, and remove \
            the old one everywhere.",
        examples: &[
            "PuTTY-User-Key-File-2: ssh-rsa\nEncryption: none\nComment: me\nPublic-Lines: 1\nyi0QEL6PTJyWX+LNd44RQn2XBJinul2jWjDbcpvNXI8Inr77oQVoxcwkPUo0UDXk\nPrivate-Lines: 2\nrraxDj1kz1urk7X3A6pHB+lqXdfsuT6ieUE11rZRivvPFt2L/BV520MEdL6mSDbp\nNp00MiDEQvZoThlKJLqTmfnrXX9In6lyjYQXvp6FMr/yz+ISqJMmQ8T1M//EJuku\n",
        ],
        counter_examples: &["PuTTY-User-Key-File-2: ssh-rsa\nEncryption: none\n"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.age-secret-key",
        name: "age secret key",
        severity: Severity::Critical,
        keywords: &["age-secret-key-1"],
        patterns: &[concat!(
            r"\b(?P<secret>AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})",
            end!()
        )],
        description: "An age (or SOPS) identity: decrypts every file encrypted to its recipient.",
        remedy: "Generate a new identity, re-encrypt the files to the new recipient, and remove \
            the old recipient from .sops.yaml and similar.",
        examples: &["AGE-SECRET-KEY-1EPP8PNASYFHEN0D2CLN5RS0VNMFS3L5SSTD7VG7TVTUHMTMK3HKC0VX80Y"],
        counter_examples: &["AGE-SECRET-KEY-1FM7CVZE53HNKLV9XAAJ4"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.wireguard-key",
        name: "WireGuard private or preshared key",
        severity: Severity::Critical,
        keywords: &["privatekey", "presharedkey"],
        patterns: &[concat!(
            r"(?i:PrivateKey|PresharedKey)[ \t]*=[ \t]*(?P<secret>[A-Za-z0-9+/]{42,43}=)",
            r"(?:[^A-Za-z0-9+/=]|\z)"
        )],
        filter: Filter::Entropy(4.0),
        description: "A WireGuard interface private key or peer preshared key: joins the VPN as \
            that peer.",
        remedy: "Generate new keys (`wg genkey`, `wg genpsk`) and update both ends of the \
            tunnel.",
        examples: &["[Interface]\nPrivateKey = GgNUyQZJKW8jb+auKABySjrPIFBtbw7quEovN2NVYWA="],
        counter_examples: &["PrivateKey = <server private key>"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.jwt",
        name: "JSON Web Token",
        severity: Severity::Medium,
        keywords: &["eyj"],
        patterns: &[concat!(
            r"\b(?P<secret>eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})",
            end!()
        )],
        filter: Filter::Entropy(4.0),
        description: "A signed JSON Web Token: a bearer credential for whatever API accepts it, \
            until it expires (some never do — Supabase and similar service keys).",
        remedy: "If the token does not expire soon, rotate the signing key or revoke the token, \
            and load tokens at run time.",
        examples: &[
            "SERVICE_KEY=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzUL505uSTWEiYzi3UcuLux75qR2CR-MvoDAarcwd.Su_B3NvKohvtPE46GGZqlXah02tNqFIyF623LqRC8lP",
        ],
        counter_examples: &["eyJ0eXAiOiAiVENWMiJ9.RkNWLXdXS3M1RVBfencx.OGY1OWRkNGMtYTUxYS04"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.password-hash",
        name: "Password hash",
        severity: Severity::Medium,
        keywords: &[
            "$2a$",
            "$2b$",
            "$2y$",
            "$2x$",
            "$1$",
            "$apr1$",
            "$5$",
            "$6$",
            "$s$",
            "$p$",
            "$h$",
            "$7$",
            "$8$",
            "$9$",
            "$y$",
            "pbkdf2_sha",
            "bcrypt_sha256$",
            "argon2",
            "$krb5asrep$",
            "$krb5tgs$",
        ],
        patterns: &[
            r"(?P<secret>\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53})",
            r"(?P<secret2>\$(?:1|apr1)\$[./A-Za-z0-9]{1,8}\$[./A-Za-z0-9]{22})",
            r"(?P<secret3>\$[56]\$(?:rounds=\d{1,9}\$)?[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{43,86})",
            r"(?P<secret4>\$S\$[./A-Za-z0-9]{52}|\$[PH]\$[./A-Za-z0-9]{31})",
            r"(?P<secret5>(?:pbkdf2_sha256|pbkdf2_sha1|bcrypt_sha256|argon2)\$[A-Za-z0-9$=+/.,]{30,300})",
            r"(?P<secret6>\$[789y]\$[./A-Za-z0-9$]{14,120}\$[./A-Za-z0-9]{43})",
            r"(?P<secret7>\$krb5(?:asrep|tgs)\$\d{2}\$[^\s$]{0,300}?\$?[0-9a-f]{32}\$[0-9a-f]{64,2000})",
        ],
        description: "A crackable password hash (bcrypt, md5crypt, sha256/512crypt, Drupal, \
            phpass, Django, Cisco, yescrypt, Kerberos AS-REP/TGS). One in a seed or config file \
            is a password waiting for a GPU; many in one file mean a user table was copied \
            (reported as personal data instead).",
        remedy: "Change the password the hash belongs to, remove the hash from the repository, \
            and create accounts in seeds from the environment.",
        examples: &[
            "admin_hash: '$2a$12$cOt6G/6fbW66wRbRv/GSDkBg6v0w2PsKCP9Zf1kzvqybpBhSnLZgi'",
            "$6$rounds=5000$NGwyqLMM6b2wAnEj$QG93vFLmpFXY7CATnbwjL8NKg8sv7yv8nNbt6RU7oFWY5vioe5AVhLo00qNDLSHKR3IDfxBXz32cXdb4igXipl",
            "pbkdf2_sha256$600000$O0OJkxtoe3rrL8VKWfIJvd$j7jVR2/iJVkjVJIACQh8ko2zhggLBaUj1SpkGoJ3tAW=",
        ],
        counter_examples: &["echo $1$2 $3", "price: $5$"],
        ..Rule::DEFAULT
    },
];
