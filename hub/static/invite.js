// The invitation page: the token travels in the URL fragment (never sent to a server log)
// and is posted with the chosen password.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("invite-form");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = window.location.hash.slice(1);
    const password = form.elements.password.value;
    const result = await Clinic.api("POST", "/api/invites/accept", { token, password });
    if (result.ok) {
      form.hidden = true;
      document.getElementById("invite-done").hidden = false;
    } else {
      Clinic.showErrors(form, result);
    }
  });
});
