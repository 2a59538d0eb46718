// Progressive enhancement only: every page works without script.
// Quantity selects in the cart submit their form when changed.
document.addEventListener("change", function (event) {
  var el = event.target;
  if (el.matches && el.matches("[data-autosubmit]") && el.form) {
    el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit();
  }
});
// Disable submit buttons once a form is sent, so a double click sends once
// (the server is idempotent anyway).
document.addEventListener("submit", function (event) {
  var buttons = event.target.querySelectorAll("button[type=submit]");
  setTimeout(function () { buttons.forEach(function (b) { b.disabled = true; }); }, 0);
});
