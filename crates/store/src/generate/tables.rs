//! One chunk of linked rows: messages (EmailEvents, one row per recipient), their URLs
//! (EmailUrlInfo), and clicks on them (UrlClickEvents), built column by column with
//! Arrow builders.

use super::world::{
    exchange_guid, guid, hex_token, Class, Clock, Link, Rng, Sender, World, NANOS_PER_SEC,
    TENANT_DOMAIN,
};
use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Int32Builder, Int64Builder, RecordBatch, StringBuilder,
    TimestampNanosecondBuilder,
};
use engine::{Col, Engine, KqlType};
use std::sync::Arc;

/// One chunk of the three linked tables.
#[derive(Clone, Debug)]
pub struct GeneratedChunk {
    pub email_events: RecordBatch,
    pub email_url_info: RecordBatch,
    pub url_click_events: RecordBatch,
}

impl GeneratedChunk {
    /// (table, batch), in [`super::GENERATED_TABLES`] order.
    pub fn into_tables(self) -> [(&'static str, RecordBatch); 3] {
        [
            ("EmailEvents", self.email_events),
            ("EmailUrlInfo", self.email_url_info),
            ("UrlClickEvents", self.url_click_events),
        ]
    }

    pub fn num_rows(&self) -> usize {
        self.email_events.num_rows()
            + self.email_url_info.num_rows()
            + self.url_click_events.num_rows()
    }
}

/// 2024-06-01: clicks before it lack AppName/AppVersion/SourceId, as older records do.
const APP_COLUMNS_FROM: i64 = 1_717_200_000 * NANOS_PER_SEC;
/// 2025-01-01: UrlChain elements are joined with `", "` from then on, `","` before.
const SPACED_CHAIN_FROM: i64 = 1_735_689_600 * NANOS_PER_SEC;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Delivery {
    Delivered,
    Junked,
    Blocked,
}

struct Message<'w> {
    t: i64,
    class: Class,
    sender: &'w Sender,
    /// Internal mail: the sending user.
    from_user: Option<usize>,
    delivery: Delivery,
    recipients: Vec<usize>,
    /// Links in the body; the first `bad` are the malicious ones.
    links: Vec<&'w Link>,
    bad: usize,
}

pub(crate) fn chunk(
    world: &World,
    clock: &Clock,
    seed: u64,
    index: u64,
    clicks: usize,
) -> GeneratedChunk {
    let mut rng = Rng::new(seed ^ (index + 1).wrapping_mul(0xA076_1D64_78BD_642F));
    let n_messages = (clicks * 9 / 10).max(1);
    let messages: Vec<Message<'_>> = (0..n_messages)
        .map(|_| message(world, clock, &mut rng))
        .collect();
    let mut nmids = String::with_capacity(n_messages * 36);
    for m in &messages {
        exchange_guid(&mut nmids, &mut rng, m.t);
    }
    let nmid = Ids(&nmids);

    let email_events = email_events(world, &messages, &nmid, &mut rng);
    let email_url_info = email_url_info(&messages, &nmid, &mut rng);
    let url_click_events = clicks_table(world, clock, &messages, &nmid, clicks, &mut rng);
    GeneratedChunk {
        email_events,
        email_url_info,
        url_click_events,
    }
}

