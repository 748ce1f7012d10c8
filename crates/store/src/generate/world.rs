//! The fixed cast of a generated tenant, drawn once from the seed: users, senders,
//! URL pools (Zipf-popular), and the random number and time helpers the tables use.

use std::fmt::Write as _;

/// xoshiro256++ seeded by SplitMix64: small, fast, and ours, so a seed gives the same
/// data whatever version of `rand` the workspace uses.
#[derive(Clone)]
pub(crate) struct Rng([u64; 4]);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Rng([next(), next(), next(), next()])
    }

    pub(crate) fn u64(&mut self) -> u64 {
        let s = &mut self.0;
        let r = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        r
    }

    /// Uniform in `0..n` (n > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        ((self.u64() as u128 * n as u128) >> 64) as usize
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn f64(&mut self) -> f64 {
        (self.u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Index drawn by weight.
    pub(crate) fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.f64() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
}

/// Draws indices `0..n` with Zipf popularity (index 0 the most popular).
pub(crate) struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    pub(crate) fn new(n: usize, s: f64) -> Zipf {
        let mut acc = 0.0;
        let mut cdf: Vec<f64> = (1..=n.max(1))
            .map(|k| {
                acc += 1.0 / (k as f64).powf(s);
                acc
            })
            .collect();
        for c in &mut cdf {
            *c /= acc;
        }
        Zipf { cdf }
    }

    pub(crate) fn sample(&self, rng: &mut Rng) -> usize {
        let x = rng.f64();
        self.cdf.partition_point(|&c| c < x).min(self.cdf.len() - 1)
    }
}

pub(crate) const NANOS_PER_SEC: i64 = 1_000_000_000;
pub(crate) const NANOS_PER_HOUR: i64 = 3600 * NANOS_PER_SEC;
pub(crate) const NANOS_PER_DAY: i64 = 24 * NANOS_PER_HOUR;

/// Relative click volume per UTC hour: a working day in Europe/the Americas.
const HOURLY: [f64; 24] = [
    0.15, 0.1, 0.08, 0.08, 0.1, 0.2, 0.45, 0.8, 1.0, 1.0, 0.95, 0.9, 0.75, 0.9, 1.0, 0.95, 0.85,
    0.7, 0.5, 0.4, 0.35, 0.3, 0.25, 0.2,
];

/// Times in `[start, end)` with a diurnal and weekly rhythm, at 100 ns ticks.
pub(crate) struct Clock {
    pub(crate) start: i64,
    pub(crate) end: i64,
    /// UTC midnights of the calendar days touched by the window, and their weights.
    days: Vec<i64>,
    day_cdf: Vec<f64>,
    hour_cdf: Vec<f64>,
}

impl Clock {
    pub(crate) fn new(end: i64, days: u32) -> Clock {
        let start = end - days.max(1) as i64 * NANOS_PER_DAY;
        let first = start.div_euclid(NANOS_PER_DAY) * NANOS_PER_DAY;
        let mut day_starts = Vec::new();
        let mut d = first;
        while d < end {
            day_starts.push(d);
            d += NANOS_PER_DAY;
        }
        let weights: Vec<f64> = day_starts
            .iter()
            .map(|&d| {
                // 1970-01-01 was a Thursday: day 0 → 3 (Mon=0).
                let weekday = (d.div_euclid(NANOS_PER_DAY) + 3).rem_euclid(7);
                if weekday >= 5 {
                    0.3
                } else {
                    1.0
                }
            })
            .collect();
        Clock {
            start,
            end,
            day_cdf: cdf(&weights),
            hour_cdf: cdf(&HOURLY),
            days: day_starts,
        }
    }

    pub(crate) fn sample(&self, rng: &mut Rng) -> i64 {
        for _ in 0..16 {
            let d = self.days[pick_cdf(&self.day_cdf, rng)];
            let h = pick_cdf(&self.hour_cdf, rng) as i64;
            let t = d + h * NANOS_PER_HOUR + (rng.f64() * NANOS_PER_HOUR as f64) as i64;
            if t >= self.start && t < self.end {
                return t - t % 100;
            }
        }
        let t = self.start + (rng.f64() * (self.end - self.start) as f64) as i64;
        t - t % 100
    }
}

fn cdf(w: &[f64]) -> Vec<f64> {
    let total: f64 = w.iter().sum();
    let mut acc = 0.0;
    w.iter()
        .map(|x| {
            acc += x / total;
            acc
        })
        .collect()
}

