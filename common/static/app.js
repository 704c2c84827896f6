// Mobile Clinic shell script: JSON calls with the CSRF token, idle logoff on shared tablets,
// and quiet token-free session refresh. No framework, nothing fetched from the internet.
"use strict";

const Clinic = (() => {
  const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content;

  async function api(method, path, body) {
    const headers = { "Accept": "application/json" };
    const token = meta("csrf-token");
    if (token) headers["X-CSRF-Token"] = token;
    const init = { method, headers, credentials: "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    let payload = null;
    try { payload = await response.json(); } catch (_) { payload = null; }
    if (response.status === 401 && !path.startsWith("/api/auth/login")) {
      window.location.assign("/login?expired=1&next=" + encodeURIComponent(location.pathname));
    }
    return { status: response.status, ok: response.ok, body: payload };
  }

  // Show errors next to the fields they belong to: {"details": {"field": ["message"]}}.
  function showErrors(form, result) {
    form.querySelectorAll(".field-error").forEach((el) => el.remove());
    const details = result.body && result.body.details;
    if (details && typeof details === "object") {
      for (const [field, messages] of Object.entries(details)) {
        const input = form.querySelector(`[name="${field}"]`);
        const note = document.createElement("div");
        note.className = "field-error";
        note.textContent = [].concat(messages).join(" ");
        (input ? input.parentElement : form).appendChild(note);
      }
    }
    const summary = form.querySelector("[data-role=form-error]");
    if (summary) summary.textContent = (result.body && result.body.error) || "";
  }

  // Shared tablets: log off after the configured idle time. While someone is working
  // without making requests (typing a long note), refresh the server's session quietly
  // now and then, so its own idle limit does not end it under their hands.
  function idleLogoff() {
    const minutes = Number(meta("idle-timeout-minutes") || 30);
    if (!meta("csrf-token")) return;
    const refreshEvery = Math.min(5, minutes / 3) * 60 * 1000;
    let timer;
    let activeSince = Date.now();
    let refreshed = Date.now();
    const reset = () => {
      activeSince = Date.now();
      clearTimeout(timer);
      timer = setTimeout(async () => {
        await api("POST", "/api/auth/logout");
        window.location.assign("/login?idle=1");
      }, minutes * 60 * 1000);
    };
    setInterval(() => {
      if (activeSince > refreshed) {
        refreshed = Date.now();
        api("GET", "/api/auth/verify");
      }
    }, refreshEvery);
    ["click", "keydown", "touchstart", "scroll"].forEach((e) =>
      document.addEventListener(e, reset, { passive: true }));
    reset();
  }

  document.addEventListener("DOMContentLoaded", idleLogoff);
  return { api, showErrors };
})();