fn message<'w>(world: &'w World, clock: &Clock, rng: &mut Rng) -> Message<'w> {
    use Class::*;
    let class =
        [Clean, Spam, Phish, Malware, TenantBlocked][rng.weighted(&[0.86, 0.06, 0.05, 0.01, 0.02])];
    let delivery = match class {
        Clean | TenantBlocked => {
            if rng.chance(0.01) {
                Delivery::Junked
            } else {
                Delivery::Delivered
            }
        }
        Spam => [Delivery::Junked, Delivery::Delivered][rng.weighted(&[0.7, 0.3])],
        Phish => [Delivery::Delivered, Delivery::Junked, Delivery::Blocked]
            [rng.weighted(&[0.6, 0.25, 0.15])],
        Malware => [Delivery::Delivered, Delivery::Blocked][rng.weighted(&[0.5, 0.5])],
    };
    let internal = class == Clean && rng.chance(0.12);
    let from_user = internal.then(|| world.users_zipf.sample(rng));
    let sender = match class {
        Clean | Spam => &world.senders[world.senders_zipf.sample(rng)],
        _ => rng.pick(&world.bad_senders),
    };
    let n_rcpt = if rng.chance(0.1) { 2 + rng.below(3) } else { 1 };
    let recipients = (0..n_rcpt).map(|_| world.users_zipf.sample(rng)).collect();
    let mut links = Vec::new();
    let mut bad = 0;
    if class != Clean {
        bad = 1 + rng.below(2);
        let pool = world.bad_pool(class);
        for _ in 0..bad {
            links.push(rng.pick(pool));
        }
    }
    let legit = if class == Clean {
        if rng.chance(0.1) {
            0
        } else {
            1 + rng.below(8)
        }
    } else {
        rng.below(2)
    };
    for _ in 0..legit {
        links.push(&world.links[world.links_zipf.sample(rng)]);
    }
    Message {
        t: clock.sample(rng),
        class,
        sender,
        from_user,
        delivery,
        recipients,
        links,
        bad,
    }
}

/// The chunk's NetworkMessageIds, 36 bytes each, in message order.
struct Ids<'a>(&'a str);

impl<'a> Ids<'a> {
    fn get(&self, i: usize) -> &'a str {
        self.0.get(i * 36..(i + 1) * 36).unwrap_or_default()
    }
}

/// Appends one table's rows column by column, in the table's schema order.
struct Rows {
    cols: Vec<Col>,
    b: Vec<Builder>,
    cur: usize,
}

enum Builder {
    Str(StringBuilder),
    Time(TimestampNanosecondBuilder),
    Int(Int32Builder),
    Long(Int64Builder),
    Bool(BooleanBuilder),
}

impl Rows {
    fn new(table: &str, capacity: usize) -> Rows {
        let cols = engine::catalog::builtin_schema(table).unwrap_or_default();
        let b = cols
            .iter()
            .map(|c| match c.ty {
                KqlType::DateTime => {
                    Builder::Time(TimestampNanosecondBuilder::with_capacity(capacity))
                }
                KqlType::Int => Builder::Int(Int32Builder::with_capacity(capacity)),
                KqlType::Long => Builder::Long(Int64Builder::with_capacity(capacity)),
                KqlType::Bool => Builder::Bool(BooleanBuilder::with_capacity(capacity)),
                _ => Builder::Str(StringBuilder::with_capacity(
                    capacity,
                    capacity * bytes_hint(&c.name),
                )),
            })
            .collect();
        Rows { cols, b, cur: 0 }
    }

    fn next(&mut self) -> &mut Builder {
        let i = self.cur;
        self.cur += 1;
        debug_assert!(i < self.b.len(), "more values than columns");
        let last = self.b.len() - 1;
        &mut self.b[i.min(last)]
    }

    fn s(&mut self, v: &str) -> &mut Self {
        match self.next() {
            Builder::Str(b) => b.append_value(v),
            other => other.mismatch(),
        }
        self
    }

    fn t(&mut self, v: i64) -> &mut Self {
        match self.next() {
            Builder::Time(b) => b.append_value(v),
            other => other.mismatch(),
        }
        self
    }

    fn int(&mut self, v: Option<i32>) -> &mut Self {
        match self.next() {
            Builder::Int(b) => b.append_option(v),
            other => other.mismatch(),
        }
        self
    }

    fn long(&mut self, v: i64) -> &mut Self {
        match self.next() {
            Builder::Long(b) => b.append_value(v),
            other => other.mismatch(),
        }
        self
    }

