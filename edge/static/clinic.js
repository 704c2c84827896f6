// Clinical pages: forms post JSON to the API (rules and messages are the API's), errors go
// next to their fields, the vital-signs form flags values as they are typed, and the
// ICD-10 picker searches the code list. No inline script: the CSP forbids it.
"use strict";

(() => {
  // The form's fields as the API wants them: numbers as numbers, ticks as booleans,
  // lists split on ";" or ",", empty fields left out.
  function formBody(form) {
    const body = {};
    for (const el of form.elements) {
      if (!el.name || el.disabled) continue;
      if (el.type === "checkbox") { body[el.name] = el.checked; continue; }
      if (el.value.trim() === "") continue;
      if (el.type === "number") body[el.name] = Number(el.value);
      else if ("list" in el.dataset) body[el.name] = el.value.split(/[;,]/).map((s) => s.trim()).filter(Boolean);
      else body[el.name] = el.value.trim();
    }
    return body;
  }

  // A 409 may carry what the person must confirm: likely duplicates, allergy warnings.
  function showConfirmations(form, details) {
    const box = form.querySelector("[data-role=confirm]");
    if (!box) return;
    const list = box.querySelector("ul");
    list.textContent = "";
    const items = (details.possible_duplicates || []).map((p) => {
      const link = document.createElement("a");
      link.href = "/patients?q=" + encodeURIComponent(p.last_name);
      link.textContent = `${p.first_name} ${p.last_name}, born ${p.date_of_birth}`;
      return link;
    }).concat((details.warnings || []).map((w) => document.createTextNode(w)));
    for (const item of items) {
      const li = document.createElement("li");
      li.appendChild(item);
      list.appendChild(li);
    }
    box.hidden = items.length === 0;
  }

  async function submit(event) {
    const form = event.target;
    if (!form.matches("form[data-api]")) return;
    event.preventDefault();
    const [method, path] = form.dataset.api.split(" ");
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    const result = await Clinic.api(method, path, formBody(form));
    if (button) button.disabled = false;
    if (!result.ok) {
      const details = (result.body && result.body.details) || {};
      showConfirmations(form, details);
      const { possible_duplicates: _d, warnings: _w, ...fieldErrors } = details;
      Clinic.showErrors(form, { body: { ...result.body, details: fieldErrors } });
      return;
    }
    await after(form, result.body.data);
  }

  async function after(form, data) {
    const then = form.dataset.then || "reload";
    if (then === "visit") {
      window.location.assign("/visits/" + data.id);
    } else if (then === "open-visit") {
      const opened = await Clinic.api("POST", "/api/visits", { patient_id: data.id });
      if (opened.ok) window.location.assign("/visits/" + opened.body.data.id);
      else window.location.assign("/patients?q=" + encodeURIComponent(data.last_name));
    } else {
      window.location.reload();
    }
  }

  // Vital signs: flag a value against its ranges while it is typed, and derive the BMI.
  function flag(input) {
    const out = input.parentElement.querySelector("[data-role=flag]");
    if (!out) return;
    const value = Number(input.value);
    const [low, high] = (input.dataset.normal || ",").split(",").map((v) => (v === "" ? null : Number(v)));
    const [critLow, critHigh] = (input.dataset.critical || ",").split(",").map((v) => (v === "" ? null : Number(v)));
    let text = "";
    let level = "";
    if (input.value !== "" && !Number.isNaN(value)) {
      if (critLow !== null && value < critLow) { text = "critical low"; level = "critical"; }
      else if (critHigh !== null && value > critHigh) { text = "critical high"; level = "critical"; }
      else if (low !== null && value < low) { text = "low"; level = "warn"; }
      else if (high !== null && value > high) { text = "high"; level = "warn"; }
    }
    out.textContent = text;
    out.className = text ? `badge ${level}` : "";
  }

  function bmi(form) {
    const out = form.querySelector("[data-role=bmi]");
    if (!out) return;
    const weight = Number(form.elements.weight_kg.value);
    const height = Number(form.elements.height_cm.value) / 100;
    out.textContent = weight && height ? (weight / (height * height)).toFixed(1) : "–";
  }

  document.addEventListener("input", (event) => {
    const input = event.target;
    if (input.dataset.normal !== undefined) flag(input);
    if (input.form && input.form.querySelector("[data-role=bmi]")) bmi(input.form);
  });

  // ICD-10 picker: search as the doctor types, pick a code into the diagnosis form.
  let searchTimer;
  document.addEventListener("input", (event) => {
    const input = event.target;
    if (input.id !== "icd10-search") return;
    clearTimeout(searchTimer);
    searchTimer = setTimeout(async () => {
      const list = document.getElementById("icd10-results");
      list.textContent = "";
      if (input.value.trim().length < 2) return;
      const result = await Clinic.api("GET", "/api/icd10?per_page=10&q=" + encodeURIComponent(input.value.trim()));
      for (const code of (result.ok ? result.body.data : [])) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "secondary pick";
        button.dataset.code = code.code;
        button.textContent = `${code.display} ${code.description}`;
        list.appendChild(button);
      }
    }, 250);
  });

  document.addEventListener("click", (event) => {
    const pick = event.target.closest("button.pick");
    if (!pick) return;
    const form = document.getElementById("diagnosis-form");
    form.elements.icd10_code.value = pick.dataset.code;
    form.querySelector("[data-role=picked]").textContent = pick.textContent;
  });

  document.addEventListener("submit", submit);

  // The queue refreshes itself while it is on screen.
  document.addEventListener("DOMContentLoaded", () => {
    if (document.querySelector("[data-refresh]")) {
      setInterval(() => window.location.reload(), 30000);
    }
  });
})();
