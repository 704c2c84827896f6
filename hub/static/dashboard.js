// Head-office pages: action buttons and small forms that call the JSON API (with the
// session's CSRF token through Clinic.api), then reload to show the new state.
"use strict";

(() => {
  const pageError = (message) => {
    const box = document.querySelector("[data-role=page-error]");
    if (box) { box.textContent = message || ""; box.hidden = !message; }
  };

  async function post(url, body, method = "POST") {
    const result = await Clinic.api(method, url, body);
    if (!result.ok) pageError((result.body && result.body.error) || "Something went wrong");
    return result;
  }

  // <button data-post="/api/..." [data-method="PATCH"] [data-ask="Reason?"]
  //         [data-field="reason"] [data-json='{"status": "shipped"}'] [data-show="#where"]
  //         [data-show-field="token"]>
  async function onAction(button) {
    let body = button.dataset.json ? JSON.parse(button.dataset.json) : undefined;
    if (button.dataset.ask) {
      const answer = window.prompt(button.dataset.ask);
      if (!answer) return;
      body = { ...(body || {}), [button.dataset.field]: answer };
    }
    button.disabled = true;
    const result = await post(button.dataset.post, body, button.dataset.method);
    button.disabled = false;
    if (!result.ok) return;
    if (button.dataset.show) {
      const target = document.querySelector(button.dataset.show);
      target.textContent = result.body.data[button.dataset.showField || "temporary_password"];
      target.hidden = false;
    } else {
      window.location.reload();
    }
  }

  // A delivery form: one row per line (item_id, quantity, batch_number, expiry_date).
  async function onFulfil(form) {
    const lines = [...form.querySelectorAll("[data-line]")].map((row) => ({
      item_id: row.dataset.line,
      quantity: Number(row.querySelector("[name=quantity]").value),
      batch_number: row.querySelector("[name=batch_number]").value,
      expiry_date: row.querySelector("[name=expiry_date]").value,
    }));
    const body = { lines };
    for (const name of ["carrier", "tracking_number"]) {
      const value = form.elements[name].value.trim();
      if (value) body[name] = value;
    }
    const result = await Clinic.api("POST", form.dataset.fulfil, body);
    if (result.ok) window.location.reload(); else Clinic.showErrors(form, result);
  }

  async function onInvite(form) {
    const body = {};
    for (const name of ["username", "full_name", "role", "email"]) {
      const value = form.elements[name].value.trim();
      if (value) body[name] = value;
    }
    const vehicles = [...form.elements.vehicle_ids.selectedOptions].map((o) => o.value);
    if (vehicles.length) body.vehicle_ids = vehicles;
    const result = await Clinic.api("POST", "/api/invites", body);
    if (!result.ok) { Clinic.showErrors(form, result); return; }
    const out = document.getElementById("invite-link");
    out.textContent = result.body.data.accept_url;
    out.hidden = false;
    form.reset();
  }

  // <form data-submit="/api/..."> of plain fields: POST the filled ones, then reload.
  async function onSubmitForm(form) {
    const body = {};
    for (const field of form.elements) {
      if (field.name && field.value.trim()) body[field.name] = field.value.trim();
    }
    const result = await Clinic.api("POST", form.dataset.submit, body);
    if (!result.ok) { Clinic.showErrors(form, result); return; }
    window.location.reload();
  }

  // Change a user's role, then add and remove vehicle assignments to match the choice.
  async function onEditUser(form) {
    const id = form.dataset.editUser;
    const calls = [];
    const role = form.elements.role.value;
    if (role !== form.dataset.roleWas) calls.push(["PUT", `/api/users/${id}`, { role }]);
    const before = new Set(form.dataset.vehiclesWere.split(",").filter(Boolean));
    const after = new Set([...form.elements.vehicle_ids.selectedOptions].map((o) => o.value));
    for (const v of after) {
      if (!before.has(v)) calls.push(["POST", `/api/users/${id}/vehicles`, { vehicle_id: v }]);
    }
    for (const v of before) {
      if (!after.has(v)) calls.push(["DELETE", `/api/users/${id}/vehicles/${v}`]);
    }
    for (const [method, url, body] of calls) {
      const result = await Clinic.api(method, url, body);
      if (!result.ok) { Clinic.showErrors(form, result); return; }
    }
    window.location.reload();
  }

  // <input type=file data-import="/api/.../import">: send the file as text/csv and show
  // the outcome, or every bad line with its errors.
  async function onImport(input) {
    const box = input.closest("[data-testid]") || document;
    const result = box.querySelector("[data-role=import-result]");
    const list = box.querySelector("[data-role=import-errors]");
    list.replaceChildren();
    const file = input.files[0];
    if (!file) return;
    const headers = { "Content-Type": "text/csv", "Accept": "application/json" };
    const token = document.querySelector('meta[name="csrf-token"]')?.content;
    if (token) headers["X-CSRF-Token"] = token;
    const response = await fetch(input.dataset.import, {
      method: "POST", headers, body: await file.text(), credentials: "same-origin",
    });
    const body = await response.json().catch(() => null);
    result.hidden = false;
    result.className = response.ok ? "flash" : "flash error";
    result.textContent = (body && (response.ok ? body.message : body.error)) || "Import failed";
    for (const row of (body && body.details && body.details.rows) || []) {
      for (const [field, messages] of Object.entries(row.errors)) {
        const item = document.createElement("li");
        item.textContent = `Line ${row.line}, ${field}: ${[].concat(messages).join(" ")}`;
        list.appendChild(item);
      }
    }
    input.value = "";
  }

  document.addEventListener("change", (event) => {
    if (event.target.matches("input[type=file][data-import]")) onImport(event.target);
  });

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-post]");
    if (button) { event.preventDefault(); onAction(button); }
  });
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.dataset.fulfil) { event.preventDefault(); onFulfil(form); }
    if (form.id === "invite-form-admin") { event.preventDefault(); onInvite(form); }
    if (form.dataset.editUser) { event.preventDefault(); onEditUser(form); }
    if (form.dataset.submit) { event.preventDefault(); onSubmitForm(form); }
  });
})();
