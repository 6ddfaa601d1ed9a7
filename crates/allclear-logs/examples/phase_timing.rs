use std::time::Instant;
use allclear_logs::pyre::PyRegex;
use allclear_logs::filter::{resolve_tags, UseDns};
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let data = std::fs::read_to_string(path).unwrap();
    let contents: Vec<&str> = data.lines().filter_map(|l| l.find(": Failed ").map(|p| &l[p + 2..])).collect();
    let def = allclear_logs::config::read_filter(std::path::Path::new("/work/shared/conformance/fail2ban/config"), "sshd", &Default::default()).unwrap();
    let orig = def.failregex.iter().find(|r| r.starts_with("^Failed (?:")).unwrap().clone();
    println!("{orig}");
    let variants = [
        ("original", orig.clone()),
        // cond_inv and cond_user distributed by hand (order-preserving), lookaheads kept:
        ("no-lookaheads", orig.replace("(?:(?! from ).)", ".")),
        ("no-conditionals", r"^Failed (?:<F-NOFAIL>publickey</F-NOFAIL>|\S+) for (?:invalid user (?:<F-USER>\S+</F-USER> from <HOST>(?: (?:port \d+|on \S+)){0,2}(?: ssh\d*)?: |<F-ALT_USER>(?:(?! from ).)*?</F-ALT_USER> from <ADDR>(?: (?:port \d+|on \S+)){0,2}(?: ssh\d*)?(?:(?:(?! from ).)*)$)|<F-ALT_USER2>\S+</F-ALT_USER2> from <F-IP4/>(?: (?:port \d+|on \S+)){0,2}(?: ssh\d*)?: |<F-ALT_USER3>[^:]+</F-ALT_USER3> from <F-IP6/>(?: (?:port \d+|on \S+)){0,2}(?: ssh\d*)?(?:(?:(?! from ).)*)$)".to_string()),
    ];
    for (name, v) in variants {
        let re = match PyRegex::new(&resolve_tags(&v, UseDns::Warn), false) { Ok(r) => r, Err(e) => { println!("{name}: {e}"); continue } };
        let mut s = re.slots();
        let t = Instant::now();
        let mut m = 0;
        for c in &contents { if re.captures(c, &mut s).unwrap() { m += 1; } }
        let el = t.elapsed().as_secs_f64();
        println!("{name}: backtracking={} {:.2} us/line ({m}/{})", re.is_backtracking(), el * 1e6 / contents.len() as f64, contents.len());
    }
}