    fn bool(&mut self, v: bool) -> &mut Self {
        match self.next() {
            Builder::Bool(b) => b.append_value(v),
            other => other.mismatch(),
        }
        self
    }

    fn end_row(&mut self) {
        debug_assert_eq!(self.cur, self.b.len(), "values ≠ columns");
        self.cur = 0;
    }

    fn finish(mut self) -> RecordBatch {
        let arrays: Vec<ArrayRef> = self
            .b
            .iter_mut()
            .map(|b| -> ArrayRef {
                match b {
                    Builder::Str(b) => Arc::new(b.finish()),
                    Builder::Time(b) => Arc::new(b.finish().with_timezone("UTC")),
                    Builder::Int(b) => Arc::new(b.finish()),
                    Builder::Long(b) => Arc::new(b.finish()),
                    Builder::Bool(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        let schema = Engine::arrow_schema(&self.cols);
        RecordBatch::try_new(schema.clone(), arrays)
            .unwrap_or_else(|_| RecordBatch::new_empty(schema))
    }
}

/// About how many bytes a value of this column takes, so builders rarely regrow.
fn bytes_hint(column: &str) -> usize {
    match column {
        "UrlChain" => 128,
        "Url" => 96,
        "ReportId" | "AuthenticationDetails" => 64,
        "InternetMessageId" => 48,
        "NetworkMessageId" | "SourceId" | "RecipientObjectId" | "To" => 40,
        "AccountUpn"
        | "RecipientEmailAddress"
        | "SenderFromAddress"
        | "SenderMailFromAddress"
        | "Subject"
        | "UrlDomain" => 32,
        _ => 8,
    }
}

/// `n` in decimal, without the formatting machinery.
fn push_u64(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or_default());
}

impl Builder {
    /// A value of the wrong type: a bug in this module, caught by the tests in debug
    /// builds; in release the column gets a null so the row count stays right.
    fn mismatch(&mut self) {
        debug_assert!(false, "generator wrote a value of the wrong type");
        match self {
            Builder::Str(b) => b.append_value(""),
            Builder::Time(b) => b.append_null(),
            Builder::Int(b) => b.append_null(),
            Builder::Long(b) => b.append_null(),
            Builder::Bool(b) => b.append_null(),
        }
    }
}

fn threat_name(class: Class) -> &'static str {
    match class {
        Class::Phish => "Phish",
        Class::Malware => "Malware",
        Class::Spam => "Spam",
        _ => "",
    }
}

const CLEAN_SUBJECTS: &[&str] = &[
    "Weekly status update",
    "Meeting notes",
    "Your invoice is ready",
    "Project roadmap review",
    "Q3 forecast",
    "Team lunch on Friday",
    "Action required: training due",
    "New comment on your document",
    "Shared with you",
    "Your order has shipped",
    "Webinar invitation",
    "Newsletter",
];
const BAD_SUBJECTS: &[&str] = &[
    "Password expires today",
    "Unusual sign-in activity",
    "Invoice overdue - action required",
    "You have a new voicemail",
    "Document shared with you via DocuSign",
    "Payroll update",
    "Your mailbox is almost full",
    "Confirm your account",
];

fn email_events(
    world: &World,
    messages: &[Message<'_>],
    nmid: &Ids<'_>,
    rng: &mut Rng,
) -> RecordBatch {
    let rows: usize = messages.iter().map(|m| m.recipients.len()).sum();
    let mut r = Rows::new("EmailEvents", rows);
    let mut to = String::new();
    let mut report = String::with_capacity(64);
    for (i, m) in messages.iter().enumerate() {
        let id = nmid.get(i);
        to.clear();
        to.push('[');
        for (k, &u) in m.recipients.iter().enumerate() {
            if k > 0 {
                to.push(',');
            }
            to.push('"');
            to.push_str(&world.users[u].upn);
            to.push('"');
        }
        to.push(']');
        let (from_addr, from_name, from_domain, from_object) = match m.from_user {
            Some(u) => {
                let user = &world.users[u];
                (
                    user.upn.as_str(),
                    user.display.as_str(),
                    TENANT_DOMAIN,
                    user.object_id.as_str(),
                )
            }
            None => (
                m.sender.address.as_str(),
                m.sender.display.as_str(),
                m.sender.domain.as_str(),
                "",
            ),
        };
        let detected = m.delivery != Delivery::Delivered
            && m.class != Class::Clean
            && m.class != Class::TenantBlocked;
        let threat = if detected { threat_name(m.class) } else { "" };
        let methods = if detected {
            delivery_methods(m.class)
        } else {
            ""
        };
        let subject = if m.class == Class::Clean || m.class == Class::Spam {
            rng.pick(CLEAN_SUBJECTS)
        } else {
            rng.pick(BAD_SUBJECTS)
        };
        let (action, location) = match m.delivery {
            Delivery::Delivered => ("Delivered", "Inbox/folder"),
            Delivery::Junked => ("Junked", "Junk folder"),
            Delivery::Blocked => ("Blocked", "Quarantine"),
        };
        let auth = if m.class == Class::Phish && rng.chance(0.5) {
            r#"{"SPF":"fail","DKIM":"none","DMARC":"fail","CompAuth":"fail"}"#
        } else {
            r#"{"SPF":"pass","DKIM":"pass","DMARC":"pass","CompAuth":"pass"}"#
        };
        let cluster = (rng.u64() >> 33) as i64;
        let size = 4_000 + (rng.f64().powi(3) * 2_000_000.0) as i32;
        let attachments = if rng.chance(0.15) {
            1 + rng.below(2) as i32
        } else {
            0
        };
        let report_counter = rng.u64() >> 1;
        let mut internet_id = String::with_capacity(48);
        internet_id.push('<');
        hex_token(&mut internet_id, rng, 16);
        internet_id.push('@');
        internet_id.push_str(from_domain);
        internet_id.push('>');
        let direction = if m.from_user.is_some() {
            "Intra-org"
        } else {
            "Inbound"
        };
        let first_contact = rng.chance(0.08);
        let bcl = if m.class == Class::Spam {
            Some(4 + rng.below(6) as i32)
        } else {
            Some(0)
        };
        let (email_action, policy) = match (detected, m.delivery) {
            (true, Delivery::Junked) => (
                "Send to junk folder",
                if m.class == Class::Spam {
                    "Antispam"
                } else {
                    "Antiphish"
                },
            ),
            (true, Delivery::Blocked) => (
                "Send to quarantine",
                if m.class == Class::Malware {
                    "Antimalware"
                } else {
                    "Antiphish"
                },
            ),
            _ => ("", ""),
        };
        let sender_ip = match m.from_user {
            Some(_) => "",
            None => m.sender.ipv4.as_str(),
        };
        let confidence = match (detected, m.class) {
            (true, Class::Phish) => r#"{"Phish":"High","Spam":null}"#,
            (true, Class::Spam) => r#"{"Phish":null,"Spam":"Normal"}"#,
            _ => "",
        };
        for (k, &u) in m.recipients.iter().enumerate() {
            let user = &world.users[u];
            r.t(m.t)
                .s(id)
                .s(&internet_id)
                .s(from_addr)
                .s(from_addr)
                .s(from_name)
                .s(from_object)
                .s(from_domain)
                .s(from_domain)
                .s(sender_ip)
                .s("")
                .s(&user.upn)
                .s(&user.object_id)
                .s(subject)
                .long(cluster)
                .s(direction)
                .s(action)
                .s(location)
                .s(threat)
                .s(if m.class == Class::Malware && detected {
                    "Trojan:HTML/Phish.GEN"
                } else {
                    ""
                })
                .s(methods)
                .s(confidence)
                .int(bcl)
                .s(email_action)
                .s(policy)
                .s("")
                .s(auth)
                .int(Some(attachments))
                .int(Some(m.links.len() as i32))
                .s("en")
                .s("")
                .s("")
                .s("")
                .s("")
                .s("")
                .s({
                    report.clear();
                    report.push_str(id);
                    report.push('-');
                    push_u64(&mut report, report_counter);
                    report.push('-');
                    push_u64(&mut report, k as u64 + 1);
                    &report
                })
                .s("")
                .s(location)
                .s(action)
                .s("")
                .s("")
                .s("")
                .s("")
                .s(&to)
                .s("[]")
                .s("")
                .s(TENANT_DOMAIN)
                .int(Some(size))
                .bool(first_contact)
                .end_row();
        }
    }
    r.finish()
}

fn delivery_methods(class: Class) -> &'static str {
    match class {
        Class::Phish => r#"{"Phish":["URL detonation reputation"]}"#,
        Class::Malware => r#"{"Malware":["URL detonation"]}"#,
        Class::Spam => r#"{"Spam":["Advanced filter"]}"#,
        _ => "",
    }
}

fn click_methods(class: Class) -> &'static str {
    match class {
        Class::Phish => r#"{"Phish":["URL detonation reputation"]}"#,
        Class::Malware => r#"{"Malware":["URL detonation"]}"#,
        Class::Spam => r#"{"Spam":["URL malicious reputation"]}"#,
        _ => "",
    }
}

fn email_url_info(messages: &[Message<'_>], nmid: &Ids<'_>, rng: &mut Rng) -> RecordBatch {
    let rows: usize = messages.iter().map(|m| m.links.len()).sum();
    let mut report = String::with_capacity(64);
    let mut r = Rows::new("EmailUrlInfo", rows);
    for (i, m) in messages.iter().enumerate() {
        let id = nmid.get(i);
        for l in &m.links {
            let location = if rng.chance(0.04) { "QRCode" } else { "Body" };
            r.t(m.t)
                .s(id)
                .s(&l.url)
                .s(&l.domain)
                .s(location)
                .s({
                    report.clear();
                    report.push_str(id);
                    report.push('-');
                    push_u64(&mut report, rng.u64() >> 1);
                    &report
                })
                .s("")
                .int(Some(0))
                .end_row();
        }
    }
    r.finish()
}

/// The five ActionTypes, with the verdict a click on a link of this class gets.
fn action_for(class: Class, rng: &mut Rng) -> &'static str {
    const A: [&str; 5] = [
        "ClickAllowed",
        "ClickBlocked",
        "ClickBlockedByTenantPolicy",
        "UrlScanInProgress",
        "UrlErrorPage",
    ];
    let w: [f64; 5] = match class {
        Class::Clean => [0.975, 0.0, 0.0, 0.015, 0.01],
        Class::Phish => [0.08, 0.8, 0.0, 0.12, 0.0],
        Class::Malware => [0.0, 0.85, 0.0, 0.15, 0.0],
        Class::Spam => [0.6, 0.4, 0.0, 0.0, 0.0],
        Class::TenantBlocked => [0.0, 0.0, 1.0, 0.0, 0.0],
    };
    A[rng.weighted(&w)]
}

fn clicks_table(
    world: &World,
    clock: &Clock,
    messages: &[Message<'_>],
    nmid: &Ids<'_>,
    n: usize,
    rng: &mut Rng,
) -> RecordBatch {
    // (message, recipient) pairs a user could have clicked: delivered mail with links.
    let clickable: Vec<(u32, u32)> = messages
        .iter()
        .enumerate()
        .filter(|(_, m)| m.delivery != Delivery::Blocked && !m.links.is_empty())
        .flat_map(|(i, m)| m.recipients.iter().map(move |&u| (i as u32, u as u32)))
        .collect();
    let mut r = Rows::new("UrlClickEvents", n);
    let mut chain = String::new();
    let mut report_id = String::with_capacity(36);
    let mut source_id = String::with_capacity(36);
    let mut rows = 0;
    while rows < n {
        let workload =
            ["Email", "Teams", "Office", "Copilot"][rng.weighted(&[0.8, 0.12, 0.06, 0.02])];
        let (link, class, user, t, msg) = if workload == "Email" && !clickable.is_empty() {
            let (mi, u) = clickable[rng.below(clickable.len())];
            let m = &messages[mi as usize];
            let li = if m.bad > 0 {
                rng.below(m.bad)
            } else {
                rng.below(m.links.len())
            };
            let delay = (-(1.0 - rng.f64()).ln() * 2.0 * 3600.0 + 3.0) * NANOS_PER_SEC as f64;
            let mut t = m.t + delay as i64;
            if t >= clock.end {
                t = m.t + ((clock.end - m.t) as f64 * rng.f64()) as i64;
            }
            (
                m.links[li],
                m.class,
                u as usize,
                t - t % 100,
                Some(mi as usize),
            )
        } else {
            let class = [
                Class::Clean,
                Class::Phish,
                Class::Malware,
                Class::TenantBlocked,
            ][rng.weighted(&[0.95, 0.03, 0.01, 0.01])];
            let link = match class {
                Class::Clean => &world.links[world.links_zipf.sample(rng)],
                c => rng.pick(world.bad_pool(c)),
            };
            (
                link,
                class,
                world.users_zipf.sample(rng),
                clock.sample(rng),
                None,
            )
        };
        let workload = if msg.is_none() && workload == "Email" {
            "Teams"
        } else {
            workload
        };
        let action = action_for(class, rng);
        let blocked = action == "ClickBlocked";
        let user = &world.users[user];
        let ip = if action == "UrlErrorPage" && rng.chance(0.5) {
            rng.pick(&world.cloud_ips)
        } else {
            rng.pick(&user.ips)
        };
        let sep = if t >= SPACED_CHAIN_FROM { ", " } else { "," };
        chain.clear();
        chain.push_str("[\"");
        chain.push_str(&link.url);
        chain.push('"');
        if let Some(to) = &link.redirect {
            chain.push_str(sep);
            chain.push('"');
            chain.push_str(to);
            chain.push('"');
        }
        chain.push(']');
        report_id.clear();
        exchange_guid(&mut report_id, rng, t);
        let nm = msg.map(|i| nmid.get(i)).unwrap_or("");
        source_id.clear();
        match msg {
            Some(_) => source_id.push_str(nm),
            None => guid(&mut source_id, rng),
        }
        let (app, version) = match workload {
            "Email" => ("Mail", "0.0.0000"),
            "Teams" => ("Teams", "1.0.0000"),
            "Copilot" => ("Copilot", "1.0.0000"),
            _ => (
                *rng.pick(&["Word", "Excel", "PowerPoint", "OneNote", "Outlook"]),
                "16.0.0000",
            ),
        };
        let newer = t >= APP_COLUMNS_FROM;
        let click_through =
            (blocked || action == "UrlScanInProgress") && rows + 2 <= n && rng.chance(0.08);
        let through_t = {
            let t2 = t
                + (5 + rng.below(115) as i64) * NANOS_PER_SEC
                + rng.below(10_000_000) as i64 * 100;
            t2.min(clock.end - 100).max(t)
        };
        for (second, t) in [(false, t), (true, through_t)] {
            if second && !click_through {
                break;
            }
            r.t(t)
                .s(&link.url)
                .s(action)
                .s(&user.upn)
                .s(workload)
                .s(nm)
                .s(if blocked { threat_name(class) } else { "" })
                .s(if blocked { click_methods(class) } else { "" })
                .s(ip)
                .bool(second)
                .s(&chain)
                .s(&report_id)
                .s(if newer { app } else { "" })
                .s(if newer { version } else { "" })
                .s(if newer { &source_id } else { "" })
                .end_row();
            rows += 1;
        }
    }
    r.finish()
}
