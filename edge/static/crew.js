// Crew pages: forms and buttons that call the JSON API, then show the page again.
// A form names its endpoint in data-api; fields inside a [data-row] element become one
// object of the array named by the form's data-rows (rows with an empty data-key field
// are left out). A button with data-api posts its data-body (JSON) when clicked.
"use strict";

(() => {
  function value(input) {
    if (input.type === "checkbox") return input.checked;
    if (input.value === "") return undefined;
    return input.type === "number" ? Number(input.value) : input.value;
  }

  function fields(root, inRows) {
    const data = {};
    root.querySelectorAll("input[name], select[name], textarea[name]").forEach((input) => {
      if (!inRows && input.closest("[data-row]")) return;
      const v = value(input);
      if (v !== undefined) data[input.name] = v;
    });
    return data;
  }

  function collect(form) {
    const data = fields(form, false);
    if (form.dataset.rows) {
      data[form.dataset.rows] = [...form.querySelectorAll("[data-row]")]
        .filter((row) => { const key = row.querySelector("[data-key]"); return !key || key.value !== ""; })
        .map((row) => fields(row, true));
    }
    return data;
  }

  async function submit(event) {
    event.preventDefault();
    const form = event.target;
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    const result = await Clinic.api(form.dataset.method || "POST", form.dataset.api, collect(form));
    if (button) button.disabled = false;
    if (result.ok) { window.location.reload(); return; }
    Clinic.showErrors(form, result);
  }

  async function press(event) {
    const button = event.target.closest("button[data-api]");
    if (!button) return;
    button.disabled = true;
    const body = button.dataset.body ? JSON.parse(button.dataset.body) : undefined;
    const result = await Clinic.api("POST", button.dataset.api, body);
    if (result.ok) { window.location.reload(); return; }
    button.disabled = false;
    const note = document.querySelector("[data-role=page-error]");
    if (note) note.textContent = (result.body && result.body.error) || "That did not work";
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("form[data-api]").forEach((f) => f.addEventListener("submit", submit));
    document.addEventListener("click", press);
  });
})();
