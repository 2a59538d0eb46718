//! Django-style pagination: a page number from the query string, the slice
//! of rows it covers, and what templates need to link around.

use serde::Serialize;

use super::AppError;

#[derive(Debug, Clone, Copy)]
pub struct Paginator {
    pub per_page: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Page {
    pub number: i64,
    pub num_pages: i64,
    pub count: i64,
    pub per_page: i64,
    pub has_previous: bool,
    pub has_next: bool,
    pub previous_page_number: i64,
    pub next_page_number: i64,
    /// 1-based index of the first and last row on this page.
    pub start_index: i64,
    pub end_index: i64,
    /// Page numbers to link, with 0 standing for a gap ("…").
    pub window: Vec<i64>,
}

impl Paginator {
    pub fn new(per_page: i64) -> Self {
        Paginator {
            per_page: per_page.max(1),
        }
    }

    /// Parses `?page=`: missing means 1; not a positive whole number is a
    /// 400 that says so; past the end shows the last page.
    pub fn parse_number(raw: Option<&str>) -> Result<i64, AppError> {
        match raw.map(str::trim) {
            None | Some("") => Ok(1),
            Some(s) => s.parse::<i64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                AppError::BadRequest(format!("Page {s:?} is not a page number: use 1, 2, 3…"))
            }),
        }
    }

    pub fn page(&self, requested: i64, count: i64) -> Page {
        let num_pages = ((count + self.per_page - 1) / self.per_page).max(1);
        let number = requested.clamp(1, num_pages);
        let start_index = if count == 0 {
            0
        } else {
            (number - 1) * self.per_page + 1
        };
        let end_index = (number * self.per_page).min(count);
        Page {
            number,
            num_pages,
            count,
            per_page: self.per_page,
            has_previous: number > 1,
            has_next: number < num_pages,
            previous_page_number: number - 1,
            next_page_number: number + 1,
            start_index,
            end_index,
            window: window(number, num_pages),
        }
    }
}

impl Page {
    pub fn offset(&self) -> i64 {
        (self.number - 1) * self.per_page
    }
}

fn window(current: i64, last: i64) -> Vec<i64> {
    let mut out = Vec::new();
    for n in 1..=last {
        let near = (n - current).abs() <= 2;
        if n == 1 || n == last || near {
            out.push(n);
        } else if out.last() != Some(&0) {
            out.push(0);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_clamp_and_index() {
        let p = Paginator::new(24).page(7, 10_000);
        assert_eq!((p.number, p.num_pages, p.offset()), (7, 417, 144));
        assert_eq!((p.start_index, p.end_index), (145, 168));
        let last = Paginator::new(24).page(999, 30);
        assert_eq!((last.number, last.end_index, last.has_next), (2, 30, false));
        let empty = Paginator::new(24).page(1, 0);
        assert_eq!(
            (empty.num_pages, empty.start_index, empty.end_index),
            (1, 0, 0)
        );
    }

    #[test]
    fn bad_numbers_are_400() {
        assert_eq!(Paginator::parse_number(None).unwrap(), 1);
        assert_eq!(Paginator::parse_number(Some("3")).unwrap(), 3);
        assert!(matches!(
            Paginator::parse_number(Some("abc")),
            Err(AppError::BadRequest(_))
        ));
        assert!(Paginator::parse_number(Some("0")).is_err());
        assert!(Paginator::parse_number(Some("-2")).is_err());
    }

    #[test]
    fn window_has_gaps() {
        assert_eq!(window(7, 20), vec![1, 0, 5, 6, 7, 8, 9, 0, 20]);
        assert_eq!(window(1, 3), vec![1, 2, 3]);
    }
}
