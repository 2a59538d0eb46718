// Conveniences for the staff admin; every page works without them.
(function () {
  // "Select all" on a change list ticks every row's box.
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("[data-select-all]")) {
      var form = el.form;
      if (!form) return;
      form.querySelectorAll("[data-select-row]").forEach(function (box) { box.checked = el.checked; });
    }
  });
  // A slug follows the name it is made from until someone edits the slug.
  document.querySelectorAll("[data-slug-from]").forEach(function (slug) {
    var source = document.getElementById(slug.getAttribute("data-slug-from"));
    if (!source) return;
    var touched = slug.value !== "";
    slug.addEventListener("input", function () { touched = slug.value !== ""; });
    source.addEventListener("input", function () {
      if (touched) return;
      slug.value = source.value.toLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g, "")
        .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 100);
    });
  });
  // A form sends once, even on a double click (the server copes anyway).
  document.addEventListener("submit", function (event) {
    var buttons = event.target.querySelectorAll("button[type=submit]");
    setTimeout(function () { buttons.forEach(function (b) { b.disabled = true; }); }, 0);
  });
})();
