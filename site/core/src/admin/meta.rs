//! How a model describes itself to the admin: its columns, filters,
//! search, fields and fieldsets, actions and permissions.

use chrono::NaiveDateTime;
use serde::Serialize;

use super::Field;
use crate::app::PermissionSpec;

/// What a permission allows, as Django names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Perm {
    View,
    Add,
    Change,
    Delete,
}

impl Perm {
    pub const ALL: [Perm; 4] = [Perm::View, Perm::Add, Perm::Change, Perm::Delete];

    pub fn as_str(self) -> &'static str {
        match self {
            Perm::View => "view",
            Perm::Add => "add",
            Perm::Change => "change",
            Perm::Delete => "delete",
        }
    }
}

/// A column of a change list.
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub key: &'static str,
    pub label: &'static str,
    /// Whether staff can sort by it (the model orders by `key`, and an
    /// index backs it).
    pub sortable: bool,
    /// Numbers and money align right.
    pub numeric: bool,
}

impl Column {
    pub fn new(key: &'static str, label: &'static str) -> Column {
        Column {
            key,
            label,
            sortable: false,
            numeric: false,
        }
    }

    pub fn sortable(mut self) -> Column {
        self.sortable = true;
        self
    }

    pub fn numeric(mut self) -> Column {
        self.numeric = true;
        self
    }
}

/// What a cell of a change list (or an inline table) shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Text(String),
    Bool(bool),
    /// Minor units of the shop's currency.
    Money(i64),
    Int(i64),
    DateTime(Option<NaiveDateTime>),
    /// A status badge: (value, label).
    Status(String, String),
    /// A small image (a URL under /media or /static).
    Image(String),
    /// A link: (text, where).
    Link(String, Link),
}

/// Where a link goes; the page showing it reverses it into a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// An object's change page in the admin.
    Change {
        app: &'static str,
        model: &'static str,
        id: i64,
    },
    /// A change list, with a query string ("category=3").
    List {
        app: &'static str,
        model: &'static str,
        query: String,
    },
    /// Any named route ("products:detail" with id=5).
    Route {
        name: &'static str,
        args: Vec<(&'static str, String)>,
    },
}

impl Link {
    pub fn change(app: &'static str, model: &'static str, id: i64) -> Link {
        Link::Change { app, model, id }
    }

    pub fn route(name: &'static str, args: &[(&'static str, &str)]) -> Link {
        Link::Route {
            name,
            args: args.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        }
    }
}

/// A filter in a change list's sidebar.
#[derive(Debug, Clone, Serialize)]
pub struct Filter {
    /// The query parameter (`?category=3`).
    pub key: &'static str,
    pub label: &'static str,
    pub kind: FilterKind,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FilterKind {
    /// Fixed choices: (value, label).
    Choices {
        choices: Vec<(&'static str, &'static str)>,
    },
    /// Yes / no.
    Bool,
    /// Another model's objects; the model lists them (small tables only).
    Related,
    /// From and to dates (`?key_from=2026-01-01&key_to=2026-01-31`).
    DateRange,
}

impl Filter {
    pub fn choices(
        key: &'static str,
        label: &'static str,
        choices: Vec<(&'static str, &'static str)>,
    ) -> Filter {
        Filter {
            key,
            label,
            kind: FilterKind::Choices { choices },
        }
    }

    pub fn boolean(key: &'static str, label: &'static str) -> Filter {
        Filter {
            key,
            label,
            kind: FilterKind::Bool,
        }
    }

    pub fn related(key: &'static str, label: &'static str) -> Filter {
        Filter {
            key,
            label,
            kind: FilterKind::Related,
        }
    }

    pub fn date_range(key: &'static str, label: &'static str) -> Filter {
        Filter {
            key,
            label,
            kind: FilterKind::DateRange,
        }
    }
}

/// A group of fields on a form.
#[derive(Debug, Clone, Serialize)]
pub struct Fieldset {
    pub title: Option<&'static str>,
    pub fields: Vec<&'static str>,
    pub description: &'static str,
}

impl Fieldset {
    pub fn new(title: Option<&'static str>, fields: &[&'static str]) -> Fieldset {
        Fieldset {
            title,
            fields: fields.to_vec(),
            description: "",
        }
    }

    pub fn description(mut self, text: &'static str) -> Fieldset {
        self.description = text;
        self
    }
}

/// A bulk action on selected rows.
#[derive(Debug, Clone, Serialize)]
pub struct ActionSpec {
    pub name: &'static str,
    pub label: &'static str,
    /// The permission it needs on the model.
    pub perm: Perm,
    /// Per-object fields asked on an intermediate page before it runs
    /// (a carrier and tracking number for each order shipped).
    pub fields: Vec<Field>,
    /// A sentence above those fields.
    pub intro: &'static str,
}