fn pick_cdf(cdf: &[f64], rng: &mut Rng) -> usize {
    let x = rng.f64();
    cdf.partition_point(|&c| c < x).min(cdf.len() - 1)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// 2023-06-01T00:00:00Z, where Exchange ids' `08db` era is placed.
const ERA_ZERO: i64 = 1_685_577_600 * NANOS_PER_SEC;

/// An Exchange-style GUID (`e51ba906-ca62-4fba-cf21-08dbfc9c5192`): random, except that
/// the last group starts `08d` + a digit that grows with time (`08db` in 2023, `08de`
/// in 2026), as seen in real NetworkMessageIds and ReportIds.
pub(crate) fn exchange_guid(out: &mut String, rng: &mut Rng, t: i64) {
    let era = (0xb + (t - ERA_ZERO).div_euclid(365 * NANOS_PER_DAY + NANOS_PER_DAY / 4))
        .clamp(8, 15) as usize;
    let a = rng.u64();
    let b = rng.u64();
    let mut buf = [0u8; 36];
    let mut bits = a;
    let mut put = |range: std::ops::Range<usize>, bits: &mut u64| {
        for i in range {
            buf[i] = HEX[(*bits & 15) as usize];
            *bits >>= 4;
        }
    };
    put(0..8, &mut bits);
    put(9..13, &mut bits);
    put(14..18, &mut bits);
    put(19..23, &mut bits);
    let mut bits2 = b;
    put(27..36, &mut bits2);
    buf[8] = b'-';
    buf[13] = b'-';
    buf[18] = b'-';
    buf[23] = b'-';
    buf[24] = b'0';
    buf[25] = b'8';
    buf[26] = b'd';
    buf[27] = HEX[era];
    out.push_str(std::str::from_utf8(&buf).unwrap_or_default());
}

/// A random RFC 4122 version-4 GUID.
pub(crate) fn guid(out: &mut String, rng: &mut Rng) {
    let a = rng.u64();
    let b = rng.u64();
    let u =
        uuid::Builder::from_random_bytes(((a as u128) << 64 | b as u128).to_be_bytes()).into_uuid();
    let _ = write!(out, "{}", u.hyphenated());
}

pub(crate) fn hex_token(out: &mut String, rng: &mut Rng, len: usize) {
    let mut bits = rng.u64();
    for i in 0..len {
        if i % 16 == 15 {
            bits = rng.u64();
        }
        out.push(HEX[(bits & 15) as usize] as char);
        bits >>= 4;
    }
}

const ALNUM: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

pub(crate) fn alnum_token(out: &mut String, rng: &mut Rng, len: usize) {
    for _ in 0..len {
        out.push(ALNUM[rng.below(62)] as char);
    }
}

pub(crate) struct User {
    pub(crate) upn: String,
    pub(crate) display: String,
    pub(crate) object_id: String,
    /// Where this user clicks from: one to three public addresses, IPv4 or IPv6.
    pub(crate) ips: Vec<String>,
}

pub(crate) struct Sender {
    pub(crate) address: String,
    pub(crate) display: String,
    pub(crate) domain: String,
    pub(crate) ipv4: String,
}

/// A URL and its host.
pub(crate) struct Link {
    pub(crate) url: String,
    pub(crate) domain: String,
    /// Where a shortener or tracking link redirects to (the second UrlChain element).
    pub(crate) redirect: Option<String>,
}

/// Whether a message (or Teams/Office link) is clean or which verdict it earns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    Clean,
    Spam,
    Phish,
    Malware,
    /// A URL on the tenant's block list.
    TenantBlocked,
}

pub(crate) const TENANT_DOMAIN: &str = "contoso.com";

