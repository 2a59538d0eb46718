//! One tera instance from every app's templates: embedded in the binary,
//! re-read from disk on each render when `SHOP_DEV=1`. Adds the functions and
//! filters a Django user reaches for: `url`, `static`, `csrf_token`,
//! `currency`, `markdown`, `linebreaks` (tera brings `now`, `date` and more).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use actix_web::HttpRequest;
use include_dir::Dir;
use tera::{Context, Tera, Value};

use crate::money::{Currency, Locale, Money};
use crate::statics::StaticFiles;
use crate::urls::UrlTable;

/// Where an app's templates live: embedded, and on disk for development.
#[derive(Clone, Copy)]
pub struct TemplateSource {
    pub embedded: &'static Dir<'static>,
    pub disk: &'static str,
}

/// `template_source!()` in an app's lib.rs names its `templates/` folder.
#[macro_export]
macro_rules! template_source {
    () => {{
        static DIR: include_dir::Dir<'static> =
            include_dir::include_dir!("$CARGO_MANIFEST_DIR/templates");
        $crate::templates::TemplateSource {
            embedded: &DIR,
            disk: concat!(env!("CARGO_MANIFEST_DIR"), "/templates"),
        }
    }};
}

/// site_core's own templates: `base.html`, the nav, messages, form and
/// pagination macros, error pages.
pub fn core_templates() -> TemplateSource {
    crate::template_source!()
}

/// Adds what every page needs to a template's context (Django's context
/// processors): the cart badge, the signed-in user, flash messages.
pub trait ContextProcessor: Send + Sync + 'static {
    fn process(&self, req: &HttpRequest, ctx: &mut Context);
}

thread_local! {
    /// The CSRF token of the request being rendered on this thread; set only
    /// for the duration of one synchronous `render` call.
    static CSRF_TOKEN: RefCell<Option<String>> = const { RefCell::new(None) };
}

pub struct Renderer {
    tera: RwLock<Tera>,
    sources: Vec<TemplateSource>,
    dev: bool,
    processors: Vec<Box<dyn ContextProcessor>>,
    urls: Arc<UrlTable>,
    statics: Arc<StaticFiles>,
    locale: Locale,
    currency: Currency,
}

impl Renderer {
    pub fn new(
        sources: Vec<TemplateSource>,
        urls: Arc<UrlTable>,
        statics: Arc<StaticFiles>,
        locale: Locale,
        currency: Currency,
        dev: bool,
    ) -> Result<Self, tera::Error> {
        let tera = build(&sources, dev, &urls, &statics, locale, currency)?;
        Ok(Renderer {
            tera: RwLock::new(tera),
            sources,
            dev,
            processors: Vec::new(),
            urls,
            statics,
            locale,
            currency,
        })
    }

    pub fn add_processor(&mut self, p: impl ContextProcessor) {
        self.processors.push(Box::new(p));
    }

    pub fn add_boxed_processor(&mut self, p: Box<dyn ContextProcessor>) {
        self.processors.push(p);
    }

    pub fn urls(&self) -> &UrlTable {
        &self.urls
    }

    pub fn statics(&self) -> &StaticFiles {
        &self.statics
    }

    pub fn locale(&self) -> Locale {
        self.locale
    }

    /// Renders a page for a request: context processors run first, and
    /// `csrf_token()` answers with the request's token.
    pub fn render_page(
        &self,
        req: &HttpRequest,
        name: &str,
        mut ctx: Context,
    ) -> Result<String, tera::Error> {
        for p in &self.processors {
            p.process(req, &mut ctx);
        }
        let token = crate::http::csrf::token(req);
        ctx.insert("csrf_token", &token);
        ctx.insert("request_path", req.path());
        CSRF_TOKEN.with(|t| *t.borrow_mut() = Some(token));
        let out = self.render(name, &ctx);
        CSRF_TOKEN.with(|t| *t.borrow_mut() = None);
        out
    }

    /// Renders without a request (emails, error pages of last resort).
    pub fn render(&self, name: &str, ctx: &Context) -> Result<String, tera::Error> {
        if self.dev {
            let fresh = build(
                &self.sources,
                true,
                &self.urls,
                &self.statics,
                self.locale,
                self.currency,
            )?;
            *self.tera.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        }
        self.tera
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .render(name, ctx)
    }
}

fn build(
    sources: &[TemplateSource],
    from_disk: bool,
    urls: &Arc<UrlTable>,
    statics: &Arc<StaticFiles>,
    locale: Locale,
    currency: Currency,
) -> Result<Tera, tera::Error> {
    let mut tera = Tera::default();
    let mut all: Vec<(String, String)> = Vec::new();
    for source in sources {
        if from_disk && std::path::Path::new(source.disk).is_dir() {
            read_disk(
                std::path::Path::new(source.disk),
                std::path::Path::new(source.disk),
                &mut all,
            )
            .map_err(|e| tera::Error::msg(format!("reading {}: {e}", source.disk)))?;
        } else {
            read_embedded(source.embedded, &mut all);
        }
    }
    tera.add_raw_templates(all)?;
    // HTML is always escaped (tera's default for .html); plain-text emails
    // (.txt) are not HTML and are left as written.
    tera.autoescape_on(vec![".html", ".htm", ".xml"]);
    register(&mut tera, urls.clone(), statics.clone(), locale, currency);
    Ok(tera)
}

