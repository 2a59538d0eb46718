//! Countries as ISO 3166-1 alpha-2 codes (the `celes` tables): addresses
//! store the code, forms offer a choice, pages show the name.

use std::sync::OnceLock;

use serde::Serialize;

/// A country the shop knows: its ISO 3166-1 alpha-2 code and English name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Country {
    pub code: &'static str,
    pub name: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Choose a country from the list.")]
pub struct UnknownCountry;

/// Every country, sorted by name (what a country `<select>` offers).
pub fn all() -> &'static [Country] {
    static ALL: OnceLock<Vec<Country>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut v: Vec<Country> = celes::Country::get_countries()
            .iter()
            .map(|c| Country {
                code: c.alpha2,
                name: COMMON_NAMES
                    .iter()
                    .find(|(code, _)| *code == c.alpha2)
                    .map(|(_, name)| *name)
                    .unwrap_or_else(|| Box::leak(display_name(c.long_name).into_boxed_str())),
            })
            .collect();
        v.sort_by_key(|c| sort_key(c.name));
        v.dedup_by(|a, b| a.code == b.code);
        v
    })
}

/// The names people know a country by where the ISO name is formal,
/// inverted or lost its punctuation in the tables (as django-countries
/// does).
const COMMON_NAMES: &[(&str, &str)] = &[
    ("AX", "Åland Islands"),
    ("BL", "Saint Barthélemy"),
    ("BN", "Brunei"),
    ("BO", "Bolivia"),
    ("CC", "Cocos (Keeling) Islands"),
    ("CI", "Côte d’Ivoire"),
    ("CW", "Curaçao"),
    ("FK", "Falkland Islands (Malvinas)"),
    ("FM", "Micronesia"),
    ("GB", "United Kingdom"),
    ("GW", "Guinea-Bissau"),
    ("HM", "Heard Island and McDonald Islands"),
    ("IR", "Iran"),
    ("KP", "North Korea"),
    ("KR", "South Korea"),
    ("LA", "Laos"),
    ("MD", "Moldova"),
    ("MF", "Saint Martin (French part)"),
    ("MK", "North Macedonia"),
    ("PS", "Palestine"),
    ("RE", "Réunion"),
    ("RU", "Russia"),
    ("SH", "Saint Helena, Ascension and Tristan da Cunha"),
    ("ST", "São Tomé and Príncipe"),
    ("SX", "Sint Maarten (Dutch part)"),
    ("SY", "Syria"),
    ("TL", "Timor-Leste"),
    ("TR", "Türkiye"),
    ("TW", "Taiwan"),
    ("TZ", "Tanzania"),
    ("US", "United States"),
    ("VA", "Holy See (Vatican City)"),
    ("VE", "Venezuela"),
    ("VG", "British Virgin Islands"),
    ("VI", "US Virgin Islands"),
    ("VN", "Vietnam"),
];

/// A name as it sorts: accented letters with their base letter (Åland
/// among the A's, Côte d'Ivoire before Croatia).
fn sort_key(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'Å' | 'Á' | 'À' | 'Â' | 'Ä' | 'Ã' => 'A',
            'å' | 'á' | 'à' | 'â' | 'ä' | 'ã' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            other => other,
        })
        .collect()
}

/// (code, name) of every country, for a choice field.
pub fn choices() -> Vec<(&'static str, &'static str)> {
    all().iter().map(|c| (c.code, c.name)).collect()
}

/// "The United Kingdom Of Great Britain And Northern Ireland" ->
/// "United Kingdom of Great Britain and Northern Ireland".
fn display_name(long: &str) -> String {
    let trimmed = long.strip_prefix("The ").unwrap_or(long);
    trimmed
        .split(' ')
        .enumerate()
        .map(|(i, w)| match w {
            "Of" | "And" | "The" | "Da" | "De" if i > 0 => w.to_lowercase(),
            _ => w.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl Country {
    /// The country for a code ("GB", "gb"); what forms and tables store.
    pub fn from_code(code: &str) -> Option<Country> {
        let code = code.trim();
        if code.len() != 2 {
            return None;
        }
        all()
            .iter()
            .find(|c| c.code.eq_ignore_ascii_case(code))
            .copied()
    }

    /// A code, or what people type for a country ("United Kingdom", "UK",
    /// "Deutschland" is not English and is refused): addresses saved
    /// before countries were a choice still resolve.
    pub fn parse(input: &str) -> Result<Country, UnknownCountry> {
        let t = input.trim();
        if let Some(c) = Country::from_code(t) {
            return Ok(c);
        }
        let squashed: String = t.chars().filter(|c| c.is_alphanumeric()).collect();
        if squashed.is_empty() {
            return Err(UnknownCountry);
        }
        if squashed.eq_ignore_ascii_case("uk") {
            return Country::from_code("GB").ok_or(UnknownCountry);
        }
        let found = squashed
            .parse::<celes::Country>()
            .or_else(|_| celes::Country::from_alias(&squashed))
            .or_else(|_| celes::Country::from_name(&squashed))
            .or_else(|_| celes::Country::from_name(format!("the{squashed}")))
            .map_err(|_| UnknownCountry)?;
        Country::from_code(found.alpha2).ok_or(UnknownCountry)
    }
}

/// The name to show for a stored country: its English name for a code,
/// the stored text itself for anything else.
pub fn name_of(stored: &str) -> String {
    match Country::from_code(stored) {
        Some(c) => c.name.to_string(),
        None => stored.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_names_and_what_people_type_resolve() {
        assert_eq!(Country::parse("gb").unwrap().name, "United Kingdom");
        assert_eq!(Country::parse("KR").unwrap().name, "South Korea");
        assert_eq!(Country::parse("CI").unwrap().name, "Côte d’Ivoire");
        for typed in ["United Kingdom", "UK", "GB", " great britain "] {
            assert_eq!(Country::parse(typed).unwrap().code, "GB", "{typed}");
        }
        assert_eq!(Country::parse("France").unwrap().code, "FR");
        assert_eq!(Country::parse("netherlands").unwrap().code, "NL");
        assert_eq!(Country::parse("DEU").unwrap().code, "DE");
        assert_eq!(Country::parse("Atlantis"), Err(UnknownCountry));
        assert_eq!(Country::parse(""), Err(UnknownCountry));
        assert_eq!(Country::from_code("XX"), None);
    }

    #[test]
    fn the_list_is_sorted_unique_and_complete() {
        let all = all();
        assert!(all.len() >= 240, "{}", all.len());
        assert!(all
            .windows(2)
            .all(|w| sort_key(w[0].name) <= sort_key(w[1].name)));
        let pos = |code| all.iter().position(|c| c.code == code).unwrap();
        assert!(pos("AX") < pos("AL"), "Åland sorts with the A's");
        assert!(pos("CI") < pos("HR"), "Côte d'Ivoire before Croatia");
        let mut codes: Vec<_> = all.iter().map(|c| c.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        assert_eq!(name_of("US"), "United States");
        assert_eq!(name_of("NL"), "Netherlands");
        assert_eq!(name_of("Narnia"), "Narnia", "old free text shows as typed");
    }
}
