//! fail2ban's own patterns on the Python-regex engine: the part of the engine's contract
//! (docs/decisions/0014-python-regex-engine.md) that needs fail2ban's tags resolved. The
//! conditionals and tempered loops of sshd's `Failed …` regex must run on the linear engine, and
//! give exactly the groups the backtracking engine gives, on lines nobody picked.

mod engine_tests {
    use crate::filter::{UseDns, resolve_tags};
    use allclear_pyregex::PyRegex;

    /// The shape of fail2ban's sshd `Failed …` regex: two conditionals and two tempered loops.
    pub(super) const FAILED: &str = r"^Failed (?:<F-NOFAIL>publickey</F-NOFAIL>|\S+) for (?P<cond_inv>invalid user )?<F-USER>(?P<cond_user>\S+)|(?(cond_inv)(?:(?! from ).)*?|[^:]+)</F-USER> from <HOST>(?: (?:port \d+|on \S+)){0,2}(?: ssh\d*)?(?(cond_user): |(?:(?:(?! from ).)*)$)";

    #[test]
    fn sshd_failed_regex_runs_on_the_linear_engine() {
        let pattern = resolve_tags(FAILED, UseDns::No);
        let re = PyRegex::new(&pattern, false).unwrap();
        assert!(!re.is_backtracking(), "{pattern}");
    }
}

mod differential {
    use crate::filter::{UseDns, resolve_tags};
    use allclear_pyregex::PyRegex;
    use proptest::prelude::*;

    const PATTERNS: &[&str] = &[
        super::engine_tests::FAILED,
        r"^Failed publickey for invalid user <F-USER>(?P<cond_user>\S+)|(?:(?! from ).)*?</F-USER> from <HOST>(?: (?:port \d+|on \S+)){0,2}(?: ssh\d*)?(?(cond_user): |(?:(?:(?! from ).)*)$)",
        r"^a(?P<x>b)?(?:(?!bc).)*c(?(x)d|e)",
        r"(?:(?P<y>y+)|z)(?:(?!yz).)*?(?(y)y|z)$",
        // Loops followed by text that completes the literal, partly or not at all.
        r"^(?P<a>(?:(?!ab).)*)b(?P<r>.*)$",
        r"^x(?P<a>(?:(?!aba).)*?)ba(?P<r>\S*)",
        r"(?P<a>(?:(?! from ).)*?) fr(?P<x>\S*)(?:(?! from ).)*$",
        r"^(?P<a>(?:(?!yz).)*?)(?P<b>(?:(?!zy).)*)y\Z",
        // Followed by something variable: still checked after the match.
        r"^(?P<a>(?:(?!ab).)*)(?P<w>\w)",
    ];

    fn tokens() -> impl Strategy<Value = String> {
        let t = prop::sample::select(vec![
            "Failed ",
            "publickey ",
            "password ",
            "for ",
            "invalid user ",
            "root",
            " from ",
            " from",
            "192.0.2.7",
            "2001:db8::1",
            " port 22",
            " ssh2",
            ": ",
            "x",
            " ",
            "a",
            "b",
            "c",
            "d",
            "e",
            "y",
            "z",
            ":",
            "ab",
            "aba",
            "fr",
            "from",
            " fro",
            "yz",
            "zy",
            "\n",
        ]);
        let head = prop::sample::select(vec![
            "",
            "Failed password for ",
            "Failed publickey for invalid user ",
            "ab",
        ]);
        (head, prop::collection::vec(t, 0..14)).prop_map(|(h, v)| format!("{h}{}", v.concat()))
    }

    fn groups(re: &PyRegex, hay: &str, fancy: bool) -> Option<Vec<Option<(usize, usize)>>> {
        let mut slots = re.slots();
        let found = if fancy {
            re.captures_backtracking(hay, &mut slots)
        } else {
            re.captures(hay, &mut slots)
        };
        found
            .ok()?
            .then(|| (0..re.group_count()).map(|i| slots.get(i)).collect())
    }

    /// sshd `Failed …` lines with user names that hold spaces, colons, ` from ` and an
    /// injected second address, and tails of all sorts.
    fn sshd_lines() -> impl Strategy<Value = String> {
        let method = prop::sample::select(vec![
            "password",
            "publickey",
            "none",
            "keyboard-interactive/pam",
        ]);
        let inv = prop::sample::select(vec!["", "invalid user ", "invalid user invalid user "]);
        let user_part = prop::sample::select(vec![
            "root",
            "a b",
            "x:",
            ":",
            " ",
            "from",
            " from",
            "from ",
            " from ",
            " fro",
            "m ",
            " from 198.51.100.9",
            " from 198.51.100.9 port 22 ssh2",
            "f",
            "  ",
            "é",
            " from 2001:db8::1",
        ]);
        let user = prop::collection::vec(user_part, 0..5).prop_map(|v| v.concat());
        let host = prop::sample::select(vec![
            "192.0.2.7",
            "2001:db8::1",
            "host.example",
            "10.0.0.1:",
        ]);
        let tail_part = prop::sample::select(vec![
            " port 22",
            " ssh2",
            " on eth0",
            ": ",
            ": RSA SHA256:x",
            " from 203.0.113.5",
            " from",
            " from ",
            " fro",
            " ",
            "x",
            " port 22 ssh2",
        ]);
        let tail = prop::collection::vec(tail_part, 0..5).prop_map(|v| v.concat());
        (method, inv, user, host, tail)
            .prop_map(|(m, i, u, h, t)| format!("Failed {m} for {i}{u} from {h}{t}"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        #[test]
        fn sshd_lines_agree_with_the_backtracking_engine(hay in sshd_lines(), which in 0..2usize) {
            let p = resolve_tags(PATTERNS[which], UseDns::No);
            let re = PyRegex::new(&p, false).unwrap();
            prop_assert!(!re.is_backtracking());
            prop_assert_eq!(groups(&re, &hay, false), groups(&re, &hay, true), "{}", hay);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        #[test]
        fn rewrites_agree_with_the_backtracking_engine(hay in tokens(), which in 0..PATTERNS.len()) {
            let p = resolve_tags(PATTERNS[which], UseDns::No);
            let re = PyRegex::new(&p, false).unwrap();
            prop_assert!(!re.is_backtracking());
            prop_assert_eq!(groups(&re, &hay, false), groups(&re, &hay, true), "{}", hay);
        }
    }

    #[test]
    fn injected_user_names_agree() {
        let re = PyRegex::new(&resolve_tags(PATTERNS[0], UseDns::No), false).unwrap();
        for hay in [
            "Failed password for invalid user root from 192.0.2.7 port 22 ssh2 from 198.51.100.9 port 4 ssh2",
            "Failed password for invalid user x from from 192.0.2.7 port 22 ssh2",
            "Failed password for root from 192.0.2.7 port 22 ssh2: from 198.51.100.9",
            "Failed password for invalid user a: from 192.0.2.7 port 22 ssh2 from 2001:db8::1 port 1",
            "Failed publickey for git from 192.0.2.7 port 22 ssh2: RSA SHA256:x",
        ] {
            assert_eq!(groups(&re, hay, false), groups(&re, hay, true), "{hay}");
        }
        let mut slots = re.slots();
        assert!(
            re.captures(
                "Failed password for invalid user x from 192.0.2.7 port 22 ssh2",
                &mut slots
            )
            .unwrap()
        );
        let ip = re.group_index("ip4").unwrap();
        assert_eq!(slots.get(ip), Some((40, 49)));
    }
}
