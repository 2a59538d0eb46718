//! Just enough HTML reading for tests: response pages, forms' hidden
//! fields, and text content.

use reqwest::header::HeaderMap;

#[derive(Debug, Clone)]
pub struct Page {
    pub status: u16,
    pub url: String,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub async fn from(res: reqwest::Response) -> Page {
        let status = res.status().as_u16();
        let url = res.url().to_string();
        let headers = res.headers().clone();
        let body = res.text().await.unwrap_or_default();
        Page {
            status,
            url,
            headers,
            body,
        }
    }

    pub fn location(&self) -> Option<String> {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// The page's text with tags removed and entities decoded, whitespace
    /// folded: what a person reads.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let mut in_tag = false;
        for c in self.body.chars() {
            match c {
                '<' => {
                    in_tag = true;
                    out.push(' ');
                }
                '>' => in_tag = false,
                c if !in_tag => out.push(c),
                _ => {}
            }
        }
        decode(&out)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn contains(&self, text: &str) -> bool {
        self.text().contains(text)
    }

    /// The hidden inputs of the (POST) form whose action is `action`; GET
    /// forms (a search box) are passed over.
    pub fn hidden_fields(&self, action: &str) -> Option<Vec<(String, String)>> {
        let mut rest = self.body.as_str();
        while let Some(start) = rest.find("<form") {
            let form = &rest[start..];
            let end = form.find("</form>").unwrap_or(form.len());
            let (tag_end, _) = form.match_indices('>').next()?;
            let attrs = attributes(&form[5..tag_end]);
            let matches = attrs.iter().any(|(k, v)| k == "action" && v == action)
                && !attrs
                    .iter()
                    .any(|(k, v)| k == "method" && v.eq_ignore_ascii_case("get"));
            if matches {
                let inner = &form[..end];
                let mut fields = Vec::new();
                let mut scan = inner;
                while let Some(i) = scan.find("<input") {
                    let tag = &scan[i + 6..];
                    let close = tag.find('>').unwrap_or(tag.len());
                    let a = attributes(&tag[..close]);
                    let get = |n: &str| a.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
                    if get("type").as_deref() == Some("hidden") {
                        if let Some(name) = get("name") {
                            fields.push((name, get("value").unwrap_or_default()));
                        }
                    }
                    scan = &tag[close..];
                }
                return Some(fields);
            }
            rest = &form[end.max(1)..];
        }
        None
    }

    /// The names on the page's product cards, in order.
    pub fn card_names(&self) -> Vec<String> {
        self.body
            .split("class=\"card-link\"")
            .skip(1)
            .map(|c| {
                let t = &c[c.find('>').unwrap() + 1..];
                t[..t.find('<').unwrap()].to_string()
            })
            .collect()
    }

    /// Where the page's product cards link to, in order (decoded).
    pub fn card_links(&self) -> Vec<String> {
        self.body
            .split("class=\"card-link\" href=\"")
            .skip(1)
            .map(|c| decode(&c[..c.find('"').unwrap()]))
            .collect()
    }

    /// The ids of the products on the page's cards, in order.
    pub fn card_ids(&self) -> Vec<i64> {
        self.card_links()
            .iter()
            .map(|link| {
                let id = link.split("/products/").nth(1).unwrap();
                id[..id.find('/').unwrap()].parse().unwrap()
            })
            .collect()
    }

    /// The text directly inside each element marked `data-testid="id"`.
    pub fn testid_texts(&self, id: &str) -> Vec<String> {
        let needle = format!("data-testid=\"{id}\"");
        self.body
            .match_indices(&needle)
            .filter_map(|(i, _)| {
                let rest = &self.body[i..];
                let open = rest.find('>')? + 1;
                let close = rest[open..].find('<')?;
                Some(decode(rest[open..open + close].trim()))
            })
            .collect()
    }

    /// The values of every input named `name` (a change list's row boxes).
    pub fn input_values(&self, name: &str) -> Vec<String> {
        let needle = format!("name=\"{name}\" value=\"");
        self.body
            .match_indices(&needle)
            .filter_map(|(i, _)| {
                let rest = &self.body[i + needle.len()..];
                rest.find('"').map(|end| decode(&rest[..end]))
            })
            .collect()
    }

    /// Number of elements carrying `class="...name..."` exactly as written.
    pub fn count(&self, needle: &str) -> usize {
        self.body.matches(needle).count()
    }
}

fn attributes(tag: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = tag.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        let mut j = i;
        while let Some((k, c)) = chars.peek() {
            if *c == '=' || c.is_whitespace() {
                break;
            }
            j = *k;
            chars.next();
        }
        let name = tag[i..=j].to_string();
        if let Some((_, '=')) = chars.peek() {
            chars.next();
            if let Some((q, quote)) = chars.next() {
                if quote == '"' || quote == '\'' {
                    let value_start = q + 1;
                    let mut value_end = tag.len();
                    for (k, c) in chars.by_ref() {
                        if c == quote {
                            value_end = k;
                            break;
                        }
                    }
                    out.push((name, decode(&tag[value_start..value_end])));
                }
            }
        } else {
            out.push((name, String::new()));
        }
    }
    out
}

pub fn decode(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#x2F;", "/")
        .replace("&#x3D;", "=")
        .replace("&#x60;", "`")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}
