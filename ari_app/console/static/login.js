"use strict";
document.addEventListener("DOMContentLoaded", () => {
  Hotline.setupLanguage();
  const form = document.getElementById("login-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById("login-error");
    error.textContent = "";
    const reply = await fetch("/console/login", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        user: document.getElementById("user").value,
        password: document.getElementById("password").value,
      }),
    });
    let data = null;
    try { data = await reply.json(); } catch (e) { data = null; }
    if (reply.ok && data && data.next) {
      location.assign(data.next);
    } else {
      error.textContent = Hotline.t("login_failed", { m: (data && data.detail) || reply.status });
      document.getElementById("password").value = "";
    }
  });
});
