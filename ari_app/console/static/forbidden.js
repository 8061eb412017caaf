"use strict";
document.addEventListener("DOMContentLoaded", () => {
  Hotline.setupLanguage();
  Hotline.loadSession().catch(() => {});
});