const FIRST: &[&str] = &[
    "adele",
    "alex",
    "allan",
    "bianca",
    "christie",
    "debra",
    "diego",
    "emily",
    "enrico",
    "grady",
    "henrietta",
    "irvin",
    "isaiah",
    "johanna",
    "joni",
    "lee",
    "lidia",
    "lynne",
    "megan",
    "miriam",
    "nestor",
    "patti",
    "pradeep",
    "raul",
    "sofia",
    "tomas",
    "yuki",
    "amara",
    "bruno",
    "chen",
    "dmitri",
    "elena",
    "farah",
    "goran",
    "hana",
    "ines",
    "jamal",
    "kofi",
    "lena",
    "mateo",
    "noor",
    "oskar",
    "priya",
    "quinn",
    "rosa",
    "sven",
    "tariq",
    "ulla",
    "vera",
    "wei",
];
const LAST: &[&str] = &[
    "vance",
    "wilber",
    "goncalves",
    "bowen",
    "gomez",
    "hernandez",
    "lambert",
    "wright",
    "hallett",
    "mueller",
    "cole",
    "gonzales",
    "fernandez",
    "bowen",
    "lamb",
    "sherman",
    "brady",
    "lee",
    "taylor",
    "chen",
    "novak",
    "okafor",
    "rossi",
    "silva",
    "tanaka",
    "nakamura",
    "kowalski",
    "jensen",
    "larsen",
    "haddad",
    "kumar",
    "patel",
    "dubois",
    "moreau",
    "schmidt",
    "weber",
    "fischer",
    "costa",
    "santos",
    "ivanova",
    "petrov",
    "horvat",
    "nagy",
    "popescu",
    "yilmaz",
    "sato",
    "kim",
    "park",
    "nguyen",
    "tran",
];
pub(crate) const WORDS: &[&str] = &[
    "invoice",
    "report",
    "budget",
    "q3",
    "roadmap",
    "contract",
    "policy",
    "onboarding",
    "payroll",
    "benefits",
    "meeting",
    "notes",
    "design",
    "review",
    "sales",
    "forecast",
    "summary",
    "plan",
    "project",
    "status",
    "update",
    "training",
    "security",
    "audit",
    "release",
    "draft",
    "final",
    "proposal",
    "agenda",
    "minutes",
    "team",
    "handbook",
    "offer",
    "order",
    "shipment",
    "receipt",
    "statement",
    "account",
    "profile",
    "survey",
    "webinar",
    "newsletter",
    "event",
    "campaign",
    "product",
    "pricing",
    "support",
    "ticket",
    "case",
    "docs",
];
const BRANDS: &[&str] = &[
    "fabrikam",
    "northwind",
    "adventure-works",
    "tailspin",
    "wingtip",
    "litware",
    "proseware",
    "fourthcoffee",
    "woodgrove",
    "margie",
    "lucerne",
    "alpineski",
    "blueyonder",
    "cohovineyard",
    "contososuites",
    "datum",
    "relecloud",
    "wideworld",
    "graphicdesign",
    "trey",
];
const POPULAR: &[&str] = &[
    "contoso.sharepoint.com",
    "contoso-my.sharepoint.com",
    "teams.microsoft.com",
    "outlook.office.com",
    "forms.office.com",
    "learn.microsoft.com",
    "aka.ms",
    "github.com",
    "www.linkedin.com",
    "zoom.us",
    "docs.google.com",
    "www.docusign.net",
    "app.box.com",
    "www.dropbox.com",
    "www.youtube.com",
    "contoso.service-now.com",
    "contoso.atlassian.net",
    "contoso.workplace.example",
    "www.salesforce.com",
    "us02web.zoom.us",
];
const SHORTENERS: &[&str] = &["bit.ly", "t.co", "tinyurl.com", "t.example"];
const PHISH_BRANDS: &[&str] = &[
    "micros0ft",
    "office365",
    "sharepoint",
    "docusign",
    "dropbox",
    "paypa1",
    "outlook",
    "m365",
    "adobe",
    "dhl",
    "fedex",
    "onedrive",
    "contoso",
    "azure",
];
const PHISH_WORDS: &[&str] = &[
    "login", "verify", "secure", "account", "update", "auth", "sso", "mail", "portal", "invoice",
    "pay", "docs", "share", "alert",
];
const BAD_TLDS: &[&str] = &[
    "top", "xyz", "info", "click", "online", "site", "live", "shop", "example",
];

/// The generated tenant.
pub(crate) struct World {
    pub(crate) users: Vec<User>,
    pub(crate) users_zipf: Zipf,
    pub(crate) senders: Vec<Sender>,
    pub(crate) senders_zipf: Zipf,
    pub(crate) bad_senders: Vec<Sender>,
    pub(crate) links: Vec<Link>,
    pub(crate) links_zipf: Zipf,
    pub(crate) phish_links: Vec<Link>,
    pub(crate) malware_links: Vec<Link>,
    pub(crate) spam_links: Vec<Link>,
    pub(crate) blocked_links: Vec<Link>,
    pub(crate) tenant_id: String,
    /// Cloud scanner addresses seen on UrlErrorPage rows.
    pub(crate) cloud_ips: Vec<String>,
}

