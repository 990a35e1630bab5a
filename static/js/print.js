// The printable customer page: the print button (no inline scripts: the CSP forbids them).
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-print]").forEach((btn) => btn.addEventListener("click", () => window.print()));
});
