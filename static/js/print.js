// The print view's "Print" button (no inline script: the CSP allows only files from 'self').
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("print-button");
  if (button) {
    button.addEventListener("click", () => window.print());
  }
});