fn read_embedded(dir: &Dir<'static>, out: &mut Vec<(String, String)>) {
    for entry in dir.entries() {
        match entry {
            include_dir::DirEntry::Dir(d) => read_embedded(d, out),
            include_dir::DirEntry::File(f) => {
                if let Some(text) = f.contents_utf8() {
                    out.push((
                        f.path().to_string_lossy().replace('\\', "/"),
                        text.to_string(),
                    ));
                }
            }
        }
    }
}

fn read_disk(
    root: &std::path::Path,
    dir: &std::path::Path,
    out: &mut Vec<(String, String)>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            read_disk(root, &path, out)?;
        } else {
            let name = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            out.push((name, std::fs::read_to_string(&path)?));
        }
    }
    Ok(())
}

fn value_to_arg(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn register(
    tera: &mut Tera,
    urls: Arc<UrlTable>,
    statics: Arc<StaticFiles>,
    locale: Locale,
    currency: Currency,
) {
    tera.register_function("url", UrlFunction(urls));
    tera.register_function("static", StaticFunction(statics));
    tera.register_function("csrf_token", CsrfFunction);
    tera.register_function("current_year", |_: &HashMap<String, Value>| {
        use chrono::Datelike;
        Ok(Value::from(chrono::Utc::now().year()))
    });
    tera.register_filter("currency", CurrencyFilter { locale, currency });
    // `{{ n | number }}`: a count grouped as the shop's locale writes it.
    tera.register_filter(
        "number",
        move |v: &Value, _: &HashMap<String, Value>| -> tera::Result<Value> {
            match v.as_i64() {
                Some(n) => Ok(Value::String(locale.count(n))),
                None => Err(tera::Error::msg(format!(
                    "number: {v} is not a whole number"
                ))),
            }
        },
    );
    tera.register_filter("markdown", MarkdownFilter::default());
    tera.register_filter("linebreaks", LinebreaksFilter);
    // `{{ address.country | country }}`: the name for a stored ISO code.
    tera.register_filter(
        "country",
        |v: &Value, _: &HashMap<String, Value>| -> tera::Result<Value> {
            Ok(Value::String(crate::country::name_of(
                v.as_str().unwrap_or_default(),
            )))
        },
    );
    // `{% for c in countries() %}`: every country, for a `<select>`.
    tera.register_function("countries", |_: &HashMap<String, Value>| {
        tera::to_value(crate::country::all()).map_err(tera::Error::msg)
    });
}

/// `url(name="app:route", arg=value)`. Its output is safe to place in an
/// attribute: arguments are percent-encoded.
struct UrlFunction(Arc<UrlTable>);

impl tera::Function for UrlFunction {
    fn call(&self, args: &HashMap<String, Value>) -> tera::Result<Value> {
        let name = args
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| tera::Error::msg("url() needs name=\"app:route\""))?;
        let lookup = |k: &str| args.get(k).map(value_to_arg);
        self.0
            .reverse(name, &lookup)
            .map(Value::String)
            .map_err(|e| tera::Error::msg(e.to_string()))
    }

    fn is_safe(&self) -> bool {
        true
    }
}

/// `static(path="css/shop.css")`: the content-hashed URL of a static file.
struct StaticFunction(Arc<StaticFiles>);

impl tera::Function for StaticFunction {
    fn call(&self, args: &HashMap<String, Value>) -> tera::Result<Value> {
        let path = args
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| tera::Error::msg("static() needs path=\"css/shop.css\""))?;
        self.0
            .url(path)
            .map(Value::String)
            .ok_or_else(|| tera::Error::msg(format!("static(): no static file {path:?}")))
    }

    fn is_safe(&self) -> bool {
        true
    }
}

/// `csrf_token()`: the token of the request being rendered (alphanumeric).
struct CsrfFunction;

impl tera::Function for CsrfFunction {
    fn call(&self, _: &HashMap<String, Value>) -> tera::Result<Value> {
        CSRF_TOKEN
            .with(|t| t.borrow().clone())
            .map(Value::String)
            .ok_or_else(|| {
                tera::Error::msg(
                    "csrf_token() is only available when rendering a page for a request",
                )
            })
    }

    fn is_safe(&self) -> bool {
        true
    }
}

/// `{{ price | currency }}`: a `Money` value (or a plain amount in the shop's
/// currency, or with `code="EUR"`) formatted for the shop's locale.
struct CurrencyFilter {
    locale: Locale,
    currency: Currency,
}