impl ActionSpec {
    pub fn new(name: &'static str, label: &'static str, perm: Perm) -> ActionSpec {
        ActionSpec {
            name,
            label,
            perm,
            fields: Vec::new(),
            intro: "",
        }
    }

    pub fn asking(mut self, intro: &'static str, fields: Vec<Field>) -> ActionSpec {
        self.intro = intro;
        self.fields = fields;
        self
    }
}

/// Rows of another table edited inside an object's form (a product's
/// images): each saved row's fields, a delete box, blank rows to add more
/// (with a file each when `upload` is set), and optionally one row picked
/// among all (the main image).
#[derive(Debug, Clone, Serialize)]
pub struct FormsetSpec {
    /// Prefix of the rows' inputs: `images-12-alt`, `images-new0-file`.
    pub key: &'static str,
    pub title: &'static str,
    pub fields: Vec<Field>,
    /// A file per new row: (label, help).
    pub upload: Option<(&'static str, &'static str)>,
    /// Blank rows offered for adding.
    pub extra: usize,
    /// One row picked among all: (label of the column, help).
    pub pick_one: Option<(&'static str, &'static str)>,
    pub description: &'static str,
}

/// The name of the action every model has (with a confirmation page).
pub const DELETE_SELECTED: &str = "delete_selected";

/// A date column staff drill into by year, month and day.
#[derive(Debug, Clone, Serialize)]
pub struct DateHierarchy {
    pub field: &'static str,
    pub label: &'static str,
}

/// Everything about a model the generic pages need, declared once.
#[derive(Debug, Clone)]
pub struct ModelMeta {
    pub app: &'static str,
    pub model: &'static str,
    pub verbose_name: &'static str,
    pub verbose_name_plural: &'static str,
    pub columns: Vec<Column>,
    pub filters: Vec<Filter>,
    /// What search looks in, as staff read it ("name or SKU"); `None`: no
    /// search box.
    pub search: Option<&'static str>,
    pub date_hierarchy: Option<DateHierarchy>,
    /// The column key lists are ordered by, `-` for descending.
    pub default_sort: &'static str,
    pub per_page: i64,
    pub fields: Vec<Field>,
    pub fieldsets: Vec<Fieldset>,
    /// Fields edited right in the change list (price and stock).
    pub list_editable: Vec<&'static str>,
    pub actions: Vec<ActionSpec>,
    /// Rows of other tables edited inside the form.
    pub formsets: Vec<FormsetSpec>,
    /// Whether objects can be added or deleted at all (payments cannot,
    /// whatever the permissions say).
    pub addable: bool,
    pub deletable: bool,
    /// Whether saved objects can be edited at all.
    pub editable: bool,
}

impl ModelMeta {
    pub fn new(
        app: &'static str,
        model: &'static str,
        verbose_name: &'static str,
        verbose_name_plural: &'static str,
    ) -> ModelMeta {
        ModelMeta {
            app,
            model,
            verbose_name,
            verbose_name_plural,
            columns: Vec::new(),
            filters: Vec::new(),
            search: None,
            date_hierarchy: None,
            default_sort: "-id",
            per_page: 50,
            fields: Vec::new(),
            fieldsets: Vec::new(),
            list_editable: Vec::new(),
            actions: Vec::new(),
            formsets: Vec::new(),
            addable: true,
            deletable: true,
            editable: true,
        }
    }

    /// Shown, never added, changed or deleted here (payments).
    pub fn read_only(mut self) -> ModelMeta {
        self.addable = false;
        self.deletable = false;
        self.editable = false;
        self
    }

    pub fn codename(&self, perm: Perm) -> String {
        format!("{}.{}_{}", self.app, perm.as_str(), self.model)
    }

    /// The permissions this model can use: view, and add, change and
    /// delete where the admin offers them (a read-only model has only
    /// view; an action that needs "change" makes it usable).
    pub fn permissions(&self) -> Vec<PermissionSpec> {
        Perm::ALL
            .iter()
            .filter(|p| match p {
                Perm::View => true,
                Perm::Add => self.addable,
                Perm::Change => {
                    self.editable || self.actions.iter().any(|a| a.perm == Perm::Change)
                }
                Perm::Delete => self.deletable,
            })
            .map(|p| {
                PermissionSpec::new(
                    self.codename(*p),
                    format!("Can {} {}", p.as_str(), self.verbose_name),
                )
            })
            .collect()
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn action(&self, name: &str) -> Option<&ActionSpec> {
        self.actions.iter().find(|a| a.name == name)
    }

    /// The fields a form shows, in fieldset order (every field once; those
    /// in no fieldset at the end).
    pub fn fieldsets_or_default(&self) -> Vec<Fieldset> {
        if self.fieldsets.is_empty() {
            return vec![Fieldset::new(
                None,
                &self.fields.iter().map(|f| f.name).collect::<Vec<_>>(),
            )];
        }
        self.fieldsets.clone()
    }
}
