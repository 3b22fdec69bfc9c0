// The Bookings page: a cancel is asked about once before it is sent (it cannot be undone from here).
// Without this script the form still works; the server's CSRF check is the same either way.
"use strict";

for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}