impl tera::Filter for CurrencyFilter {
    fn filter(&self, value: &Value, args: &HashMap<String, Value>) -> tera::Result<Value> {
        let (amount, code) = match value {
            Value::Object(map) => (
                map.get("amount").map(value_to_arg).unwrap_or_default(),
                map.get("currency")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            ),
            other => (
                value_to_arg(other),
                args.get("code").and_then(Value::as_str).map(str::to_string),
            ),
        };
        let currency = match code {
            Some(c) => Currency::parse(&c).map_err(|e| tera::Error::msg(e.to_string()))?,
            None => self.currency,
        };
        let amount: rust_decimal::Decimal = amount
            .parse()
            .map_err(|_| tera::Error::msg(format!("currency: {amount:?} is not an amount")))?;
        Ok(Value::String(
            Money::from_decimal_rounded(amount, currency).format(self.locale),
        ))
    }
}

/// Markdown to HTML, then sanitised: only harmless tags and attributes
/// survive, so descriptions written by staff cannot inject script.
pub fn markdown_to_safe_html(text: &str) -> String {
    let parser = pulldown_cmark::Parser::new_ext(
        text,
        pulldown_cmark::Options::ENABLE_TABLES | pulldown_cmark::Options::ENABLE_STRIKETHROUGH,
    );
    let mut html = String::with_capacity(text.len() * 2);
    pulldown_cmark::html::push_html(&mut html, parser);
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&html)
        .to_string()
}

/// Sanitising is the costly part of a product page (ammonia parses the
/// HTML), and descriptions rarely change: rendered HTML is kept by the hash
/// of its source text, so an edit is simply a new entry. Bounded: when full
/// it starts again.
#[derive(Default)]
struct MarkdownFilter {
    rendered: std::sync::Mutex<HashMap<u64, Arc<str>>>,
}

const MARKDOWN_CACHE_ENTRIES: usize = 2048;

impl MarkdownFilter {
    fn render(&self, text: &str) -> Arc<str> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        text.hash(&mut h);
        let key = h.finish();
        if let Some(html) = self
            .rendered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return html.clone();
        }
        let html: Arc<str> = markdown_to_safe_html(text).into();
        let mut cache = self.rendered.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= MARKDOWN_CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(key, html.clone());
        html
    }
}

impl tera::Filter for MarkdownFilter {
    fn filter(&self, value: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
        Ok(Value::String(
            self.render(value.as_str().unwrap_or_default()).to_string(),
        ))
    }

    fn is_safe(&self) -> bool {
        true
    }
}

/// Django's `linebreaks`: escape, blank lines make paragraphs, single
/// newlines make `<br>`.
pub fn linebreaks(text: &str) -> String {
    let escaped = tera::escape_html(&text.replace("\r\n", "\n"));
    escaped
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| format!("<p>{}</p>", p.replace('\n', "<br>")))
        .collect::<Vec<_>>()
        .join("\n")
}

struct LinebreaksFilter;

impl tera::Filter for LinebreaksFilter {
    fn filter(&self, value: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
        Ok(Value::String(linebreaks(
            value.as_str().unwrap_or_default(),
        )))
    }

    fn is_safe(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_sanitised() {
        let html =
            markdown_to_safe_html("**bold** <script>alert(1)</script> [x](javascript:alert(1))");
        assert!(html.contains("<strong>bold</strong>"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("javascript:"));
    }

    #[test]
    fn markdown_cache_gives_the_same_html_and_follows_edits() {
        let f = MarkdownFilter::default();
        let a = tera::Filter::filter(&f, &Value::from("*a*"), &HashMap::new()).unwrap();
        assert_eq!(
            a,
            tera::Filter::filter(&f, &Value::from("*a*"), &HashMap::new()).unwrap()
        );
        let b = tera::Filter::filter(&f, &Value::from("*b*"), &HashMap::new()).unwrap();
        assert_eq!(b, Value::from("<p><em>b</em></p>\n"));
    }

    #[test]
    fn linebreaks_escape_and_wrap() {
        assert_eq!(linebreaks("a\nb\n\n<c>"), "<p>a<br>b</p>\n<p>&lt;c&gt;</p>");
    }

    #[test]
    fn currency_filter_formats_money_objects_and_plain_amounts() {
        let f = CurrencyFilter {
            locale: Locale::default(),
            currency: Currency::Usd,
        };
        let money = serde_json::to_value(Money::from_minor(123450, Currency::Usd)).unwrap();
        assert_eq!(
            tera::Filter::filter(&f, &money, &HashMap::new()).unwrap(),
            "$1,234.50"
        );
        let mut args = HashMap::new();
        args.insert("code".to_string(), Value::from("EUR"));
        assert_eq!(
            tera::Filter::filter(&f, &Value::from("3"), &args).unwrap(),
            "€3.00"
        );
        assert!(tera::Filter::filter(&f, &Value::from("x"), &HashMap::new()).is_err());
    }
}