impl World {
    pub(crate) fn new(seed: u64, n_users: usize) -> World {
        let mut rng = Rng::new(seed ^ 0x05EE_D0FC_017A_C700);
        let mut tenant_id = String::new();
        guid(&mut tenant_id, &mut rng);
        let users = make_users(&mut rng, n_users.max(1));
        let senders = make_senders(&mut rng, 1500);
        let bad_senders = make_bad_senders(&mut rng, 300);
        let domains = make_domains(&mut rng);
        let domain_zipf = Zipf::new(domains.len(), 1.1);
        let links: Vec<Link> = (0..20_000)
            .map(|_| {
                let d = &domains[domain_zipf.sample(&mut rng)];
                legit_link(&mut rng, d)
            })
            .collect();
        let phish_links = (0..600).map(|_| bad_link(&mut rng, Class::Phish)).collect();
        let malware_links = (0..200)
            .map(|_| bad_link(&mut rng, Class::Malware))
            .collect();
        let spam_links = (0..600).map(|_| bad_link(&mut rng, Class::Spam)).collect();
        let blocked_links = (0..60)
            .map(|_| bad_link(&mut rng, Class::TenantBlocked))
            .collect();
        let cloud_ips = (0..64).map(|_| public_ipv4(&mut rng)).collect();
        World {
            users_zipf: Zipf::new(users.len(), 0.6),
            users,
            senders_zipf: Zipf::new(senders.len(), 1.0),
            senders,
            bad_senders,
            links_zipf: Zipf::new(links.len(), 1.05),
            links,
            phish_links,
            malware_links,
            spam_links,
            blocked_links,
            tenant_id,
            cloud_ips,
        }
    }

    pub(crate) fn bad_pool(&self, class: Class) -> &[Link] {
        match class {
            Class::Phish => &self.phish_links,
            Class::Malware => &self.malware_links,
            Class::Spam => &self.spam_links,
            Class::TenantBlocked => &self.blocked_links,
            Class::Clean => &self.links,
        }
    }
}

