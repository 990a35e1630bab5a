// Ledger pages (no inline scripts: the CSP forbids them).
document.addEventListener("DOMContentLoaded", () => {
  // Teller form: show the fields of the chosen kind of transaction only.
  const form = document.getElementById("teller-form");
  if (form) {
    const sync = () => {
      const kind = (form.querySelector("input[name=kind]:checked") || {}).value;
      form.querySelectorAll("[data-kinds]").forEach((el) => {
        el.hidden = !el.dataset.kinds.split(" ").includes(kind);
      });
    };
    form.querySelectorAll("input[name=kind]").forEach((r) => r.addEventListener("change", sync));
    sync();
    const picked = document.getElementById("picked");
    const entry = document.getElementById("account-entry");
    const hidden = document.getElementById("id_account_id");
    // Pick an account from a customer's accounts (the list arrives through htmx): keep its id, show it masked.
    document.addEventListener("click", (ev) => {
      const btn = ev.target.closest("[data-pick-account]");
      if (btn) {
        hidden.value = btn.dataset.pickAccount;
        form.querySelector("#id_account").value = "";
        document.getElementById("picked-label").textContent = btn.dataset.pickLabel;
        picked.classList.remove("d-none");
        entry.classList.add("d-none");
        document.getElementById("pick-results").innerHTML = "";
      }
      if (ev.target.closest("[data-unpick]")) {
        hidden.value = "";
        picked.classList.add("d-none");
        entry.classList.remove("d-none");
      }
    });
  }
  // Print buttons: <button data-print>
  document.querySelectorAll("[data-print]").forEach((btn) => btn.addEventListener("click", () => window.print()));
  // Cash count: total of the denominations as they are typed.
  const count = document.getElementById("cash-count-form");
  if (count) {
    const out = document.getElementById("count-total");
    const fmt = new Intl.NumberFormat("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    const update = () => {
      let fen = 0;
      count.querySelectorAll("input[data-face]").forEach((i) => {
        const n = parseInt(i.value, 10);
        const line = Number.isFinite(n) && n > 0 ? n * parseInt(i.dataset.face, 10) : 0;
        fen += line;
        const cell = document.getElementById("line-" + i.dataset.face);
        if (cell) cell.textContent = fmt.format(line / 100);
      });
      out.textContent = fmt.format(fen / 100);
      const expected = parseInt(out.dataset.expected, 10);
      const diff = document.getElementById("count-diff");
      if (diff) {
        diff.textContent = fmt.format((fen - expected) / 100);
        diff.className = fen === expected ? "text-success" : "text-danger";
      }
    };
    count.addEventListener("input", update);
    update();
  }
});
