//! The pages a user sees instead of the site: warning, scan-in-progress and error
//! pages. Self-contained (inline style, one inline script for "Go back", no external
//! assets), accessible (language, landmarks, a heading, real buttons and links, focus
//! outlines, enough contrast), and every dynamic value escaped.

use crate::rewrite::escape_attr;

/// Which page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageKind {
    /// A feed says malware.
    MaliciousWebsite,
    /// A feed says phish.
    PhishingAttempt,
    /// A feed says spam.
    SuspiciousMessage,
    /// A Tenant Allow/Block List block entry.
    BlockedUrl,
    ScanInProgress,
    /// The site could not be opened.
    Error,
    /// The link itself is not valid (forged, altered, expired).
    InvalidLink,
}

impl PageKind {
    fn title(self) -> &'static str {
        match self {
            PageKind::MaliciousWebsite => "Malicious website warning",
            PageKind::PhishingAttempt => "Phishing attempt warning",
            PageKind::SuspiciousMessage => "Suspicious message warning",
            PageKind::BlockedUrl => "Blocked URL warning",
            PageKind::ScanInProgress => "Scan in progress",
            PageKind::Error => "Error",
            PageKind::InvalidLink => "This link is not valid",
        }
    }

    fn explanation(self) -> &'static str {
        match self {
            PageKind::MaliciousWebsite => "This website is classified as malicious. Opening it might harm your device or expose your data.",
            PageKind::PhishingAttempt => "This website is a phishing site: it tries to trick you into giving away passwords or other information. All links in the message that brought you here are blocked.",
            PageKind::SuspiciousMessage => "The message that contained this link looks suspicious, so the link is blocked.",
            PageKind::BlockedUrl => "Your organization's policy does not allow you to open this website.",
            PageKind::ScanInProgress => "This link is being scanned by Safe Links. Wait a few moments before trying again.",
            PageKind::Error => "Some kind of error has occurred, and the URL can't be opened.",
            PageKind::InvalidLink => "This protected link has been changed, is incomplete, or was not issued by this gateway, so it will not be opened.",
        }
    }

    /// The HTTP status the page is served with.
    pub fn status(self) -> u16 {
        match self {
            PageKind::InvalidLink => 400,
            PageKind::Error => 502,
            PageKind::ScanInProgress => 200,
            _ => 403,
        }
    }
}

/// What a page offers.
#[derive(Clone, Debug, Default)]
pub struct PageLinks {
    /// "Continue anyway (not recommended)", when the policy allows click-through.
    pub continue_href: Option<String>,
    /// "Try again" (the scan page).
    pub retry_href: Option<String>,
}

/// Content-Security-Policy for every page: nothing external, only the inline style and
/// the inline "Go back" script.
pub const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src 'none'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/// Renders a page about `url` (`None` when the link could not be read).
pub fn render(kind: PageKind, url: Option<&str>, detail: &str, links: &PageLinks) -> String {
    let title = kind.title();
    let url_block = match url {
        Some(u) => format!(
            "<p>The link goes to:</p>\n<p class=\"url\"><code>{}</code></p>\n",
            escape_attr(&crate::canonical::shorten(u))
        ),
        None => String::new(),
    };
    let detail = if detail.is_empty() {
        String::new()
    } else {
        format!("<p class=\"detail\">{}</p>\n", escape_attr(detail))
    };
    let mut actions =
        String::from("<button type=\"button\" id=\"back\" class=\"primary\">Go back</button>\n");
    if let Some(h) = &links.retry_href {
        actions.push_str(&format!(
            "<a class=\"button\" href=\"{}\">Try again</a>\n",
            escape_attr(h)
        ));
    }
    if let Some(h) = &links.continue_href {
        actions.push_str(&format!(
            "<a class=\"button secondary\" href=\"{}\" rel=\"noreferrer\">Continue anyway (not recommended)</a>\n",
            escape_attr(h)
        ));
    }
    let role = if kind == PageKind::ScanInProgress {
        "status"
    } else {
        "alert"
    };
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title} - Safe Links</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; background: #f5f5f5; color: #1b1b1b; line-height: 1.5; }}
main {{ max-width: 40rem; margin: 3rem auto; background: #fff; padding: 2rem; border-top: 6px solid {accent}; border-radius: 4px; }}
h1 {{ font-size: 1.6rem; margin-top: 0; }}
.url code {{ word-break: break-all; background: #f0f0f0; padding: 0.2rem 0.4rem; }}
.detail {{ color: #454545; font-size: 0.95rem; }}
.actions {{ display: flex; gap: 1rem; flex-wrap: wrap; margin-top: 1.5rem; }}
button, .button {{ font: inherit; padding: 0.6rem 1.2rem; border-radius: 4px; border: 2px solid #0f5cad; cursor: pointer; text-decoration: none; }}
.primary {{ background: #0f5cad; color: #fff; }}
.button {{ background: #fff; color: #0f5cad; }}
.secondary {{ border-color: #6b6b6b; color: #3b3b3b; }}
button:focus-visible, a:focus-visible {{ outline: 3px solid #000; outline-offset: 2px; }}
</style>
</head>
<body>
<main>
<h1>{title}</h1>
<div role="{role}">
<p>{explanation}</p>
</div>
{url_block}{detail}<div class="actions">
{actions}</div>
<noscript><p>To go back, use your browser's back button or close this tab.</p></noscript>
<p class="detail">Protected by Safe Links (clickhunt).</p>
</main>
<script>document.getElementById("back").addEventListener("click", function () {{ if (history.length > 1) {{ history.back(); }} else {{ window.close(); }} }});</script>
</body>
</html>
"#,
        accent = if kind == PageKind::ScanInProgress {
            "#0f5cad"
        } else {
            "#b3261e"
        },
        explanation = kind.explanation(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_and_offer_the_right_buttons() {
        let page = render(
            PageKind::PhishingAttempt,
            Some("https://evil.example/\"><script>alert(1)</script>"),
            "",
            &PageLinks {
                continue_href: Some("/safelinks/v1/continue?c=a&sig=b".into()),
                retry_href: None,
            },
        );
        assert!(page.contains("<html lang=\"en\">"));
        assert!(page.contains("<h1>Phishing attempt warning</h1>"));
        assert!(!page.contains("<script>alert(1)"));
        assert!(page.contains("&lt;script&gt;alert(1)"));
        assert!(page.contains("href=\"/safelinks/v1/continue?c=a&amp;sig=b\""));
        assert!(page.contains("Continue anyway (not recommended)"));
        assert!(page.contains(">Go back</button>"));
        assert!(
            !page.contains("http://") && !page.contains("src=\"http"),
            "no external assets"
        );
        let page = render(
            PageKind::BlockedUrl,
            Some("https://x.example/"),
            "",
            &PageLinks::default(),
        );
        assert!(!page.contains("Continue anyway"));
        let page = render(
            PageKind::ScanInProgress,
            Some("https://x.example/"),
            "",
            &PageLinks {
                continue_href: None,
                retry_href: Some("/again".into()),
            },
        );
        assert!(page.contains("role=\"status\""));
        assert!(page.contains(">Try again</a>"));
    }
}