fn make_users(rng: &mut Rng, n: usize) -> Vec<User> {
    let mut seen = std::collections::HashSet::new();
    (0..n)
        .map(|i| {
            let first = rng.pick(FIRST);
            let last = rng.pick(LAST);
            let mut upn = format!("{first}.{last}@{TENANT_DOMAIN}");
            if !seen.insert(upn.clone()) {
                upn = format!("{first}.{last}{i}@{TENANT_DOMAIN}");
                seen.insert(upn.clone());
            }
            let mut object_id = String::new();
            guid(&mut object_id, rng);
            let n_ips = 1 + rng.below(3);
            let v6 = rng.chance(0.3);
            let ips = (0..n_ips)
                .map(|_| {
                    if v6 && rng.chance(0.7) {
                        public_ipv6(rng)
                    } else {
                        public_ipv4(rng)
                    }
                })
                .collect();
            User {
                upn,
                display: format!("{} {}", capitalize(first), capitalize(last)),
                object_id,
                ips,
            }
        })
        .collect()
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn make_senders(rng: &mut Rng, n: usize) -> Vec<Sender> {
    let fixed = [
        ("azure-noreply@microsoft.com", "Microsoft Azure"),
        ("noreply@github.com", "GitHub"),
        ("messages-noreply@linkedin.com", "LinkedIn"),
        ("no-reply@zoom.us", "Zoom"),
        ("dse@docusign.net", "DocuSign"),
    ];
    let mut out: Vec<Sender> = fixed
        .iter()
        .map(|(a, d)| Sender {
            address: a.to_string(),
            display: d.to_string(),
            domain: a.split('@').nth(1).unwrap_or_default().to_string(),
            ipv4: public_ipv4(rng),
        })
        .collect();
    while out.len() < n {
        let brand = rng.pick(BRANDS);
        let local = rng.pick(&[
            "news", "info", "noreply", "sales", "support", "billing", "events", "hello",
        ]);
        let tld = rng.pick(&["com", "net", "org", "io", "co.uk", "de"]);
        let domain = format!("{brand}.{tld}");
        out.push(Sender {
            address: format!("{local}@{domain}"),
            display: format!("{} {}", capitalize(brand), capitalize(local)),
            domain,
            ipv4: public_ipv4(rng),
        });
    }
    out
}

fn make_bad_senders(rng: &mut Rng, n: usize) -> Vec<Sender> {
    (0..n)
        .map(|_| {
            let domain = format!(
                "{}-{}.{}",
                rng.pick(PHISH_BRANDS),
                rng.pick(PHISH_WORDS),
                rng.pick(BAD_TLDS)
            );
            let local = rng.pick(&[
                "no-reply",
                "security",
                "admin",
                "it-support",
                "payroll",
                "hr",
            ]);
            Sender {
                address: format!("{local}@{domain}"),
                display: rng
                    .pick(&[
                        "IT Support",
                        "Microsoft 365",
                        "Payroll",
                        "DocuSign",
                        "SharePoint Online",
                        "HR Team",
                    ])
                    .to_string(),
                domain,
                ipv4: public_ipv4(rng),
            }
        })
        .collect()
}

fn make_domains(rng: &mut Rng) -> Vec<String> {
    let mut d: Vec<String> = POPULAR.iter().map(|s| s.to_string()).collect();
    for b in BRANDS {
        d.push(format!("www.{b}.com"));
        d.push(format!("click.{b}.com"));
        d.push(format!(
            "u{}.ct.sendgrid.net",
            1_000_000 + rng.below(9_000_000)
        ));
    }
    for _ in 0..300 {
        d.push(format!(
            "{}.{}.{}",
            rng.pick(WORDS),
            rng.pick(BRANDS),
            rng.pick(&["com", "net", "org", "io"])
        ));
    }
    d
}

fn legit_link(rng: &mut Rng, domain: &str) -> Link {
    let mut url = format!("https://{domain}/");
    match rng.below(5) {
        0 => {
            let _ = write!(
                url,
                "sites/{}/Shared%20Documents/{}.docx?d=w",
                rng.pick(WORDS),
                rng.pick(WORDS)
            );
            hex_token(&mut url, rng, 16);
            url.push_str("&csf=1&web=1&e=");
            alnum_token(&mut url, rng, 6);
        }
        1 => {
            let _ = write!(url, "{}/{}", rng.pick(WORDS), rng.pick(WORDS));
        }
        2 => {
            url.push_str("ls/click?upn=");
            let n = 24 + rng.below(40);
            alnum_token(&mut url, rng, n);
        }
        3 => {
            let _ = write!(url, "{}?id={}", rng.pick(WORDS), rng.below(1_000_000));
        }
        _ => {
            let _ = write!(url, "{}-{}", rng.pick(WORDS), rng.pick(WORDS));
        }
    }
    let redirect = (domain.starts_with("click.") || domain.contains("sendgrid")).then(|| {
        let mut r = format!("https://www.{}.com/", rng.pick(BRANDS));
        url_path(&mut r, rng);
        r
    });
    Link {
        url,
        domain: domain.to_string(),
        redirect,
    }
}

fn url_path(out: &mut String, rng: &mut Rng) {
    let _ = write!(out, "{}/{}", rng.pick(WORDS), rng.pick(WORDS));
}

fn bad_link(rng: &mut Rng, class: Class) -> Link {
    let domain = match class {
        Class::Spam => format!("{}-deals.{}", rng.pick(WORDS), rng.pick(BAD_TLDS)),
        Class::TenantBlocked => format!(
            "{}-files.{}",
            rng.pick(BRANDS),
            rng.pick(&["com", "net", "io"])
        ),
        _ => format!(
            "{}-{}.{}",
            rng.pick(PHISH_BRANDS),
            rng.pick(PHISH_WORDS),
            rng.pick(BAD_TLDS)
        ),
    };
    let mut target = format!("https://{domain}/");
    match class {
        Class::Malware => {
            let _ = write!(
                target,
                "download/{}_{}.{}",
                rng.pick(WORDS),
                rng.below(100_000),
                rng.pick(&["zip", "iso", "html", "one"])
            );
        }
        Class::Spam => {
            let _ = write!(target, "offer?c=");
            alnum_token(&mut target, rng, 10);
        }
        _ => {
            let _ = write!(target, "{}?session=", rng.pick(PHISH_WORDS));
            hex_token(&mut target, rng, 24);
        }
    }
    // Many phishing links hide behind a shortener: the chain then has two elements.
    if class == Class::Phish && rng.chance(0.4) {
        let short = rng.pick(SHORTENERS);
        let mut url = format!("https://{short}/");
        alnum_token(&mut url, rng, 10);
        return Link {
            url,
            domain: short.to_string(),
            redirect: Some(target),
        };
    }
    Link {
        url: target,
        domain,
        redirect: None,
    }
}

/// A public-looking IPv4 address (never private, loopback or multicast).
pub(crate) fn public_ipv4(rng: &mut Rng) -> String {
    loop {
        let a = 1 + rng.below(223) as u8;
        if matches!(a, 10 | 100 | 127 | 169 | 172 | 192) {
            continue;
        }
        return format!(
            "{a}.{}.{}.{}",
            rng.below(256),
            rng.below(256),
            1 + rng.below(254)
        );
    }
}

/// An address in the IPv6 documentation range.
pub(crate) fn public_ipv6(rng: &mut Rng) -> String {
    format!(
        "2001:db8:{:x}:{:x}::{:x}",
        rng.below(0x10000),
        rng.below(0x10000),
        1 + rng.below(0xffff)
    )
}
